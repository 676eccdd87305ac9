"""The quick fuzzing profile, part of ``make test``: a few hundred small random
programs (fixed seed) against finite differences. Fails on any WRONG or CRASH
outcome and prints the counts; reproduce and shrink the failures with
``python -m tests.fuzz --quick --n 200 --size 0.6 --seed 0``."""
import pytest

from .campaign import report, run_campaign

QUICK_SEED = 0
QUICK_N = 200
QUICK_SIZE = 0.6


@pytest.mark.slow
def test_fuzz_quick():
    summary = run_campaign(QUICK_SEED, QUICK_N, jobs=2, size=QUICK_SIZE, quick=True)
    lines = []
    report(summary, out=lines.append)
    print("\n".join(lines))
    assert summary.status["valid"] >= QUICK_N // 2, "\n".join(lines)
    assert not summary.failed, "\n".join(lines)
