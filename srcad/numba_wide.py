"""Code without a loop of the user's, on large arrays: the numba core or NumPy's loops,
whichever this machine runs faster.

numba compiles ``np.exp`` and the other ufuncs to a loop calling the scalar function;
NumPy runs its own SIMD loops (AVX-512 where the CPU has it: 3-5x faster per element than
the scalar loop). Where the user's code has a loop, the numba core wins; where it is
array-wide work only, which of the two wins depends on the machine and on the ufuncs.
So a numba specialisation of loop-free code decides on its first calls with large
arrays (an array argument of ``LARGE`` elements or more), for each size class apart
(the power of two at or below the number of elements: which code wins moves with the
size, as the work per call outgrows the cost of a call), each call run once:

- large call 1: the core (it may include numba's JIT: not timed); calls 2 to 4: the
  core, timed;
- large call 5: the NumPy backend's function of the same specialisation (its first
  call builds it, takes its work buffers and, with ``parallel=True``, starts the
  threads: not timed); calls 6 to 8: that function, timed;
- then large calls of that size class take the NumPy function when its best time
  per element is under ``MARGIN`` times the core's, else the core. Calls with smaller
  arrays always take the core (its per-call cost is the lower). Three timed calls each,
  after a call that is not timed, keep one slow call of a busy machine from deciding.

A small network's loss (a few 64x32 matrices, ``tanh`` of a 64x64 hidden layer) runs
faster as NumPy code than as the core, whose ``tanh`` is the scalar function, so large
begins at 1,024 elements; calls of fewer stay on the core without a test of time.

Both compute the same derivative (they agree to rounding: the suite checks both against
central differences); which one a large call of ``n`` elements took is
``chooser.of(n).choice`` ("numba" or "numpy", None while timing).
"""
import time

LARGE = 1024          # elements of an array argument from which a call is large
MARGIN = 0.8
SAMPLES = 3           # timed calls of each


class Sizes:
    """The decisions of one specialisation, one ``Chooser`` per size class."""

    def __init__(self, core, make):
        self.core, self.make = core, make
        self.classes = {}

    def of(self, n):
        """The ``Chooser`` of calls whose large array has ``n`` elements."""
        chooser = self.classes.get(n.bit_length())
        if chooser is None:
            chooser = self.classes[n.bit_length()] = Chooser(self.core, self.make)
        return chooser

    def call(self, args, n):
        chooser = self.classes.get(n.bit_length())
        if chooser is not None and chooser.fn is not None:
            return chooser.fn(*args)
        return self.of(n).call(args, n)


class Chooser:
    """The decision of one specialisation for one size class; ``core(*args)`` runs the
    numba code (guarded), ``make()`` gives the NumPy backend's function (built on first
    use, shared by the size classes)."""

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
