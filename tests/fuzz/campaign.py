"""A fuzzing campaign: many programs on several processes, counted and shrunk.

``run_campaign(seed, n, jobs)`` checks programs ``0 .. n-1`` of ``seed`` and
returns a ``Summary``: programs by status, mode outcomes by class, refusals
by key, and the failures (WRONG/CRASH) grouped by (mode, class, key) with the
programs that show them. ``report`` prints it; ``shrink_failures`` reduces one
program per failure class and prints it as a pytest test.
"""
import collections
import dataclasses
import multiprocessing
import time

from .generate import generate
from .run import check_program
from .shrink import as_pytest, shrink


@dataclasses.dataclass
class Summary:
    seed: int
    n: int
    seconds: float = 0.0
    status: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    outcomes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    refusals: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    refusal_example: dict = dataclasses.field(default_factory=dict)   # key -> (index, mode)
    # (label, mode, key) -> [(program index, detail)]
    failures: dict = dataclasses.field(default_factory=dict)

    @property
    def failed(self):
        return bool(self.failures)


REVERSE = ("grad", "grad_out", "value_and_grad", "pullback", "cache")
ROTATION = (("jvp",), ("jac_fwd",), ("jac_rev",), ("hessian", "hvp"), ("sig2",))


def quick_modes(index):
    """The quick profile's modes for program ``index``: the reverse modes, which share
    one compiled gradient, and in turn one of the others (every mode is exercised)."""
    return REVERSE + ROTATION[index % len(ROTATION)]


def _one(job):
    seed, index, size, quick = job
    program = generate(seed, index, size)
    if quick:
        program = dataclasses.replace(program, second_order=True)
    result = check_program(program, only=quick_modes(index) if quick else None, seed=index)
    return index, result.status, result.outcomes


def run_campaign(seed, n, jobs=1, size=1.0, progress=None, quick=False):
    """Programs ``0 .. n-1`` of ``seed``, on ``jobs`` processes; ``quick``: fewer modes
    per program (see ``quick_modes``)."""
    summary = Summary(seed, n)
    start = time.monotonic()
    jobs_list = [(seed, i, size, quick) for i in range(n)]
    if jobs > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs, maxtasksperchild=200) as pool:
            results = pool.imap_unordered(_one, jobs_list, chunksize=4)
            for k, item in enumerate(results):
                _add(summary, *item)
                if progress and (k + 1) % progress == 0:
                    print(f"... {k + 1}/{n} programs, {time.monotonic() - start:.0f} s, "
                          f"{sum(len(v) for v in summary.failures.values())} failing modes",
                          flush=True)
    else:
        for job in jobs_list:
            _add(summary, *_one(job))
    summary.seconds = time.monotonic() - start
    return summary


def _add(summary, index, status, outcomes):
    summary.status[status] += 1
    for mode, outcome in outcomes.items():
        label = outcome[0]
        summary.outcomes[label] += 1
        if label == "refused":
            summary.refusals[outcome[1]] += 1
            summary.refusal_example.setdefault(outcome[1], (index, mode))
        elif label in ("WRONG", "CRASH"):
            summary.failures.setdefault((label, mode, outcome[1]), []).append((index, outcome[2]))


def report(summary, out=print):
    out(f"srcad fuzz: seed {summary.seed}, {summary.n} programs in {summary.seconds:.0f} s")
    out("programs: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.status.items())))
    out("mode outcomes: " + ", ".join(f"{k} {summary.outcomes.get(k, 0)}"
                                      for k in ("ok", "refused", "WRONG", "CRASH", "n/a")))
    if summary.failures:
        out("failures by class (label, mode, key: programs):")
        for (label, mode, key), items in sorted(summary.failures.items(),
                                                key=lambda kv: -len(kv[1])):
            out(f"  {len(items):5d}  {label:5s} {mode:15s} {key}   e.g. program "
                f"{items[0][0]}: {items[0][1][:160]}")
    if summary.refusals:
        out("refusals by class:")
        for key, count in sorted(summary.refusals.items(), key=lambda kv: (-kv[1], kv[0])):
            index, mode = summary.refusal_example[key]
            out(f"  {count:5d}  {key}   (e.g. program {index}, {mode})")


def _shrink_job(job):
    seed, index, size, mode, outcome_key, budget = job
    program = dataclasses.replace(generate(seed, index, size), second_order=True)
    outcome = check_program(program, only=(mode,), seed=index).outcomes.get(mode)
    if outcome is None or outcome[:2] != outcome_key:
        return None
    small = shrink(program, mode, outcome, budget=budget)
    again = check_program(small, only=(mode,)).outcomes.get(mode, outcome)
    return as_pytest(small, mode, f"fuzz_{seed}_{index}_{mode}"), again


def shrink_failures(summary, jobs=1, size=1.0, budget=90.0, per_class=1):
    """One shrunk pytest test per failure class (label and key; the mode where most
    programs show it): [(label, mode, key, test source, detail)]."""
    work, done_keys = [], set()
    for (label, mode, key), items in sorted(summary.failures.items(), key=lambda kv: -len(kv[1])):
        if (label, key) in done_keys:        # the same failure seen through another mode
            continue
        done_keys.add((label, key))
        for index, _ in items[:per_class]:
            work.append((summary.seed, index, size, mode, (label, key), budget))
    if jobs > 1 and len(work) > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            done = pool.map(_shrink_job, work, chunksize=1)
    else:
        done = [_shrink_job(w) for w in work]
    out = []
    for w, d in zip(work, done):
        if d is not None:
            test, outcome = d
            out.append((outcome[0], w[3], outcome[1], test, outcome[2]))
    return out
