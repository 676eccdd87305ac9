"""``python -m tests.fuzz --n 10000 --seed S``: the long fuzzing profile.

Checks ``n`` random programs in every mode against finite differences on
``--jobs`` processes (default: every core), prints the counts by outcome and
the refusals by class, shrinks one program per WRONG/CRASH class and prints it
as a pytest test (also appended to ``--findings`` when given). Exits 1 when
any program gives a WRONG or CRASH outcome.
"""
import argparse
import os
import sys
import tempfile

# no disk cache: 10,000 programs must not fill a cache directory (set before srcad loads)
os.environ["SRCAD_DISK_CACHE"] = "0"
os.environ.setdefault("SRCAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcad-fuzz-cache-"))

from .campaign import report, run_campaign, shrink_failures  # noqa: E402
from .shrink import PYTEST_HEADER  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="number of programs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--size", type=float, default=1.0, help="scale of the program length")
    parser.add_argument("--shrink-budget", type=float, default=90.0,
                        help="seconds spent shrinking each failure class (0: no shrinking)")
    parser.add_argument("--quick", action="store_true",
                        help="the quick profile's modes (the reverse modes and one other in turn)")
    parser.add_argument("--findings", help="append the shrunk failing programs to this file")
    opts = parser.parse_args(argv)

    summary = run_campaign(opts.seed, opts.n, jobs=opts.jobs, size=opts.size,
                           progress=max(100, opts.n // 20), quick=opts.quick)
    report(summary)
    if summary.failed and opts.shrink_budget > 0:
        print("\nminimal failing programs (one per class), as pytest tests:\n")
        print(PYTEST_HEADER)
        shrunk = shrink_failures(summary, jobs=opts.jobs, size=opts.size,
                                 budget=opts.shrink_budget)
        for label, mode, key, test, detail in shrunk:
            print(f"# {label} {mode}: {key}\n# {detail[:300]}\n{test}")
        if opts.findings:
            with open(opts.findings, "a") as fh:
                fh.write(f"\n## fuzz run: seed {opts.seed}, {opts.n} programs\n\n")
                for label, mode, key, test, detail in shrunk:
                    fh.write(f"### {label} {mode}: {key}\n\n{detail[:500]}\n\n"
                             f"```python\n{test}```\n\n")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
