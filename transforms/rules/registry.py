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

``constant(why, target, ...)`` declares piecewise-constant functions whose result
carries no derivative (``np.sign``, ``np.zeros``, ``len``...), each with its reason:
the one reviewed list is ``rules/piecewise.py``; ``nondiff(helper, ...)`` marks a
rule module's own helpers (weights, masks, axes). ``method(name, target)`` maps an array
method (``x.sum(...)``) to the function that implements it (``np.sum(x, ...)``).

A template may call plain helper functions defined in its rule module (pure
NumPy); they are bound by name into the generated code's namespace.
"""
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Rule:
    target: object
    template: Callable
    vector: bool = False
    when: tuple = ()          # ((parameter, constant), ...) for a variant rule


REVERSE: dict = {}        # callable -> Rule
FORWARD: dict = {}        # callable -> Rule
VARIANTS: dict = {}       # callable -> [Rule with `when`]: reverse rules for constant arguments
REVERSE_WHOLE: dict = {}  # callable -> Rule for a whole-array reduction whose cotangent may
                          # stay unexpanded (a value that broadcasts against the operand)
VECTOR_HELPERS: dict = {}  # helper -> "lift" | "broadcast" | "axis": forward-rule helpers
                           # that only matter in vector mode (or when shapes differ):
                           # lift(d, x, y) and axis(a, d, x) are d and a outside vector mode
VIEWS: set = set()         # functions whose result may share memory with their first argument
VIEW_METHODS = frozenset({"T", "reshape", "ravel", "transpose", "squeeze", "view", "swapaxes",
                          "real", "imag", "flat"})
METHOD_FORMS: dict = {}   # whole-array reduction -> the array method computing it faster
                          # (np.sum(a) -> a.sum()), used by the buffer plan
INTO_FORMS: dict = {}      # helper -> helper_into(out, *args): the helper's result written
                           # into ``out`` (or a new array when out is None); buffer plan
OUT_FORMS: dict = {}      # operator -> the ufunc computing it with out= (operator.add -> np.add)
ELEMENTWISE: set = set()  # rule helpers that act elementwise (their result has the shape of
                          # their array arguments)
NONDIFF: set = set()      # callables (by id-stable objects) with zero derivative
CHECKED_ONLY: dict = {}   # callable -> positions of arguments it only inspects (its result
                          # does not vary with them: no derivative flows through them)
CONSTANT_WHY: dict = {}   # user-facing piecewise-constant function -> why (rules/piecewise.py)
METHODS: dict = {}        # method name -> callable
INDEX_FORMS: dict = {}    # object -> helper: ``obj[a, b]`` is ``helper((a, b))`` (``np.r_``)
ATTRIBUTES: dict = {}     # attribute name on arrays -> callable of one argument (``x.T``)
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
EFFECTS: set = set()      # callables run for their effect only, never changing their arguments
                          # (print, a logger's methods): a dropped result on active values is
                          # fine
DERIVATIVE_MAKERS: dict = {}  # srcad.grad, Differentiable.grad -> what makes, at transform
                             # time, the derivative function a call of it in user code builds
INACTIVE_ATTRIBUTES = frozenset({"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"})
RUNTIME_MODULES = frozenset({"srcad.runtime", "srcad.pullbacks", "srcad.seeds"})  # srcad's own helpers



@dataclass
class _Version:
    number: int = 0
    listeners: list = field(default_factory=list)

    def bump(self):
        self.number += 1
        for listener in list(self.listeners):
            listener()


VERSION = _Version()


def _key(target):
    return target


def reverse(*targets, when=None):
    """Register a reverse rule; with ``when={"b": 2}`` it is a variant used instead of the
    general rule when the call passes exactly that constant for parameter ``b``."""
    def register(template):
        for target in targets:
            if when:
                VARIANTS.setdefault(_key(target), []).append(
                    Rule(target, template, when=tuple(when.items())))
            else:
                REVERSE[_key(target)] = Rule(target, template)
        VERSION.bump()
        return template
    return register


def forward(*targets, vector=True):
    def register(template):
        for target in targets:
            FORWARD[_key(target)] = Rule(target, template, vector)
        VERSION.bump()
        return template
    return register


def reverse_whole(*targets):
    """Register a rule for ``target(a)`` with every other argument at its default, whose
    contribution may be returned unexpanded (e.g. ``g`` for ``sum``): the machinery uses it
    only when the operand's own adjoint turns a broadcast cotangent into a full one."""
    def register(template):
        for target in targets:
            REVERSE_WHOLE[_key(target)] = Rule(target, template)
        VERSION.bump()
        return template
    return register


def method_form(target, name, per_entry=False):
    """Declare that ``target(a)`` (other arguments at defaults) equals ``a.name()``
    (divided by ``a.size`` when ``per_entry``: ``np.mean(a)`` is ``a.sum() / a.size``)."""
    METHOD_FORMS[target] = (name, per_entry)
    VERSION.bump()


def into_form(helper, into):
    """Declare ``into(out, *args)``: ``helper(*args)`` written into ``out`` when given."""
    INTO_FORMS[helper] = into
    VERSION.bump()


def unbroadcast_into(out, g, x):
    """``unbroadcast(g, x)`` written into ``out`` when ``out`` is shaped like ``x``, else
    a new value (``x`` may be a value that the argument's gradient broadcasts from)."""
    if out is None or fast_shape(x) != out.shape:
        return unbroadcast(g, x)
    gshape = fast_shape(g)
    extra = len(gshape) - out.ndim
    if extra > 0 and gshape[extra:] == out.shape:      # only leading axes were broadcast
        np.add.reduce(g, axis=tuple(range(extra)), out=out)
    else:
        np.copyto(out, unbroadcast(g, x))
    return out


def out_form(target, ufunc):
    """Declare the ufunc that computes ``target`` and accepts ``out=``."""
    OUT_FORMS[target] = ufunc
    VERSION.bump()


def elementwise(helper):
    """Mark a rule helper as elementwise (see ELEMENTWISE)."""
    ELEMENTWISE.add(helper)
    return helper


def nondiff(*targets):
    for target in targets:
        NONDIFF.add(_key(target))
    VERSION.bump()


def checked_only(target, *positions):
    """``target``'s result does not vary with the arguments at ``positions`` (it only
    inspects them, e.g. to raise an error): they do not make the result active."""
    CHECKED_ONLY[_key(target)] = frozenset(positions)
    VERSION.bump()


def constant(why, *targets):
    """Declare functions piecewise constant (see ``rules/piecewise.py``), with the reason."""
    for target in targets:
        CONSTANT_WHY[_key(target)] = why
    nondiff(*targets)


def index_form(obj, helper):
    """Declare that ``obj[a, b, ...]`` (no slices, no strings) is ``helper((a, b, ...))``."""
    INDEX_FORMS[obj] = helper
    VERSION.bump()


def method(name, target):
    METHODS[name] = target
    VERSION.bump()


def attribute(name, target):
    ATTRIBUTES[name] = target
    VERSION.bump()


def lookup(table, target):
    try:
        return table.get(_key(target))
    except TypeError:   # unhashable callable
        return None


def view(*targets):
    """Declare functions whose result may be a view of their first argument."""
    VIEWS.update(targets)
    VERSION.bump()


def is_view(fn):
    try:
        return fn in VIEWS
    except TypeError:
        return False


def is_elementwise(fn):
    """A NumPy ufunc (not a generalized one such as np.matmul), or a rule helper marked
    elementwise."""
    if isinstance(fn, np.ufunc):
        return fn.signature is None
    try:
        return fn in ELEMENTWISE
    except TypeError:
        return False


def is_effect(fn):
    """Is ``fn`` (or the function of the bound method ``fn``) run for its effect only?"""
    fn = getattr(fn, "__func__", fn)
    try:
        return fn in EFFECTS
    except TypeError:
        return False


def is_nondiff(target):
    try:
        return _key(target) in NONDIFF
    except TypeError:
        return False


def template_signature(rule, leading):
    """The primal parameters of a template (dropping its ``leading`` ones)."""
    sig = inspect.signature(rule.template)
    params = list(sig.parameters.values())[leading:]
    return sig.replace(parameters=params)


# Helpers shared by many rules; rule modules import them from here.

def unbroadcast(g, x):
    """Sum the cotangent ``g`` down to the shape of operand ``x``."""
    if type(g) is np.ndarray and type(x) is np.ndarray and g.shape == x.shape:
        return g                            # nothing was broadcast: the common case
    if type(g) is float and g == 0.0:
        return g                            # a zero cotangent stays zero
    if isinstance(x, (float, int, complex)) and not isinstance(x, bool):
        if isinstance(g, (float, int)):
            return g
        return g.sum().item() if g.ndim else g.item()
    shape = x.shape if hasattr(x, "shape") else \
        np.shape(x) if isinstance(x, (list, tuple)) else ()     # a list operand: array_like
    gshape = g.shape if hasattr(g, "shape") else ()
    if gshape == shape:
        return g
    extra = len(gshape) - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
        gshape = g.shape
    elif extra < 0:                         # g stands for its broadcast to x's rank
        gshape = (1,) * -extra + gshape
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and gshape[i] != 1)
    if axes:
        g = np.reshape(g, gshape)
        g = g.sum(axis=axes, keepdims=True)
    if not shape:
        return g[()] if hasattr(g, "ndim") else g
    return g


def lift_tangent_as(d, dx, x, y):
    """``d`` (shaped like ``dx``) reshaped the way ``lift_tangent(dx, x, y)`` reshapes ``dx``.
    Not a vector helper: it stays when generated code that lifts is differentiated."""
    return np.reshape(d, fast_shape(lift_tangent(dx, x, y)))


def broadcast_tangent_as(d, dx, x, y):
    """``d`` (shaped like ``dx``) broadcast the way ``broadcast_tangent(dx, x, y)`` does."""
    shape = tangent_lead(dx, x) + fast_shape(y)
    return np.broadcast_to(lift_tangent_as(d, dx, x, y), shape).copy()


def vector_helper(kind):
    def register(helper):
        VECTOR_HELPERS[helper] = kind
        return helper
    return register


def fast_shape(v):
    """``np.shape`` without its dispatch cost for the common cases."""
    t = type(v)
    if t is np.ndarray:
        return v.shape
    if t is float or t is int:
        return ()
    return np.shape(v)


def tangent_lead(dx, x):
    """The leading shape of a tangent: ``()``, or ``(k,)`` in vector mode."""
    sd, sx = fast_shape(dx), fast_shape(x)
    return sd[:len(sd) - len(sx)]


@vector_helper("lift")
def lift_tangent(dx, x, y):
    """Align the tangent ``dx`` of operand ``x`` with the result ``y``'s rank.

    In vector mode ``dx`` has one more (leading) axis than ``x``: unit axes are
    inserted after it so that ``dx`` broadcasts against the other operands the
    way ``x`` does. Otherwise ``dx`` is returned unchanged.
    """
    lead = tangent_lead(dx, x)
    if not lead:
        return dx
    pad = len(fast_shape(y)) - len(fast_shape(x))
    if pad <= 0:
        return dx
    return np.reshape(dx, lead + (1,) * pad + fast_shape(x))


@vector_helper("broadcast")
def broadcast_tangent(dx, x, y):
    """The tangent ``dx`` of operand ``x``, broadcast to the full shape of ``y``."""
    lead = tangent_lead(dx, x)
    shape = lead + fast_shape(y)
    dx = lift_tangent(dx, x, y)
    if fast_shape(dx) == shape:
        return dx
    return np.broadcast_to(dx, shape).copy()


def unsupported_here(what, hint=None):
    """The error a rule raises for arguments it has no derivative for, located at the
    user's line that led to the call (``raise unsupported_here("...")``)."""
    from srcad.errors import unsupported_here as located
    return located(what, hint)


def hashable(obj):
    """Can ``obj`` key the rule tables (callables are looked up by identity and hash)?"""
    try:
        hash(obj)
        return True
    except TypeError:
        return False
