"""The back-off of writes the database did not take: one rule for every retry of a write.

A write fails when the database stays locked past SQLite's busy timeout (another program holds
its write lock, 30 s: :func:`api.storage.connection.connect`), the disk is full or stalls. Such
a write is not dropped: it is written again after :data:`RETRY_FIRST_S`, doubled after each
failure up to :data:`RETRY_MAX_S`. The storage writer retries its failed batches this way
(:mod:`api.storage.writer`), and a session's final state (:mod:`api.sessions`).

While what waits holds a write someone waits for (a stopped session's final state, a new
session's row, an answer), the wait is at most :data:`RETRY_WAITED_MAX_S`: a stop answered 503
``store_busy`` and a strap session to start again wait for it, so it is stored within 5 s of
the database taking writes again, not up to a minute later. A try itself costs nothing but the
writer thread's time (a lock is waited for in SQLite's busy handler: one freed during a try is
taken at once).
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["RETRY_FIRST_S", "RETRY_MAX_S", "RETRY_WAITED_MAX_S", "retry_delays"]

#: Seconds before a write the database did not take is tried again (the first time).
RETRY_FIRST_S = 1.0
#: The longest wait between two tries of a write.
RETRY_MAX_S = 60.0
#: The longest wait between two tries while a write someone waits for is among them.
RETRY_WAITED_MAX_S = 5.0


def retry_delays() -> Iterator[float]:
    """The waits before each new try: :data:`RETRY_FIRST_S`, doubled up to :data:`RETRY_MAX_S`.

    Endless; the bounds are read when it starts (tests lower them).
    """
    delay_s, max_s = RETRY_FIRST_S, RETRY_MAX_S
    while True:
        yield delay_s
        delay_s = min(2 * delay_s, max_s)
