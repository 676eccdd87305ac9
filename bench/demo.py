"""srcad in a few seconds: the gradient it writes, checked and timed.

    python bench/demo.py       # make demo

For three showcase functions (the eam energy, an MLP loss, a 1000-step Euler
loop) this prints the generated gradient source, the finite-difference check
and the median time per call next to the hand-written gradient. The full
comparison with peer libraries is ``bench/run.py``.
"""
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness
import workloads

RULE = "=" * 78


def show(w, srcad):
    print(f"\n{RULE}\n{w.name}: {w.fn.__name__}, wrt={w.wrt!r}\n{RULE}")
    f = srcad.differentiate(w.fn, wrt=w.wrt)

    print(f"\n-- generated gradient: {w.fn.__name__}.source('grad', *args)\n")
    print(f.source("grad", *w.args).rstrip())

    err = srcad.check_grad(w.fn, *w.args, wrt=w.wrt)
    print(f"\n-- srcad.check_grad: worst relative error {err:.1e} against central differences")

    mismatch = harness.mismatch(f.grad(*w.args), w.hand(*w.args))
    if mismatch:
        raise AssertionError(f"srcad's gradient disagrees with the hand-written one: {mismatch}")
    calls = {"hand-written": lambda: w.hand(*w.args),
             "srcad grad": lambda: f.grad(*w.args)}
    if w.make_out is not None:
        buf = w.make_out(w.args)
        into = w.make_hand_into(w.args)
        calls["hand-written, buffers"] = lambda: into(*w.args, buf)
        out = w.make_out(w.args)
        calls["srcad grad(out=)"] = lambda: f.grad(*w.args, out=out)
    times = harness.time_interleaved(calls, rounds=5, target=0.01)
    hand = times["hand-written"]["median_s"]
    print("\n-- median time per call (same run, interleaved)")
    for name, t in times.items():
        print(f"   {name:<26} {t['median_s'] * 1e6:10.1f} µs   {t['median_s'] / hand:5.2f}x hand")


def main():
    try:
        import srcad
    except Exception:  # noqa: BLE001 -- report any import failure, then stop
        traceback.print_exc()
        print("\nsrcad could not be imported", file=sys.stderr)
        return 1
    showcase = [workloads.eam_workload(100), workloads.eam_workload(10_000),
                workloads.mlp_workload(), workloads.euler_workload()]
    failed = []
    for w in showcase:
        try:
            show(w, srcad)
        except Exception as exc:  # noqa: BLE001 -- one failing showcase must not hide the others
            failed.append(w.name)
            print(f"\n!! {w.name}: {type(exc).__name__}: {exc}")
    print(f"\n{RULE}")
    if failed:
        print(f"demo: {len(failed)} of {len(showcase)} showcases failed: {', '.join(failed)}")
        return 1
    print(f"demo: all {len(showcase)} showcases differentiated, checked and timed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
