"""A real ``hrvpace serve`` subprocess for bench.faults: start, kill -9, restart, memory."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from bench.faults import _rss_bytes, child_env, hrvpace_command

__all__ = ["ServeProcess"]


class ServeProcess:
    """``hrvpace serve --port 0 --data-dir DATA`` in its own process group.

    The token is the one the server prints (created in the data dir on first start). ``env``
    adds variables to the child's environment (e.g. a marker to look for in leaks).
    """

    def __init__(
        self, data_dir: Path, *, env: dict[str, str] | None = None, start_timeout_s: float = 60.0
    ) -> None:
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [*hrvpace_command(), "serve", "--port", "0", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=child_env(**(env or {})),
            start_new_session=True,
        )
        self.url = ""
        self.token = ""
        self.stderr_lines: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._drains = [threading.Thread(target=self._drain_stderr, daemon=True)]
        self._drains[0].start()
        deadline = time.monotonic() + start_timeout_s
        timer = threading.Timer(start_timeout_s, self.kill9)
        timer.start()
        try:
            for line in self.proc.stdout:
                if line.startswith("hrvpace is serving at "):
                    self.url = line.split()[-1].rstrip("/")
                elif line.startswith("token: "):
                    self.token = line.split(None, 1)[1].strip()
                if self.url and self.token:
                    break
        finally:
            timer.cancel()
        if not (self.url and self.token) or time.monotonic() > deadline:
            self.kill9()
            raise RuntimeError("hrvpace serve did not start: " + " | ".join(self.stderr_lines[-5:]))
        self._drains.append(threading.Thread(target=self._drain_stdout, daemon=True))
        self._drains[-1].start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip())
            del self.stderr_lines[:-200]

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_bytes(self) -> int:
        return _rss_bytes(self.proc.pid)

    def kill9(self) -> None:
        """SIGKILL to the server's process group (no clean-up of any kind)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        self.proc.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for thread in self._drains:
            thread.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None and not any(t.is_alive() for t in self._drains):
                stream.close()

    def stop(self) -> None:
        """A clean stop (SIGTERM, as Ctrl-C), SIGKILL after 20 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._close_pipes()
