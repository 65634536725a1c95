"""``hrvpace record``'s end-of-recording summary (``_Summary``), unit level.

Code review (rev6, G1): the advice's head was made by replacing the first " the " in the
whole line with " keeps the ", which could fall inside a path (``run with the new strap.csv``).
G6: "holds only a header" was not true of a beats file with the strap's ``# contact`` lines.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from api.commands.record import _Summary


def test_a_path_with_the_in_it_is_named_as_it_is() -> None:
    out = Path("/tmp/run with the new strap.csv")
    line = _Summary.of(out, 3, {}).advice()
    assert line == (
        f"{out} keeps the 3 beats recorded; to record again give a new --out file "
        f"(--overwrite would replace {out})"
    )


def test_a_stream_file_with_the_in_its_name_heads_the_line_as_it_is() -> None:
    out = Path("/tmp/morning with the H10.csv")
    ppi = Path("/tmp/morning with the H10.ppi.txt")
    writers = {"ppi": SimpleNamespace(files=[ppi], n_samples=4)}
    line = _Summary.of(out, 0, writers).advice()
    assert line.startswith(f"{ppi} keeps the 4 PPI pulses recorded; ")
    assert line.endswith(f"(--overwrite would replace {out}, {ppi})")
    # with beats too: the first keeps, the rest are listed as they are
    both = _Summary.of(out, 2, writers).advice()
    assert both.startswith(f"{out} keeps the 2 beats, {ppi} the 4 PPI pulses recorded; ")


def test_nothing_recorded_says_no_beats_not_only_a_header() -> None:
    out = Path("/tmp/a.csv")
    assert _Summary.of(out, 0, {}).advice() == (
        f"nothing was recorded ({out} holds no beats): to record again with the same --out, "
        "add --overwrite (nothing is lost)"
    )
    ppi = Path("/tmp/a.ppi.txt")
    writers = {"ppi": SimpleNamespace(files=[ppi], n_samples=0)}
    assert (
        _Summary.of(out, 0, writers)
        .advice()
        .startswith(f"nothing was recorded ({out}, {ppi} hold no beats or samples): ")
    )
