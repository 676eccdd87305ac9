"""The derivative rule tables: data that the passes consume.

A rule is a *template*: a small plain function whose body is inlined into the
generated code with its parameters replaced by the call's operands.

Reverse rule, registered with ``@reverse(target, ...)``::

    @reverse(np.exp)
    def exp(y, g, x):
        return (g * y,)

Parameters: ``y`` is the primal result, ``g`` its cotangent, then the
parameters of the primal callable (names and defaults as the callable spells
them, so a call binds to them like to the callable itself). The return value
is a tuple whose i-th entry is the contribution to the cotangent of the i-th
primal parameter; ``None``, or a missing trailing entry, means the parameter is
not differentiable. The body may assign temporaries before the ``return``;
they get fresh names when inlined. A contribution must already have the shape
of its operand (use ``unbroadcast`` for broadcasting operations).

Forward rule, registered with ``@forward(target, ...)``::

    @forward(np.exp)
    def exp(y, x):
        return (lambda dx: dx * y,)

Parameters: ``y`` then the primal parameters. The i-th entry is a one-argument
lambda mapping the i-th parameter's tangent to its term of the output tangent
(terms of several active operands are summed); ``None`` means not
differentiable. Tangents may carry an extra leading axis (vector mode) when the
rule is registered with ``vector=True``: such a rule must only use operations
that broadcast over a leading axis of the tangent.

``piecewise_constant(why, target, ...)`` declares piecewise-constant functions whose result
carries no derivative (``np.sign``, ``np.zeros``, ``len``...), each with its reason:
the one reviewed list is ``rules/piecewise.py``; ``nondiff(helper, ...)`` marks a
rule module's own helpers (weights, masks, axes). ``method(name, target)`` maps an array
method (``x.sum(...)``) to the function that implements it (``np.sum(x, ...)``).

A template may call kernels (pure NumPy functions in ``srcad.kernels``, imported by its
rule module); they are bound by name into the generated code's namespace.

Everything known about one callable is one frozen record, ``OPS[fn]`` (``Op``): its
templates, its shape function and its flags. The passes read records (``op(fn).reverse``,
``op(fn).out_form``...) and never name a NumPy function. ``rules/templates.py`` builds
the records of common shapes of rule in one line (``scalar_rule``).

``defer(module, ...)`` registers a rule module's rules when they are first needed (see
there): SciPy's import costs more than the rest of srcad's, and a process that never
differentiates a SciPy function should not pay it.
"""
import importlib
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import gast
import numpy as np

from srcad.kernels.broadcast import broadcast_tangent, lift_tangent
from srcad.kernels.broadcast import unbroadcast  # noqa: F401  (the passes name it through here)


class Rule:
    """A template for ``target``: given, or written out by ``writer()`` when first used
    (``rules/templates.py`` writes a one-line rule's templates only for the calls that
    need them)."""
    __slots__ = ("target", "vector", "when", "sequences", "_template", "_writer")

    def __init__(self, target, template=None, vector=False, when=(), writer=None,
                 sequences=False):
        self.target, self.vector, self.when = target, vector, when   # when: ((param, const),)
        self.sequences = sequences      # a forward rule taking a sequence's tangent as a list
        self._template, self._writer = template, writer

    @property
    def template(self):
        if self._template is None:
            self._template = self._writer()
        return self._template

    def __repr__(self):
        return f"Rule({getattr(self.target, '__name__', self.target)!r})"


@dataclass(frozen=True)
class Op:
    """Everything the passes know about one callable (a NumPy or ``math`` function, an
    operator, a builtin, a kernel that generated code calls)."""
    target: object
    reverse: Rule = None       # the reverse template
    forward: Rule = None       # the forward template
    variants: tuple = ()       # reverse templates for known facts of arguments (``when``)
    forward_variants: tuple = ()  # forward templates likewise
    whole: Rule = None         # reverse template of ``target(a)``, other arguments at their
                               # defaults, whose contribution may stay unexpanded (``g`` for sum)
    shape: Callable = None     # shape(argument shapes, keywords) -> the result's abstract
                               # shape (transforms/shapes.py), or None when not known
    elementwise: bool = False  # a kernel acting entry by entry (ufuncs are by their type)
    linear: bool = False       # linear in its differentiable arguments (adjoint: transpose)
    view: bool = False         # the result may share memory with the first argument
    defaults: tuple = ()       # ((keyword, value), ...): a keyword at that value is the
                               # default, left out of generated code (``keepdims=False``)
    nondiff: bool = False      # zero derivative (a piecewise-constant function or kernel)
    effect: bool = False       # run for its effect only (print): its result may be dropped
    checked_only: frozenset = frozenset()  # positions of arguments it only inspects (its
                               # result does not vary with them: no derivative flows through)
    constant: str = None       # why a user-facing function is piecewise constant
    out_form: object = None    # the ufunc computing it with ``out=`` (operator.add -> np.add)
    method_form: tuple = None  # (name, per_entry): ``target(a)`` is ``a.name()`` (/ a.size)
    into: Callable = None      # into(out, *args): the kernel's result written into ``out``
    sum_form: Callable = None  # the reduction ``target(g, x)`` is when the shapes tell which
                               # axes of ``g`` to sum (``unbroadcast`` -> ``np.sum``)
    vector: str = None         # "lift" | "broadcast" | "axis": a forward kernel that only
                               # matters in vector mode (lift(d, x, y), axis(a, d, x) are
                               # d and a outside it)
    index_form: Callable = None  # ``target[a, b]`` is ``index_form((a, b))`` (``np.r_``)
    axes_twin: tuple = None    # (name, keywords, kept name): the numba runtime's
                               # ``_rt.<name>(a, *keywords)`` is ``target(a, axis=...)``
                               # where numba's own takes no axis (see ``axes_twin``)


NO_OP = Op(None)
OPS: dict = {}            # callable -> Op: the one table of what srcad knows per callable

METHODS: dict = {}        # method name -> callable (``x.sum(...)`` is ``np.sum(x, ...)``)
ATTRIBUTES: dict = {}     # attribute name on arrays -> callable of one argument (``x.T``)
SCALAR = ("scalar",)      # the abstract shape of a number (transforms/shapes.py)


def op(target):
    """The record of ``target`` (``NO_OP``, whose every field is empty, when it has none)."""
    try:
        found = OPS.get(target)
    except TypeError:   # unhashable callable
        return NO_OP
    if _DEFERRED and (found is None or id(target) in _TRIGGERS):
        load_deferred(target)       # (another thread may be importing it: looked up again)
        found = OPS.get(target)
    return NO_OP if found is None else found


_DEFERRED = []              # [(rule module, trigger modules, trigger callables)]
_TRIGGERS = set()           # ids of the trigger callables (which may have records already)
_DEFERRED_LOCK = threading.RLock()
_LOADING = threading.local()   # .depth > 0: this thread imports a deferred module, whose
                               # records bump no version (another thread's rules still do)
_EVERY = object()


def defer(module, modules=(), targets=()):
    """Import the rule module ``module`` (registering its rules) when first needed: when a
    lookup misses while one of ``modules`` is imported (the user can only hold a callable
    of those modules then), when the callable missed is one of ``targets``, and before
    anything lists every rule (``REVERSE``...). Its records are new ones for callables
    nothing has looked up yet, so loading them changes no compiled code: no version bump."""
    _DEFERRED.append((module, tuple(modules), tuple(targets)))
    _TRIGGERS.update(id(t) for t in targets)


def load_deferred(target=_EVERY):
    """Import the deferred rule modules ``target`` may need (all of them by default);
    True when one was imported."""
    with _DEFERRED_LOCK:
        due = [d for d in _DEFERRED if target is _EVERY or any(m in sys.modules for m in d[1])
               or any(target is t for t in d[2])]
        for entry in due:       # listed until imported: another thread waits for it
            _LOADING.depth = getattr(_LOADING, "depth", 0) + 1
            try:
                importlib.import_module(entry[0])
            finally:
                _LOADING.depth -= 1
            if entry in _DEFERRED:
                _DEFERRED.remove(entry)
    return bool(due)


def _set(targets, **fields):
    for target in targets:
        OPS[target] = replace(OPS.get(target) or Op(target), **fields)
    if not getattr(_LOADING, "depth", 0):
        VERSION.bump()


class _Column(Mapping):
    """A read-only view of one field of every op record: ``REVERSE[np.exp]`` is
    ``OPS[np.exp].reverse``."""

    def __init__(self, name):
        self.name = name

    def __getitem__(self, target):
        value = getattr(op(target), self.name)
        if value is None or value == ():
            raise KeyError(target)
        return value

    def __iter__(self):
        if _DEFERRED:
            load_deferred()
        return iter([t for t, o in list(OPS.items()) if getattr(o, self.name) not in (None, ())])

    def __len__(self):
        return sum(1 for _ in self)


REVERSE = _Column("reverse")
FORWARD = _Column("forward")
VARIANTS = _Column("variants")
CONSTANT_WHY = _Column("constant")


class _Table(dict):
    """A rule table whose every change invalidates what was compiled against it."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        VERSION.bump()

    def __delitem__(self, key):
        super().__delitem__(key)
        VERSION.bump()

    def pop(self, *args):
        out = super().pop(*args)
        VERSION.bump()
        return out

    def clear(self):
        super().clear()
        VERSION.bump()

    def update(self, *args, **kwargs):
        super().update(*args, **kwargs)
        VERSION.bump()


CUSTOM_REVERSE: dict = _Table()  # user callable -> rule(*args) -> (value, back)   (@srcad.adjoint)
CUSTOM_FORWARD: dict = _Table()  # user callable -> rule(args, tangents) -> (value, tangent)
SPECIAL: dict = {}        # runtime function -> kind ("hook", "checkpoint", ...), set by srcad
DERIVATIVE_MAKERS: dict = {}  # srcad.grad, Differentiable.grad -> what makes, at transform
                             # time, the derivative function a call of it in user code builds
INACTIVE_ATTRIBUTES = frozenset({"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"})
# srcad's own helpers
RUNTIME_MODULES = frozenset({"srcad.runtime", "srcad.pullbacks", "srcad.seeds"})


@dataclass
class _Version:
    number: int = 0
    listeners: list = field(default_factory=list)

    def bump(self):
        self.number += 1
        for listener in list(self.listeners):
            listener()


VERSION = _Version()


@dataclass
class _Host:
    """What the layer above the compiler provides, registered by srcad when it is imported:
    the module of helpers that generated code calls as ``_rt.<name>`` (its ``Workspace``
    holds the buffer plan's arrays, ``not_shared``/``not_shared_item`` are the alias guards),
    and ``unparse``, the source of a tree as generated code spells it (the passes' dumps)."""
    runtime: object = None
    unparse: object = None


HOST = _Host()


@dataclass(frozen=True)
class Fact:
    """What a variant rule needs to know of one argument (``reverse(..., when=...)``):
    ``rank``, an array of that many axes (the shapes pass says so), or ``number``, a
    constant number (not a bool) that ``number(value)`` accepts."""
    rank: int = None
    number: Callable = None


def rank(n):
    """The fact "an array of ``n`` axes" (``when={"a": rank(2)}``)."""
    return Fact(rank=n)


def constant_number(test):
    """The fact "a constant number that ``test`` accepts" (``when={"b": constant_number(...)}``)."""
    return Fact(number=test)


def reverse(*targets, when=None):
    """Register a reverse rule; with ``when={"b": 2}`` it is a variant used instead of the
    general rule when the call passes exactly that constant for parameter ``b``, and with
    ``when={"a": rank(2)}`` when it knows that fact of ``a`` (``Fact``). Variants are tried
    in the order they were registered."""
    def register(template):
        for target in targets:
            if when:
                variant = Rule(target, template, when=tuple(when.items()))
                _set([target], variants=op(target).variants + (variant,))
            else:
                _set([target], reverse=Rule(target, template))
        return template
    return register


def forward(*targets, vector=True, when=None, sequences=False):
    """Register a forward rule (with ``when``, a variant: see ``reverse``). ``sequences``:
    the rule takes the tangent of a tuple or list argument as a list of tangents, one per
    item (``stack``); other rules read it as one array, which vector mode refuses."""
    def register(template):
        for target in targets:
            if when:
                variant = Rule(target, template, vector, when=tuple(when.items()),
                               sequences=sequences)
                _set([target], forward_variants=op(target).forward_variants + (variant,))
            else:
                _set([target], forward=Rule(target, template, vector, sequences=sequences))
        return template
    return register


def written(targets, reverse_writer, forward_writer):
    """Register both modes of ``targets`` whose templates ``*_writer()`` write when used."""
    for target in targets:
        _set([target], reverse=Rule(target, writer=reverse_writer),
             forward=Rule(target, vector=True, writer=forward_writer))


def reverse_whole(*targets):
    """Register a rule for ``target(a)`` with every other argument at its default, whose
    contribution may be returned unexpanded (e.g. ``g`` for ``sum``): the machinery uses it
    only when the operand's own adjoint turns a broadcast cotangent into a full one."""
    def register(template):
        for target in targets:
            _set([target], whole=Rule(target, template))
        return template
    return register


def method_form(target, name, per_entry=False):
    """Declare that ``target(a)`` (other arguments at defaults) equals ``a.name()``
    (divided by ``a.size`` when ``per_entry``: ``np.mean(a)`` is ``a.sum() / a.size``)."""
    _set([target], method_form=(name, per_entry))


def axes_twin(targets, name, keywords=("axis",), kept=None):
    """Declare that the numba runtime's ``name(a, *keywords)`` computes ``target(a,
    axis=..., ...)`` for each of ``targets`` (the keywords in this order, ``TWIN_DEFAULTS``
    where the call leaves one out), and ``kept(a, *keywords)`` the same with a literal
    ``keepdims=True``: numba's own take none of these keywords (a reduction's ``axis``
    and ``keepdims``, ``reshape``'s ``order``)."""
    _set(targets, axes_twin=(name, tuple(keywords), kept))


TWIN_DEFAULTS = {"axis": None, "ddof": 0, "order": "C"}


def into_form(helper, into):
    """Declare ``into(out, *args)``: ``helper(*args)`` written into ``out`` when given."""
    _set([helper], into=into)


def sum_form(helper, reduction):
    """Declare that ``helper(g, x)`` is ``reduction(g, axis=..., keepdims=...)`` over axes the
    shapes pass knows (``reduction(g)`` over all of them for a number ``x``)."""
    _set([helper], sum_form=reduction)


def out_form(target, ufunc):
    """Declare the ufunc that computes ``target`` and accepts ``out=``."""
    _set([target], out_form=ufunc)


def elementwise(*helpers):
    """Mark kernels as elementwise (their result has the shape of their array arguments)."""
    _set(helpers, elementwise=True)


def mark_linear(*targets):
    """Mark functions linear in their differentiable arguments (``templates.linear``)."""
    _set(targets, linear=True)


def shape(function, *targets):
    """Declare the result shape of ``targets``: ``function(argument shapes, keywords,
    name)``, ``name`` the local the result is bound to (an array whose shape is its own
    has the symbol ``"?" + name``, see ``transforms/shapes.py``)."""
    _set(targets, shape=function)


def scalar_result(args, keywords, name=None):
    """The shape function of a function whose result is always a number (``math.exp``)."""
    return SCALAR


def _constant_axes(node, rank):
    """The axes (in ``range(rank)``) a literal ``axis=`` names, or None."""
    parts = node.elts if isinstance(node, gast.Tuple) else [node]
    axes = [p.value for p in parts if isinstance(p, gast.Constant)
            and type(p.value) is int and -rank <= p.value < rank]
    if len(axes) != len(parts):
        return None
    axes = {a % rank for a in axes}
    return axes if len(axes) == len(parts) else None


def scalar_when_whole(args, keywords, name=None):
    """The shape function of a reduction: a number when it reduces its one argument whole;
    along literal axes of an array of known rank, an array of its own shape keeping the
    other axes' lengths (``keepdims=True``: length 1 on the reduced ones)."""

    if len(args) != 1:
        return None
    if not keywords:
        return SCALAR
    keys = {k.arg: k.value for k in keywords}
    a = args[0]
    if name is None or not set(keys) <= {"axis", "keepdims"} or "axis" not in keys \
            or a is None or a == SCALAR or a[0] != "array":
        return None
    kept = keys.get("keepdims")
    if kept is not None and not (isinstance(kept, gast.Constant) and type(kept.value) is bool):
        return None
    rank = a[2]
    axes = _constant_axes(keys["axis"], rank)
    if axes is None:
        return None
    lengths = a[3] if len(a) > 3 else (None,) * rank
    if kept is not None and kept.value:
        return ("array", "?" + name, rank, tuple(1 if i in axes else n
                                                 for i, n in enumerate(lengths)))
    out = tuple(n for i, n in enumerate(lengths) if i not in axes)
    return ("array", "?" + name, len(out), out) if out else SCALAR


def nondiff(*targets):
    _set(targets, nondiff=True)


def checked_only(target, *positions):
    """``target``'s result does not vary with the arguments at ``positions`` (it only
    inspects them, e.g. to raise an error): they do not make the result active."""
    _set([target], checked_only=frozenset(positions))


def piecewise_constant(why, *targets):
    """Declare functions piecewise constant (see ``rules/piecewise.py``), with the reason."""
    _set(targets, constant=why, nondiff=True)


def spelled_defaults(*targets, **keywords):
    """Declare keyword values that mean the default of ``targets``: generated code leaves
    them out (``np.sum(t_dot)``, not ``np.sum(t_dot, axis=None, keepdims=False)``)."""
    _set(targets, defaults=tuple(keywords.items()))


def index_form(obj, helper):
    """Declare that ``obj[a, b, ...]`` (no slices, no strings) is ``helper((a, b, ...))``."""
    _set([obj], index_form=helper)


def method(name, target):
    METHODS[name] = target
    VERSION.bump()


def attribute(name, target):
    ATTRIBUTES[name] = target
    VERSION.bump()


def view(*targets):
    """Declare functions whose result may be a view of their first argument."""
    _set(targets, view=True)


def is_elementwise(fn):
    """A NumPy ufunc (not a generalized one such as np.matmul), or a kernel marked
    elementwise."""
    if isinstance(fn, np.ufunc):
        return fn.signature is None
    return op(fn).elementwise


def effect(*targets):
    """Declare callables run for their effect only, never changing their arguments (print, a
    logger's methods): a dropped result on values that carry derivatives is fine."""
    _set(targets, effect=True)


def is_effect(fn):
    """Is ``fn`` (or the function of the bound method ``fn``) run for its effect only?"""
    return op(getattr(fn, "__func__", fn)).effect


def is_nondiff(target):
    return op(target).nondiff


def vector_helper(kind, *helpers):
    """Mark forward kernels that only matter in vector mode (see ``Op.vector``)."""
    _set(helpers, vector=kind)


def hashable(obj):
    """Can ``obj`` key the rule tables (callables are looked up by identity and hash)?"""
    try:
        hash(obj)
        return True
    except TypeError:
        return False


vector_helper("lift", lift_tangent)
vector_helper("broadcast", broadcast_tangent)
