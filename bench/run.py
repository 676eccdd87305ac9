"""srcad benchmark: generated gradients next to hand-written ones and peer libraries.

    python bench/run.py            # everything (make bench)
    python bench/run.py --quick    # smaller sizes, fewer rounds
    python bench/run.py --only eam --peers jax

For every workload of ``workloads.py`` each method's gradient is first checked
against the hand-written NumPy gradient; a method that disagrees is reported
as WRONG and not timed. Then all methods are timed in interleaved rounds and
the median time per call is reported with its ratio to the hand-written
gradient, the first call (srcad: transform and compile on an empty cache;
numba: JIT compile) and the peak extra memory of one warm call of the
hand-written, srcad and hand numba rows (tracemalloc; RSS for numba). Also
measured: peak extra memory at the largest eam size
(tracemalloc), cold and warm start of srcad in fresh processes (empty, then
warm, ``SRCAD_CACHE_DIR``), and the call overhead on a trivial function.
``jax.jit`` runs wide elementwise work on all cores; at eam n=10^6 the row "jax
jit(grad), 1 core" times it in a process of its own pinned to one core (the
single-threaded figure), beside the in-process row.
Results go to stdout as Markdown, to ``bench/results.json`` and, when
matplotlib is installed, to ``bench/results.png`` (one panel per workload).
Hand numba rows (``numba_hand.py``) need ``pip install srcad[numba]``; rows
of a library that is not installed are reported as skipped.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness
import numba_hand
import peers
import workloads

HAND = "hand-written"
TIGHT = (1e-7, 1e-12)  # (rtol, atol relative to the largest entry): agreement to rounding
NUMPY_BASED = ("hand-written", "hand into buffers", "srcad grad", "srcad grad(out=)",
               "autograd grad")
HAND_NUMBA = "hand numba"
SRCAD_PARALLEL = "srcad numba parallel grad(out=)"   # parallel=True: eam at n >= 10^4
SRCAD_NUMBA = ("srcad numba grad", "srcad numba grad(out=)", "srcad numba jacobian",
               SRCAD_PARALLEL)
# rows whose peak memory is measured in every workload: tracemalloc, RSS for numba
MEASURED = ("hand-written", "hand into buffers", "srcad grad", "srcad grad(out=)",
            "srcad jacobian", HAND_NUMBA) + SRCAD_NUMBA


def _error(exc):
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"error: {type(exc).__name__}: {first}"[:160]


def _srcad():
    try:
        import srcad
        return srcad, None
    except Exception as exc:  # noqa: BLE001 -- report it in the table, keep benchmarking
        return None, _error(exc)


def methods_for(w, peer_names):
    """{name: (call, to_result, (rtol, atol), out) or "skipped/error: ..."} for workload ``w``.

    ``out`` is the buffer a method must return itself (the ``out=`` contract), else None.
    """
    args = w.args
    out = {HAND: (lambda: w.hand(*args), None, TIGHT, None)}
    if w.make_hand_into is not None:
        g = w.make_hand_into(args)
        buf = w.make_out(args) if w.make_out else None
        if buf is None:
            out["hand into buffers"] = (lambda: g(*args), None, TIGHT, None)
        else:
            out["hand into buffers"] = (lambda: g(*args, buf), None, TIGHT, buf)
    for name, (fn, tol) in w.extras.items():
        out[name] = (lambda fn=fn: fn(*args), None, tol, None)
    if w.numba:
        try:
            g_nb = numba_hand.make(w.numba)
            out[HAND_NUMBA] = (lambda: g_nb(*args), None, TIGHT, None)
        except ImportError:
            out[HAND_NUMBA] = "skipped: numba is not installed (pip install srcad[numba])"

    srcad, err = _srcad()
    tol = w.tol or TIGHT
    if w.kind == "grad":
        names = ["srcad grad"] + (["srcad grad(out=)"] if w.make_out else [])
    else:
        names = ["srcad jacobian"]
    if numba_hand.numba is not None:     # the numba backend beside the NumPy one
        names += [n.replace("srcad ", "srcad numba ") for n in names]
        if w.key == "eam" and w.n >= 10_000:
            names.append(SRCAD_PARALLEL)
    else:
        out.update({n.replace("srcad ", "srcad numba "): "skipped: numba is not installed "
                    "(pip install srcad[numba])" for n in names})
    for name in names:
        if srcad is None:
            out[name] = err
            continue
        backend = "numba" if name.startswith("srcad numba") else "numpy"
        try:
            if name == SRCAD_PARALLEL:
                f = srcad.differentiate(w.fn, wrt=w.wrt, backend="numba", parallel=True)
                buf2 = w.make_out(args)
                out[name] = (lambda f=f, buf2=buf2: f.grad(*args, out=buf2), None, tol, buf2)
            elif name.endswith(" grad"):
                f = srcad.differentiate(w.fn, wrt=w.wrt, backend=backend)
                out[name] = (lambda f=f: f.grad(*args), None, tol, None)
            elif name.endswith(" grad(out=)"):
                f = srcad.differentiate(w.fn, wrt=w.wrt, backend=backend)
                buf2 = w.make_out(args)
                out[name] = (lambda f=f, buf2=buf2: f.grad(*args, out=buf2), None, tol, buf2)
            else:
                jac = srcad.jacobian(w.fn, wrt=w.wrt, backend=backend)
                out[name] = (lambda jac=jac: jac(*args), None, tol, None)
        except Exception as exc:  # noqa: BLE001 -- reported as an error row
            out[name] = _error(exc)

    for name, m in peers.methods(w, peer_names).items():
        out[name] = m if isinstance(m, str) else (m[0], m[1], TIGHT, None)
    return out


def bench_workload(w, peer_names, rounds, target):
    """Verify, then time, every method of ``w``; then its peak memory. Returns {method: row}.

    ``first_call_s`` is the first call of a fresh method: for srcad the
    transform and compile (the runner gives it an empty disk cache), for
    numba the JIT compile.
    """
    rounds = min(rounds, w.rounds) if w.rounds else rounds
    rows, calls = {}, {}
    reference = w.hand(*w.args)
    for name, m in methods_for(w, peer_names).items():
        if isinstance(m, str):
            rows[name] = {"status": m}
            continue
        call, to_result, (rtol, atol), buf = m
        try:
            t0 = time.perf_counter()
            result = call()
            first = time.perf_counter() - t0
            if to_result is not None:
                result = to_result(result)
        except Exception as exc:  # noqa: BLE001 -- reported as an error row
            rows[name] = {"status": _error(exc)}
            continue
        bad = harness.mismatch(result, reference, rtol, atol) if name != HAND else None
        if not bad and buf is not None and result is not buf:
            bad = "returned a new object instead of `out`"
        if bad:
            rows[name] = {"status": f"WRONG ({bad})"}
            continue
        rows[name] = {"status": "ok", "first_call_s": first}
        calls[name] = call
    for name, t in harness.time_interleaved(calls, rounds, target).items():
        rows[name].update(t)
    for name, call in calls.items():
        if name not in MEASURED:
            continue
        try:
            if name == HAND_NUMBA or name in SRCAD_NUMBA:
                mib, how = harness.peak_rss_mib(call), "RSS"
            else:  # one call first: the interleaved rounds of the other methods may
                # have taken its work buffers back (workspace limit); steady state is after
                mib, how = harness.peak_extra_mib(call, warm=True), "tracemalloc"
        except Exception as exc:  # noqa: BLE001 -- reported in the row
            mib, how = None, _error(exc)
        if mib is not None:
            rows[name]["peak_mib"] = mib
            rows[name]["peak_by"] = how
    if w.key == "eam" and w.n >= 10**6 and "jax" in peer_names \
            and rows.get("jax jit(grad)", {}).get("status") == "ok":
        rows[JAX_ONE_CORE] = pinned_jax(w, rounds, target)
    hand = rows.get(HAND, {}).get("median_s")
    for row in rows.values():
        if "median_s" in row and hand:
            row["ratio"] = row["median_s"] / hand
    return rows


def memory(w, peer_names):
    """Peak extra MiB of one gradient call per NumPy-based method at ``w``'s size."""
    out = {}
    for name, m in methods_for(w, peer_names).items():
        if name not in NUMPY_BASED:
            continue
        if isinstance(m, str):
            out[name] = m
            continue
        try:
            out[name] = round(harness.peak_extra_mib(m[0]), 3)
        except Exception as exc:  # noqa: BLE001 -- reported as an error row
            out[name] = _error(exc)
    return out


# ---------------------------------------------------------------- cold / warm start

def child_start(key):
    """In a fresh process: import srcad, build the workload, time the first and second call
    (``key`` may end in ``:numba``: the numba backend, whose JIT numba's disk cache keeps)."""
    key, _, backend = key.partition(":")
    t0 = time.perf_counter()
    import srcad
    t_import = time.perf_counter() - t0
    w = {"eam": lambda: workloads.eam_workload(100), "mlp": workloads.mlp_workload,
         "euler": workloads.euler_workload, "rs": workloads.rs_workload,
         "rs_loss": workloads.rs_loss_workload, "lj": lambda: workloads.lj_workload(100),
         "while": workloads.fixed_point_workload}[key]()
    backend = backend or "numpy"
    if w.kind == "grad":
        call = srcad.differentiate(w.fn, wrt=w.wrt, backend=backend).grad
    else:
        call = srcad.jacobian(w.fn, wrt=w.wrt, backend=backend)
    t0 = time.perf_counter()
    call(*w.args)
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    call(*w.args)
    t_second = time.perf_counter() - t0
    print(json.dumps({"import_s": t_import, "first_call_s": t_first, "second_call_s": t_second}))


JAX_ONE_CORE = "jax jit(grad), 1 core"   # eam n >= 10^6: jax.jit spreads wide work on all cores


def child_pinned(n, rounds, target):
    """In a fresh process pinned to one core before jax starts (its thread pool then runs
    on that core only): jax's eam gradient at ``n``, checked against the hand-written one,
    then timed. Prints the row as JSON."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    w = workloads.eam_workload(n)
    call, to_numpy = peers.methods(w, ("jax",))["jax jit(grad)"]
    first = time.perf_counter()
    result = to_numpy(call())
    first = time.perf_counter() - first
    bad = harness.mismatch(result, w.hand(*w.args), *TIGHT)
    if bad:
        print(json.dumps({"status": f"WRONG ({bad})"}))
        return
    row = harness.time_interleaved({JAX_ONE_CORE: call}, rounds, target)[JAX_ONE_CORE]
    print(json.dumps(dict(row, status="ok", first_call_s=first)))


def pinned_jax(w, rounds, target):
    """The row of ``child_pinned`` for workload ``w`` (run in the same ``make bench``)."""
    if not hasattr(os, "sched_setaffinity"):
        return {"status": "skipped: no CPU affinity on this platform"}
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child-pinned",
                           f"{w.n},{rounds},{target}"], capture_output=True, text=True,
                          timeout=900)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": f"error: {tail[:200]}"}


NUMBA_START = ("euler", "lj", "while")     # loop workloads: the numba backend's start too


def start_times(keys):
    if numba_hand.numba is not None:
        keys = list(keys) + [f"{k}:numba" for k in keys if k in NUMBA_START]
    return {key: harness.cold_and_warm([os.path.abspath(__file__), "--child-start", key])
            for key in keys}


# ---------------------------------------------------------------- dispatch overhead

def dispatch(rounds, target):
    srcad, err = _srcad()
    calls = {"plain 2*x": lambda: workloads.sq_grad_hand(1.0)}
    out = {}
    if srcad is None:
        out["srcad grad"] = err
    else:
        try:
            f = srcad.differentiate(workloads.sq)
            got = f.grad(1.0)
            if got != 2.0:
                raise AssertionError(f"grad of x*x at 1.0 is {got!r}")
            calls["srcad grad"] = lambda: f.grad(1.0)
            generated = f.compiled("grad", 1.0)
            calls["generated function"] = lambda: generated(1.0, 1.0, None)
        except Exception as exc:  # noqa: BLE001 -- reported as an error row
            out["srcad grad"] = _error(exc)
    for name, t in harness.time_interleaved(calls, rounds, target).items():
        out[name] = t["median_s"]
    if isinstance(out.get("srcad grad"), float) and isinstance(out.get("generated function"),
                                                                float):
        out["dispatch_overhead_s"] = out["srcad grad"] - out["generated function"]
    else:
        out["dispatch_overhead_s"] = None
    return out


# ---------------------------------------------------------------- reporting

def _us(seconds):
    return f"{seconds * 1e6:,.1f}" if seconds < 1e-2 else f"{seconds * 1e6:,.0f}"


def _mib(row):
    if "peak_mib" not in row:
        return ""
    mark = " (RSS)" if row["peak_by"] == "RSS" else ""
    return f"{row['peak_mib']:.3f}{mark}"


def markdown(results):
    lines = ["| workload | method | µs per call | × hand-written | first call ms | peak MiB |",
             "|---|---|---:|---:|---:|---:|"]
    for wname, rows in results["timings"].items():
        for mname, row in rows.items():
            if "median_s" in row:
                lines.append(f"| {wname} | {mname} | {_us(row['median_s'])} | "
                             f"{row.get('ratio', float('nan')):.2f} | "
                             f"{row['first_call_s'] * 1e3:,.1f} | {_mib(row)} |")
            else:
                status = row["status"].replace("|", "/")
                lines.append(f"| {wname} | {mname} | {status} | | | |")
    lines += ["", "µs per call: median over interleaved rounds; × hand-written: that median "
              "over the hand-written NumPy/Python gradient's. first call: transform + compile + "
              "run for srcad (empty disk cache), JIT compile + run for numba (srcad numba: "
              "transform + JIT, the first numba row in a process also numba's own start). "
              "peak MiB: peak extra memory of one warm call above what was live before it, "
              "including the returned gradient (tracemalloc; (RSS): resident-set high-water "
              "mark, page granular, for numba whose allocations tracemalloc cannot see)."]
    if results.get("memory"):
        n = results["memory_n"]
        note = (f"Peak extra memory of one eam gradient at n={n:,} (tracemalloc, MiB; "
                "includes the returned gradient; jax and torch allocate outside its view):")
        lines += ["", note, "", "| method | MiB |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in results["memory"].items()]
    if results.get("start"):
        note = ("srcad start-up in fresh processes (first call = transform + compile + run; "
                "warm = same `SRCAD_CACHE_DIR` again; `:numba` = the numba backend, whose warm "
                "start loads the compiled core from srcad's signed numba cache instead of "
                "compiling):")
        header = ("| workload | import srcad ms | cold first call ms | warm first call ms | "
                  "second call µs | files in cache |")
        lines += ["", note, "", header, "|---|---:|---:|---:|---:|---:|"]
        for key, r in results["start"].items():
            cold, warm = r["cold"], r["warm"]
            if "error" in cold or "error" in warm:
                lines.append(f"| {key} | {cold.get('error') or warm.get('error')} | | | | |")
                continue
            lines.append(f"| {key} | {cold['import_s'] * 1e3:.0f} | "
                         f"{cold['first_call_s'] * 1e3:.1f} | {warm['first_call_s'] * 1e3:.1f} | "
                         f"{_us(warm['second_call_s'])} | {r['cache_files_after_cold']} |")
    d = results.get("dispatch")
    if d:
        def show(v):
            return f"{_us(v)} µs" if isinstance(v, float) else str(v)
        note = (f"Trivial function `x*x` at 1.0, per call: `f.grad(1.0)` "
                f"{show(d.get('srcad grad'))}; the generated function called directly "
                f"{show(d.get('generated function'))}; dispatch overhead "
                f"{show(d.get('dispatch_overhead_s'))}; plain `2*x` {show(d.get('plain 2*x'))}.")
        lines += ["", note]
    return "\n".join(lines)


def plot(results, path):
    """One panel per workload (median µs per method, log scale) after eam time vs n."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    timed = {w: {m: r["median_s"] * 1e6 for m, r in rows.items() if "median_s" in r}
             for w, rows in results["timings"].items()}
    timed = {w: rows for w, rows in timed.items() if rows}
    series = {}
    for wname, rows in timed.items():
        if wname.startswith("eam n="):
            for mname, us in rows.items():
                series.setdefault(mname, []).append((int(wname.split("=")[1]), us))
    if not timed:
        return False
    panels = (1 if series else 0) + len(timed)
    cols = 3
    nrows = -(-panels // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.4 * nrows), squeeze=False)
    flat = list(axes.flat)
    if series:
        ax = flat.pop(0)
        for mname, pts in series.items():
            pts.sort()
            ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker="o", label=mname)
        ax.set_xlabel("n (entries of x)")
        ax.set_ylabel("µs per gradient (median)")
        ax.set_title("eam gradient: time vs n", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    for ax, (wname, rows) in zip(flat, timed.items(), strict=False):
        names = list(rows)
        colors = ["tab:red" if n.startswith("srcad") else "tab:green" if "numba" in n
                  else "tab:gray" if n.startswith("hand") else "tab:blue" for n in names]
        ax.barh(range(len(names)), [rows[n] for n in names], color=colors)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("µs per call (median, log)", fontsize=8)
        ax.set_title(wname, fontsize=9)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    for ax in flat[len(timed):]:
        ax.axis("off")
    fig.suptitle("srcad (red), hand-written NumPy/Python (gray), hand numba (green), peers (blue)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def machine():
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "platform": platform.platform(), "cpus": os.cpu_count()}
    for lib in ("srcad", "numba", "jax", "torch", "autograd"):
        try:
            mod = __import__(lib)
            info[lib] = getattr(mod, "__version__", "installed")
        except Exception:  # noqa: BLE001 -- any failure means: not available
            info[lib] = None
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="eam up to 10^4, 3 rounds")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--only", action="append",
                    choices=["eam", "mlp", "euler", "rs", "rs_loss", "lj", "while"])
    ap.add_argument("--peers", default=",".join(peers.PEERS),
                    help="comma-separated subset of jax,torch,autograd ('' for none)")
    ap.add_argument("--no-start", action="store_true", help="skip cold/warm start")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--png", default=os.path.join(HERE, "results.png"))
    ap.add_argument("--child-start", help=argparse.SUPPRESS)
    ap.add_argument("--child-pinned", help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.child_start:
        return child_start(opts.child_start)
    if opts.child_pinned:
        n, r, t = opts.child_pinned.split(",")
        return child_pinned(int(n), int(r), float(t))

    peer_names = tuple(p for p in opts.peers.split(",") if p)
    rounds = opts.rounds or (3 if opts.quick else 7)
    target = 0.02 if opts.quick else 0.05
    sizes = workloads.EAM_SIZES[:2] if opts.quick else workloads.EAM_SIZES
    lj_sizes = workloads.LJ_SIZES[:1] if opts.quick else workloads.LJ_SIZES
    chosen = [w for w in workloads.all_workloads(sizes, lj_sizes)
              if not opts.only or w.key in opts.only]

    results = {"machine": machine(), "rounds": rounds, "timings": {}}
    # an empty disk cache of its own: srcad's first calls measure transform and compile
    before = os.environ.get("SRCAD_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="srcad-bench-main-") as cache_dir:
        os.environ["SRCAD_CACHE_DIR"] = cache_dir
        for w in chosen:
            print(f"... {w.name}", file=sys.stderr, flush=True)
            results["timings"][w.name] = bench_workload(w, peer_names, rounds, target)
    if before is None:
        del os.environ["SRCAD_CACHE_DIR"]
    else:
        os.environ["SRCAD_CACHE_DIR"] = before
    eams = [w for w in chosen if w.key == "eam"]
    if eams:
        big = max(eams, key=lambda w: w.n)
        print(f"... memory at eam n={big.n}", file=sys.stderr, flush=True)
        results["memory_n"] = big.n
        results["memory"] = memory(big, peer_names)
    if not opts.no_start:
        print("... cold and warm start", file=sys.stderr, flush=True)
        results["start"] = start_times(sorted({w.key for w in chosen}))
    results["dispatch"] = dispatch(rounds, target)

    table = markdown(results)
    print(table)
    with open(opts.json, "w") as fh:
        json.dump(results, fh, indent=1, default=str)
    drew = plot(results, opts.png)
    print(f"\nwrote {os.path.relpath(opts.json)}" + (f" and {os.path.relpath(opts.png)}"
                                                    if drew else " (no matplotlib: no plot)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
