"""``--names neurokit``: a column takes a NeuroKit2 name only if NeuroKit2 computes that value.

Each borrowed column is compared with NeuroKit2 itself (``nk.hrv_time``, ``nk.hrv_nonlinear``,
with NeuroKit2's defaults) on the same analysed RR series of real recordings; the columns left
out are checked to differ from NeuroKit2's column of that name (else the name could be
borrowed), and no renamed column collides with a name NeuroKit2 uses.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.research.analysis import (
    NEUROKIT_NAMES,
    NEUROKIT_REL_TOL,
    NEUROKIT_SHARED,
    SUMMARY_FIELDS,
    rename_columns,
    summarize,
)
from hrv.rolling import COHERENCE_COLUMNS, FREQUENCY_COLUMNS, NONLINEAR_COLUMNS, TIME_COLUMNS
from sensors import read_recording

nk = pytest.importorskip("neurokit2")

#: Real recordings, how to read them: rest, a test fixture, exercise (~120 bpm) and a Polar file.
RECORDINGS: dict[str, dict[str, str]] = {
    "hrvpkg_rest_rri_ms.txt": {},
    "hrvanalysis_test_nn_intervals_ms.txt": {},
    "hrvpkg_08012805_rri_ms.txt": {},
    "hrvpkg_exercise_rri.hrm": {},
}


def _analysed(path: Path, **kw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """hrvpace's summary and NeuroKit2's RRI input of the same analysed (cleaned) series."""
    rec = read_recording(path, **kw)
    summary, rr, gaps = summarize(rec.rr_ms, gaps=rec.gaps)
    assert not gaps[1:].any(), "pick recordings whose cleaned series has no gaps"
    return summary, {"RRI": rr, "RRI_Time": np.cumsum(rr) / 1000.0}


def _nk_quiet(fn: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {k: float(v) for k, v in fn(*args, **kwargs).iloc[0].to_dict().items()}


def _nk_columns() -> set[str]:
    """Every column name ``nk.hrv`` can produce (computed on a short real-like series)."""
    rng = np.random.default_rng(0)
    rr = 800.0 + rng.normal(0.0, 40.0, 300)
    rri = {"RRI": rr, "RRI_Time": np.cumsum(rr) / 1000.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return set(nk.hrv(rri).columns)


@pytest.fixture(scope="module")
def nk_columns() -> set[str]:
    return _nk_columns()


def test_every_column_has_exactly_one_neurokit_style_name(nk_columns: set[str]) -> None:
    window_cols = ["path", "t_s", "n_beats", *TIME_COLUMNS, *FREQUENCY_COLUMNS]
    window_cols += [*COHERENCE_COLUMNS, *NONLINEAR_COLUMNS]
    for cols in (["path", *SUMMARY_FIELDS], window_cols):
        renamed = rename_columns(cols, style="neurokit")
        assert len(set(renamed)) == len(renamed)
        assert not set(renamed) & set(cols)  # every column renamed, none kept snake_case
    # a borrowed name is NeuroKit2's; every other name is one NeuroKit2 does not use
    assert set(NEUROKIT_SHARED.values()) <= nk_columns
    others = {v for k, v in NEUROKIT_NAMES.items() if k not in NEUROKIT_SHARED}
    assert not others & nk_columns
    assert rename_columns(["path", "error"], style="neurokit") == ["Path", "Error"]
    with pytest.raises(ValueError, match="no NeuroKit2-style name"):
        rename_columns(["rmssd_ms", "not_a_column"], style="neurokit")


def _poincare(rri: dict[str, Any]) -> dict[str, float]:
    # the function nk.hrv_nonlinear runs for SD1/SD2 (its entropies make the whole call slow)
    from neurokit2.hrv.hrv_nonlinear import _hrv_nonlinear_poincare

    out = _hrv_nonlinear_poincare(np.asarray(rri["RRI"]), out={})
    return {"HRV_" + k: float(v) for k, v in out.items()}


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_borrowed_columns_equal_neurokit2(shared_data: Path, name: str) -> None:
    ours, rri = _analysed(shared_data / name, **RECORDINGS[name])
    theirs = _nk_quiet(nk.hrv_time, rri) | _poincare(rri)
    for col, nk_col in NEUROKIT_SHARED.items():
        assert math.isclose(ours[col], theirs[nk_col], rel_tol=NEUROKIT_REL_TOL), (
            col,
            ours[col],
            theirs[nk_col],
        )


@pytest.mark.slow
def test_borrowed_nonlinear_columns_equal_nk_hrv_nonlinear(shared_data: Path) -> None:
    """The public ``nk.hrv_nonlinear`` itself (~5 s per recording) agrees on SD1 and SD2."""
    for name in ("hrvpkg_rest_rri_ms.txt", "hrvanalysis_test_nn_intervals_ms.txt"):
        ours, rri = _analysed(shared_data / name)
        theirs = _nk_quiet(nk.hrv_nonlinear, rri)
        for col in ("sd1_ms", "sd2_ms"):
            nk_col = NEUROKIT_SHARED[col]
            assert math.isclose(ours[col], theirs[nk_col], rel_tol=NEUROKIT_REL_TOL), col


@pytest.mark.parametrize("name", ["hrvpkg_rest_rri_ms.txt", "hrvanalysis_test_nn_intervals_ms.txt"])
def test_columns_not_borrowed_do_differ_from_neurokit2(shared_data: Path, name: str) -> None:
    """Why the spectral powers, LF/HF and DFA keep their own names: NeuroKit2's values differ."""
    ours, rri = _analysed(shared_data / name)
    theirs = _nk_quiet(nk.hrv_frequency, rri)
    for col, nk_col in (
        ("vlf_ms2", "HRV_VLF"),
        ("lf_ms2", "HRV_LF"),
        ("hf_ms2", "HRV_HF"),
        ("total_ms2", "HRV_TP"),
        ("lf_hf", "HRV_LFHF"),
    ):
        assert not math.isclose(ours[col], theirs[nk_col], rel_tol=NEUROKIT_REL_TOL), col
    # NeuroKit2's powers are of a max-normalised PSD: orders of magnitude below ms^2
    assert theirs["HRV_LF"] < 1.0 < ours["lf_ms2"]
    from neurokit2.hrv.hrv_nonlinear import _hrv_dfa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dfa = _hrv_dfa(np.asarray(rri["RRI"]), {})
    assert not math.isclose(ours["dfa_alpha1"], float(dfa["DFA_alpha1"]), rel_tol=NEUROKIT_REL_TOL)
