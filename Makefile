PY := .venv/bin/python
STAMP := .venv/.installed

.PHONY: test test-numba demo bench bench-memory lint fuzz clean

# Python writes the bytecode of what it imports (the venv's packages and srcad's) where it
# may: pip installs without byte-compiling every module of the dependencies (scipy, dask,
# numba: 35 s -> 14 s on a fresh machine), and a module is compiled once, on its first
# import, not at every start of the dozens of Python processes the suite starts (CLI,
# other processes, spawn pools) when the environment says PYTHONDONTWRITEBYTECODE.
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --no-compile -e '.[test,dask,numba]'
	touch $(STAMP)

# The suite on JOBS worker processes (pytest-xdist; the machines are 2 cores). srcad, the
# compiler and the tests are byte-compiled before the workers start, not by each of them.
# numba compiles the suite's cores at LLVM's -O1 (TEST_NUMBA_OPT): a third less JIT time
# than its default -O3 for the same code and the same floating-point operations (no
# fast-math at either level); users and the bench run numba's default. (-O0 would halve
# it, but there numba cannot cache a core that refers to its runtime: no cache to test.)
JOBS ?= 2
TEST_NUMBA_OPT ?= 1

test: $(STAMP)
	$(PY) -m compileall -q srcad transforms tests bench
	NUMBA_OPT=$(TEST_NUMBA_OPT) SRCAD_REQUIRE_DASK=1 SRCAD_REQUIRE_NUMBA=1 \
		$(PY) -m pytest -q -p no:cacheprovider -n $(JOBS) --dist worksteal tests

# the whole suite again with the numba backend as the process default ("auto": numba where
# it compiles, the NumPy backend elsewhere; its fallback warnings are not failures here)
test-numba: $(STAMP)
	$(PY) -m compileall -q srcad transforms tests bench
	NUMBA_OPT=$(TEST_NUMBA_OPT) SRCAD_BACKEND=auto SRCAD_REQUIRE_NUMBA=1 \
		$(PY) -m pytest -q -p no:cacheprovider -n $(JOBS) --dist worksteal \
		-W "ignore:srcad:RuntimeWarning" tests

demo: $(STAMP)
	$(PY) bench/demo.py

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]' || echo "some benchmark peers could not be installed; they will be skipped"
	$(PY) -m pip install -q -e '.[numba]' || echo "numba could not be installed; the hand numba rows will be skipped"
	$(PY) bench/run.py

# first call, warm call, hand-written and retained memory of gradients at n=10^7 (tracemalloc)
bench-memory: $(STAMP)
	$(PY) bench/memory.py

N ?= 10000
SEED ?= 0

# differential fuzzing against finite differences (tests/fuzz): N programs on every core
fuzz: $(STAMP)
	SRCAD_DISK_CACHE=0 $(PY) -m tests.fuzz --n $(N) --seed $(SEED)

lint: $(STAMP)
	$(PY) -m pip install -q ruff
	.venv/bin/ruff check srcad transforms tests bench

clean:
	rm -rf .venv build *.egg-info
