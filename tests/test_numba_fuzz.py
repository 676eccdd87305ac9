"""A slice of the quick fuzzing profile on the numba backend (``backend="auto"``: numba
where it compiles, the NumPy code where it refuses): no WRONG and no CRASH outcome.
The whole profile on both backends: ``SRCAD_BACKEND=numba python -m pytest
tests/fuzz/test_fuzz_quick.py`` (0 WRONG, 0 CRASH when this was written)."""

import pytest

from tests.fuzz.campaign import report, run_campaign
from conftest import need_numba

need_numba()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:srcad:RuntimeWarning")     # auto's fallback notes
@pytest.mark.parametrize("backend, seed", [("auto", 1), ("numba", 0)])
def test_fuzz_slice_on_the_numba_backend(backend, seed, monkeypatch):
    """Each backend setting on programs of its own seed: 16 programs in all. In this
    process (no pool): processes forked before numba compiled srcad's runtime helpers
    would each compile them again (a third more CPU on a fresh checkout), and the suite
    keeps both cores busy anyway."""
    monkeypatch.setenv("SRCAD_BACKEND", backend)
    summary = run_campaign(seed, 8, jobs=1, size=0.6, quick=True)
    lines = []
    report(summary, out=lines.append)
    assert summary.status["valid"] >= 4, "\n".join(lines)
    assert not summary.failed, "\n".join(lines)
