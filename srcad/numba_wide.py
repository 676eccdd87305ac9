"""Code without a loop of the user's, on large arrays: the numba core or NumPy's loops,
whichever this machine runs faster.

numba compiles ``np.exp`` and the other ufuncs to a loop calling the scalar function;
NumPy runs its own SIMD loops (AVX-512 where the CPU has it: 3-5x faster per element than
the scalar loop). Where the user's code has a loop, the numba core wins; where it is
array-wide work only, which of the two wins depends on the machine and on the ufuncs.
So a numba specialisation of loop-free code decides on its first calls with large
arrays (an array argument of ``LARGE`` elements or more), each call run once:

- large call 1: the core (it may include numba's JIT: not timed); calls 2 to 4: the
  core, timed;
- large call 5: the NumPy backend's function of the same specialisation (its first
  call builds it, takes its work buffers and, with ``parallel=True``, starts the
  threads: not timed); calls 6 to 8: that function, timed;
- then large calls take the NumPy function when its best time per element is under
  ``MARGIN`` times the core's, else the core. Calls with smaller arrays always take
  the core (its per-call cost is the lower). Three timed calls each, after a call
  that is not timed, keep one slow call of a busy machine from deciding.

Both compute the same derivative (they agree to rounding: the suite checks both against
central differences); which one a large call took is ``chooser.choice`` ("numba" or
"numpy", None while timing).
"""
import time

LARGE = 4096          # elements of an array argument from which a call is large
MARGIN = 0.8
SAMPLES = 3           # timed calls of each


class Chooser:
    """The decision of one specialisation; ``core(*args)`` runs the numba code (guarded),
    ``make()`` gives the NumPy backend's function (built on first use)."""

    def __init__(self, core, make):
        self.core, self.make = core, make
        self.numpy_fn = None
        self.times = []                 # seconds per element of the timed calls
        self.choice = None
        self.fn = None                  # what large calls take once decided

    def call(self, args, n):
        if self.fn is not None:
            return self.fn(*args)
        k = len(self.times)
        if k < 1 + SAMPLES:
            fn = self.core
        else:
            if self.numpy_fn is None:
                self.numpy_fn = self.make()
            fn = self.numpy_fn
        if k in (0, 1 + SAMPLES):       # the first call of each: not timed
            self.times.append(None)
            return fn(*args)
        start = time.perf_counter()
        out = fn(*args)
        self.times.append((time.perf_counter() - start) / n)
        if len(self.times) >= 2 + 2 * SAMPLES and self.fn is None:   # (>=: several threads)
            numba_best = min(self.times[1:1 + SAMPLES])
            numpy_best = min(self.times[2 + SAMPLES:2 + 2 * SAMPLES])
            self.choice = "numpy" if numpy_best < MARGIN * numba_best else "numba"
            self.fn = self.numpy_fn if self.choice == "numpy" else self.core
        return out
