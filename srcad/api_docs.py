"""The user documentation of ``srcad.api``: its public functions and the methods of
``Differentiable``, attached to them at import so that ``help(srcad.grad)`` and
``help(f.grad)`` show it. (``srcad/api.py`` holds the code and is over 600 lines;
``docs/API.md`` is the contract these texts follow.)
"""

DOCS = {}

DOCS["differentiate"] = """Make ``fn`` a ``Differentiable``: the function plus its derivatives.

    Used as a decorator, bare or with options. Calling the result calls ``fn``
    unchanged; its methods (``grad``, ``value_and_grad``, ``pullback``, ``jvp``,
    ``jacobian``, ``hessian``, ``hvp``, ``source``) compile a derivative per
    argument signature on first use and reuse it.

    Args:
        fn: a Python function written with ``def`` (its source must be readable).
        wrt: the parameters to differentiate with respect to: a name or a position,
            or a tuple of them. Default: the first parameter.
        backend: ``"numpy"`` (generated NumPy code), ``"numba"`` (first derivatives,
            ``hvp`` and ``hessian`` compiled with ``numba.njit``; raises
            ``TransformError`` at the user's line where numba cannot compile) or
            ``"auto"`` (numba where it compiles, else NumPy, with one warning).
            Default: ``SRCAD_BACKEND``, else ``"numpy"``. ``"numba"`` without numba
            installed raises ImportError naming ``pip install srcad[numba]``.
        has_aux: ``fn`` returns ``(value, aux)``; ``grad`` then returns
            ``(gradient, aux)`` and ``aux`` is not differentiated.
        parallel: with the numba backend, the elementwise loops it writes (a chain
            of ufuncs and the sum ending it, outside loops) run on all cores, each a
            ``numba.njit(parallel=True)`` kernel; ValueError with the NumPy backend.

    Returns:
        A ``Differentiable`` (or, with ``fn`` omitted, a decorator making one).

    Raises:
        TypeError: ``fn`` is not a function, or ``wrt`` names an integer or unknown
            parameter (on the first call).
        TransformError: on the first derivative call, for code srcad cannot
            differentiate, located at the user's line.

    Example::

        @srcad.differentiate(wrt=("w", "b"))
        def loss(w, b, X, y):
            return np.mean((X @ w + b - y) ** 2)

        gw, gb = loss.grad(w, b, X, y)
    """

DOCS["grad"] = """The gradient function of a scalar-valued ``fn``.

    Args:
        fn: a function (or ``Differentiable``) returning a real scalar.
        wrt: the parameter(s) to differentiate with respect to: a position or a name,
            or a tuple of them (default 0, the first).
        has_aux: ``fn`` returns ``(value, aux)``; the gradient function returns
            ``(gradient, aux)``.
        backend: None (``SRCAD_BACKEND``, else ``"numpy"``), ``"numpy"``, ``"numba"``
            or ``"auto"``: see ``srcad.differentiate``.

    Returns:
        A function ``g(*args, out=None, **kwargs)`` returning the gradient: one value
        shaped like its argument when ``wrt`` names one argument, else a tuple in
        ``wrt`` order. A float argument gets a float, an array an array of its shape
        and dtype, a tuple/list/dict/dataclass a value of the same structure. With
        ``out`` (an array, or a tuple of them per ``wrt`` argument) the gradient is
        written into it and ``out`` itself is returned. ``g`` can be differentiated
        again (``srcad.grad(srcad.grad(f))``).

    Raises:
        ValueError: ``fn`` returned something other than a real scalar.
        TypeError: ``wrt`` names an integer or bool argument.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        def energy(x):
            return np.sum(np.sin(x) ** 2)

        srcad.grad(energy)(np.linspace(0.0, 1.0, 5))    # 2 sin(x) cos(x)
    """

DOCS["value_and_grad"] = """Like ``grad``, but the function returns ``(value, gradient)``.

    Args:
        fn, wrt, has_aux, backend: as for ``srcad.grad``.

    Returns:
        A function ``vg(*args, out=None, **kwargs)`` returning ``(value, gradient)``
        from one forward and one reverse sweep; with ``has_aux`` it returns
        ``((value, aux), gradient)``.

    Raises:
        ValueError, TypeError, TransformError: as for ``srcad.grad``.

    Example::

        value, g = srcad.value_and_grad(energy)(x)
    """

DOCS["pullback"] = """The value of ``fn(*args)`` and its pullback (vector-Jacobian product).

    Args:
        fn: any function of array or structured arguments; its output may be an
            array or a tuple.
        *args: the point.
        wrt: the parameter(s) to differentiate with respect to (default 0).

    Returns:
        ``(value, back)``: ``back(cotangent)`` returns a tuple with one entry per
        ``wrt`` argument, ``cotangent`` having the structure of ``value``.

    Raises:
        ValueError: a cotangent whose structure or shape does not match ``value``.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        y, back = srcad.pullback(model, x)
        (x_bar,) = back(np.ones_like(y))
    """

DOCS["jvp"] = """The value of ``fn(*args)`` and its Jacobian-vector product (forward mode).

    Args:
        fn: the function.
        args: the full argument tuple.
        tangents: a tuple with one tangent per ``wrt`` argument (shaped like it).
        wrt: the parameter(s) the tangents belong to (default 0).

    Returns:
        ``(value, tangent_out)``, ``tangent_out`` having the structure of ``value``.

    Raises:
        TypeError: ``args`` or ``tangents`` is not a tuple.
        ValueError: a tangent whose shape does not match its argument.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        y, y_dot = srcad.jvp(model, (x,), (np.ones_like(x),))
    """

DOCS["jacobian"] = """The Jacobian function of ``fn``.

    Args:
        fn: the function.
        wrt: the parameter(s) (default 0).
        mode: ``"auto"`` (forward mode when the inputs are fewer than the outputs),
            ``"forward"`` or ``"reverse"``.

    Returns:
        A function returning the Jacobian, shaped ``out.shape + in.shape`` (a tuple
        of them, one per ``wrt`` argument, for several).

    Raises:
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        J = srcad.jacobian(residuals)(params)          # J[i, j] = d r_i / d p_j
    """

DOCS["hessian"] = """The Hessian function of a scalar-valued ``fn``.

    Args:
        fn: the function (returning a real scalar).
        wrt: the parameter (default 0).

    Returns:
        A function returning the Hessian, shaped ``in.shape + in.shape``.

    Raises:
        ValueError: ``fn`` returned something other than a real scalar.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        H = srcad.hessian(energy)(x)                   # (n, n) for x of shape (n,)
    """

DOCS["hvp"] = """The Hessian-vector product of a scalar ``fn`` at ``args`` along ``v``.

    One forward-over-reverse pass: the Hessian is never formed.

    Args:
        fn: the function (returning a real scalar).
        args: the full argument tuple.
        v: the direction: shaped like the ``wrt`` argument (a tuple of them for
            several ``wrt`` arguments).
        wrt: the parameter(s) (default 0).

    Returns:
        ``H @ v``, shaped like ``v``.

    Raises:
        TypeError: ``args`` is not a tuple.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        Hv = srcad.hvp(energy, (x,), np.ones_like(x))
    """

DOCS["derivative"] = """The derivative function of a function of one scalar (forward mode).

    Args:
        fn: a function of one scalar (further arguments are held constant); its
            value may be a scalar or an array.

    Returns:
        A function ``d(x, *rest)`` returning d fn / dx, shaped like the value.

    Raises:
        ValueError: ``x`` is not a scalar (use ``jacobian``).

    Example::

        velocity = srcad.derivative(curve)(0.5)        # def curve(t): ... of a float
    """

DOCS["source"] = """The generated Python source of a derivative of ``fn``.

    Args:
        fn: the function.
        *args: example arguments: the source is that of their signature.
        kind: ``"grad"`` (reverse mode), ``"pullback"`` or ``"jvp"`` (forward mode).
        wrt: the parameter(s) (default 0).
        standalone: return a complete module that runs on its own instead: imports
            (NumPy, srcad's runtime helpers and the user's helpers by name),
            constants as literals, and ``<fn>_grad(*args)`` returning what
            ``grad(fn)(*args)`` returns (``<fn>_pullback`` for "pullback"; the
            generated ``<fn>_jvp`` for "jvp").

    Returns:
        The source text (each block of it commented with the user's ``file:line``).

    Raises:
        ValueError: an unknown ``kind``; with ``standalone``, an object the code uses
            that has neither an importable name nor a literal form.

    Example::

        print(srcad.source(energy, x))
        open("energy_grad.py", "w").write(srcad.source(energy, x, standalone=True))
    """

DOCS["clear_cache"] = """Drop every compiled derivative, in memory and on disk.

    The next derivative call of any function transforms it again. Entries on disk
    are those in ``SRCAD_CACHE_DIR`` (default ``~/.cache/srcad``) with srcad's own
    file names; nothing else there is touched.

    Returns:
        None.

    Example::

        srcad.clear_cache()
    """

DOCS["stats"] = """Counters of this process: transforms run, memory-cache and disk-cache hits.

    Returns:
        A dict ``{"transforms": int, "memory_hits": int, "disk_hits": int}`` (a copy).

    Example::

        before = srcad.stats()["transforms"]
        f.grad(x)
        assert srcad.stats()["transforms"] == before + 1      # first call only
    """

DOCS["Differentiable"] = """A function with its derivatives (made by ``@srcad.differentiate``).

    Calling it calls the original function unchanged. Each derivative method
    compiles generated code once per argument signature (dtype, number of
    dimensions, structure; not shapes), keeps it in memory and on disk, and calls
    it directly afterwards. Rebinding the function, a helper it inlined or a global
    it read recompiles. ``wrt``, ``params`` and ``fn`` are its parameters to
    differentiate, all its parameters and the original function.

    Example::

        @srcad.differentiate
        def f(x):
            return np.sum(np.exp(x) ** 2)

        f(x), f.grad(x), f.signatures
    """

DOCS["Differentiable.grad"] = """The gradient at ``args`` with respect to the ``wrt`` arguments.

    Args:
        *args, **kwargs: the function's arguments (defaults apply).
        out: a preallocated array (or tuple of them, one per ``wrt`` argument, or a
            structure of arrays) to write the gradient into; it is returned.

    Returns:
        One value shaped like its argument with one ``wrt`` argument, else a tuple
        in ``wrt`` order; ``(gradient, aux)`` with ``has_aux``.

    Raises:
        ValueError: the function returned something other than a real scalar, or
            ``out`` does not fit.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        g = f.grad(x)
        f.grad(x, out=buffer)      # no allocation after the first call
    """

DOCS["Differentiable.value_and_grad"] = """``(value, gradient)`` at ``args``.

    Args:
        *args, **kwargs, out: as for ``grad``.

    Returns:
        ``(value, gradient)``; ``((value, aux), gradient)`` with ``has_aux``.

    Raises:
        ValueError, TransformError: as for ``grad``.

    Example::

        value, g = f.value_and_grad(x)
    """

DOCS["Differentiable.pullback"] = """``(value, back)`` at ``args``: a vector-Jacobian product.

    Args:
        *args, **kwargs: the function's arguments.

    Returns:
        ``(value, back)``; ``back(cotangent)`` returns a tuple with one gradient per
        ``wrt`` argument. ``value`` may be an array or a tuple.

    Raises:
        ValueError: a cotangent that does not match ``value``.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        y, back = f.pullback(x)
        (x_bar,) = back(np.ones_like(y))
    """

DOCS["Differentiable.jvp"] = """``(value, tangent_out)``: a Jacobian-vector product (forward mode).

    Args:
        args: the full argument tuple.
        tangents: one tangent per ``wrt`` argument, in a tuple.

    Returns:
        ``(value, tangent_out)``, ``tangent_out`` shaped like ``value``.

    Raises:
        TypeError: ``args`` is not a tuple.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        y, y_dot = f.jvp((x,), (v,))
    """

DOCS["Differentiable.jacobian"] = """The Jacobian at ``args``.

    Args:
        *args, **kwargs: the function's arguments.
        mode: ``"auto"`` (forward when the inputs are fewer than the outputs),
            ``"forward"`` or ``"reverse"``.

    Returns:
        Shaped ``out.shape + in.shape``; a tuple of them for several ``wrt``
        arguments. ``last_jacobian_mode`` then says which mode ran.

    Raises:
        ValueError: an unknown mode.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        J = f.jacobian(x, mode="reverse")
    """

DOCS["Differentiable.hessian"] = """The Hessian at ``args`` of a scalar function.

    Args:
        *args, **kwargs: the function's arguments.

    Returns:
        Shaped ``in.shape + in.shape``.

    Raises:
        ValueError: the function returned something other than a real scalar.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        H = f.hessian(x)
    """

DOCS["Differentiable.hvp"] = """The Hessian-vector product at ``args`` along ``v``.

    Args:
        args: the full argument tuple.
        v: the direction, shaped like the ``wrt`` argument (a tuple for several).

    Returns:
        ``H @ v`` shaped like ``v`` (a tuple for several ``wrt`` arguments).

    Raises:
        TypeError: ``args`` is not a tuple.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        Hv = f.hvp((x,), v)
    """

DOCS["Differentiable.source"] = """The generated source of one derivative, for reading or saving.

    Args:
        kind: ``"grad"`` (reverse mode), ``"pullback"`` or ``"jvp"``. A first
            argument that is not a string is taken as an argument, kind "grad".
        *args: example arguments: the source for their signature (the last
            compiled signature of that kind when omitted).
        backend: None (the function's backend) or another one: the source of the
            same function compiled for it. For ``"numba"`` it is the module numba
            compiles: the ``@_njit`` core and the Python entry calling it.
        standalone: a complete module that runs on its own (see
            ``srcad.source``): imports, constants as literals and
            ``<fn>_grad(*args)`` returning what ``grad(*args)`` returns.

    Returns:
        The source text.

    Raises:
        ValueError: an unknown kind, no compiled signature yet and no arguments, or
            (standalone) an object with no importable name and no literal form.

    Example::

        print(f.source("grad", x))
        open("f_grad.py", "w").write(f.source("grad", x, standalone=True))
    """

DOCS["Differentiable.compiled"] = """The compiled generated function itself for ``args``' signature.

    Args:
        kind: ``"grad"``/``"pullback"`` (called as ``fn(*args, seed, out)``,
            returning ``(value, gradients)``) or ``"jvp"`` (``fn(*args, *tangents)``).
        *args: example arguments.

    Returns:
        The function that the derivative methods call.

    Raises:
        ValueError: an unknown kind.

    Example::

        vjp = f.compiled("grad", x)
        value, (g,) = vjp(x, 1.0, None)
    """

DOCS["Differentiable.signatures"] = """The compiled ``(kind, signature)`` pairs, readable.

    Returns:
        A list such as ``[("vjp", "(float64[1d])")]``.

    Example::

        f.grad(x); f.signatures
    """

DOCS["Differentiable.base_fn"] = """The user's function under a derivative of a derivative.

    Returns:
        ``fn`` itself, or for ``grad(grad(f))``, ``f``.

    Example::

        srcad.differentiate(srcad.grad(f)).base_fn is f
    """


def attach():
    """Set the ``__doc__`` of each documented object of ``srcad.api``, and of the methods
    of ``Bound`` (a method of a class: the same methods, ``self`` bound)."""
    from srcad import api, bound
    namespace = dict(vars(api), Bound=bound.Bound)
    for name, text in DOCS.items():
        head, _, attr = name.partition(".")
        owners = [namespace[head]] + ([bound.Bound] if head == "Differentiable" else [])
        for obj in owners:
            member = obj.__dict__.get(attr) if attr else obj
            if isinstance(member, property):
                setattr(obj, attr, property(member.fget, member.fset, member.fdel, doc=text))
            elif member is not None:
                member.__doc__ = text
