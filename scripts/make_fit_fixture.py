"""Derive tests/data/fenix5_run_hrv.fit from python-fitparse's ``garmin-fenix-5-run.fit``.

Usage: ``python scripts/make_fit_fixture.py IN.fit [OUT.fit]`` (default out:
``tests/data/fenix5_run_hrv.fit``). Needs ``garmin-fit-sdk`` (``fit`` extra) for its profile
(message and field names). Provenance and licence: tests/data/README.md.

The file is kept byte for byte as the watch wrote it (same definitions, same data messages in
the same order, the hrv messages untouched) except for two redactions, after which the header's
data size and both CRCs are recomputed (FIT protocol: header, definition and data messages,
CRC-16 of the FIT SDK):

- every latitude/longitude field of a profiled message (``record.position_lat``,
  ``session.start_position_long``, ``lap.nec_lat``, ...) is set to the sint32 invalid value
  0x7FFFFFFF, so no place is left in the file;
- data messages of global numbers the FIT profile does not document (device-private messages)
  are left out, since what they hold cannot be checked; their definitions stay (a definition
  without data is valid FIT).
"""

from __future__ import annotations

import re
import struct
import sys
from pathlib import Path

_INVALID_SINT32 = 0x7FFFFFFF
_LATLONG = re.compile(r"(^|_)(lat|long)$")
_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)  # fmt: skip


def fit_crc(data: bytes) -> int:
    """CRC-16 of the FIT protocol (polynomial 0xA001, nibble table)."""
    crc = 0
    for byte in data:
        for nibble in (byte & 0x0F, byte >> 4):
            tmp = _CRC_TABLE[crc & 0x0F]
            crc = (crc >> 4) & 0x0FFF
            crc = crc ^ tmp ^ _CRC_TABLE[nibble]
    return crc


def redact(raw: bytes) -> tuple[bytes, dict[str, int]]:
    """The file ``raw`` with positions blanked and undocumented data messages left out."""
    from garmin_fit_sdk import Profile

    messages = Profile["messages"]
    header_size = raw[0]
    data_size = struct.unpack_from("<I", raw, 4)[0]
    if raw[8:12] != b".FIT" or len(raw) != header_size + data_size + 2:
        raise SystemExit("not a single, complete FIT file")
    body = raw[header_size : header_size + data_size]
    out = bytearray()
    defs: dict[int, tuple[int, str, list[tuple[int, int, int]], int]] = {}
    counts = {"positions_blanked": 0, "messages_dropped": 0}
    pos = 0
    while pos < len(body):
        head = body[pos]
        if head & 0x80:  # compressed timestamp header: a data message
            local, is_def, has_dev = (head >> 5) & 0x03, False, False
        else:
            local, is_def, has_dev = head & 0x0F, bool(head & 0x40), bool(head & 0x20)
        if is_def:
            arch = "<" if body[pos + 2] == 0 else ">"
            glob = struct.unpack_from(arch + "H", body, pos + 3)[0]
            n = body[pos + 5]
            fields = [
                (body[pos + 6 + 3 * i], body[pos + 7 + 3 * i], body[pos + 8 + 3 * i])
                for i in range(n)
            ]
            end = pos + 6 + 3 * n
            dev_size = 0
            if has_dev:
                n_dev = body[end]
                dev_size = sum(body[end + 2 + 3 * i] for i in range(n_dev))
                end += 1 + 3 * n_dev
            defs[local] = (glob, arch, fields, dev_size)
            out += body[pos:end]
            pos = end
            continue
        glob, arch, fields, dev_size = defs[local]
        size = 1 + sum(f[1] for f in fields) + dev_size
        msg = bytearray(body[pos : pos + size])
        pos += size
        profile = messages.get(glob)
        if profile is None:
            counts["messages_dropped"] += 1
            continue
        offset = 1
        for num, fsize, _base in fields:
            field = profile["fields"].get(num)
            if field is not None and _LATLONG.search(field["name"]) and fsize == 4:
                struct.pack_into(arch + "i", msg, offset, _INVALID_SINT32)
                counts["positions_blanked"] += 1
            offset += fsize
        out += msg
    header = bytearray(raw[:header_size])
    struct.pack_into("<I", header, 4, len(out))
    if header_size >= 14:
        struct.pack_into("<H", header, 12, fit_crc(bytes(header[:12])))
    result = bytes(header) + bytes(out)
    return result + struct.pack("<H", fit_crc(result)), counts


def main(argv: list[str]) -> int:
    """Write the redacted copy of ``argv[1]`` to ``argv[2]``."""
    src = Path(argv[1])
    dst = Path(argv[2]) if len(argv) > 2 else Path("tests/data/fenix5_run_hrv.fit")
    data, counts = redact(src.read_bytes())
    dst.write_bytes(data)
    print(f"{dst}: {len(data)} bytes, {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
