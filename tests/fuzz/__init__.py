"""Differential fuzzing of srcad: random programs against finite differences.

    generate.py   a seeded generator of Python/NumPy programs from the grammar srcad supports
    shapes.py     symbolic shapes (dimensions ``a*N + b``) the generator reasons with
    oracle.py     Richardson-extrapolated central differences and the per-mode checks
    run.py        one program through every mode -> per mode: ok / refused / WRONG / CRASH
    campaign.py   many programs on several processes, counted, failures shrunk
    shrink.py     a failing program reduced to a minimal one, printed as a pytest test
    __main__.py   ``python -m tests.fuzz --n 10000 --seed S``: the long profile on all cores

The quick profile runs in ``make test`` (test_fuzz_quick.py).
"""
