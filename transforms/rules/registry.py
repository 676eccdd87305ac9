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

from srcad.kernels.broadcast import broadcast_tangent, lift_tangent
from srcad.kernels.broadcast import unbroadcast  # noqa: F401  (the passes name it through here)


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


@dataclass
class _Host:
    """What the layer above the compiler provides, registered by srcad when it is imported:
    the module of helpers that generated code calls as ``_rt.<name>`` (its ``Workspace``
    holds the buffer plan's arrays, ``not_shared``/``not_shared_item`` are the alias guards),
    and ``unparse``, the source of a tree as generated code spells it (the passes' dumps)."""
    runtime: object = None
    unparse: object = None


HOST = _Host()


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


def vector_helper(kind):
    def register(helper):
        VECTOR_HELPERS[helper] = kind
        return helper
    return register



def hashable(obj):
    """Can ``obj`` key the rule tables (callables are looked up by identity and hash)?"""
    try:
        hash(obj)
        return True
    except TypeError:
        return False


VECTOR_HELPERS.update({lift_tangent: "lift", broadcast_tangent: "broadcast"})
