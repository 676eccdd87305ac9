"""The gradient of a dataclass or NamedTuple argument, built field by field.

Before (``p: Params(k: float, x0: float64[1d], n: int)``, only ``p.k`` and ``p.x0`` read)::

    p_bar = 0.0
    p_bar = _rt.attr_acc(p_bar, 'k', t2_bar)
    p_bar = _rt.attr_acc(p_bar, 'x0', t_bar)
    return (t8, (_rt.finalize(p_bar, p),))

After::

    k_bar = t2_bar
    x0_bar = t_bar
    return (t8, (Params(k=float(k_bar), x0=_rt.finalize_array(x0_bar, p.x0), n=p.n),))

Each field read of a ``wrt`` argument adds into a cotangent named after the field; the
gradient is an instance of the argument's class with those cotangents (``float``,
``finalize_array``), zeros for float fields not read and the values of the fields that
carry no derivative (``param_kinds`` says which: ``"keep"``). An argument read otherwise too
(whole, as a helper's argument or a copy, or written), or with a field of another kind, gets
its gradient as before: a dict of field cotangents made into the instance by ``finalize``.
"""
import dataclasses

import gast

from srcad.transforms import classes
from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign, _const, _load, rt_call

_DIFFERENTIABLE = ("float", "array")


class FieldGradients:
    """Mixed into the reverse pass (uses its ``env``, ``bars``, ``param_kinds``, ``wrt``)."""

    def field_layout(self, p):
        """[(field, kind)] of a ``wrt`` dataclass/NamedTuple argument whose gradient may be
        built field by field (only its fields are read: ``t = p.k``), else None."""
        cls = self.env.types.get(p)
        if p not in self.wrt or cls is None or not _fields_only(self.fn, p):
            return None
        if dataclasses.is_dataclass(cls):
            names = [f.name for f in dataclasses.fields(cls) if f.init]
        elif issubclass(cls, tuple) and hasattr(cls, "_fields"):
            names = list(cls._fields)
        else:
            return None
        kinds = [(f, self.param_kinds.get(f"{p}.{f}")) for f in names]
        if any(k not in _DIFFERENTIABLE + ("keep",) for _, k in kinds):
            return None
        return kinds

    def field_read(self, adj, base, attr, g, where):
        """The adjoint of ``t = p.attr``: True when handled field by field."""
        layout = self.field_layout(base.id)
        if layout is None or dict(layout).get(attr) is None:
            return False
        if dict(layout)[attr] == "keep":
            return True                     # an int, a str...: no derivative
        name = self.bar(f"{base.id}.{attr}", attr)
        self.field_bars.setdefault(base.id, {})[attr] = name
        adj.append(_assign(name, gast.BinOp(left=_load(name), op=gast.Add(), right=g)))
        return True

    def field_inits(self):
        return [_assign(name, _const(0.0)) for p in sorted(self.field_bars)
                for name in self.field_bars[p].values()]

    def field_gradient(self, p):
        """The gradient of ``p`` built from its field cotangents, or None when ``p`` gets
        its gradient whole (``p_bar``, finalized)."""
        layout = self.field_layout(p)
        if layout is None:
            return None
        bars = self.field_bars.get(p, {})
        cls = self.env.types[p]
        func = _load(self.env.bind(cls.__name__, cls, (cls.__module__, cls.__qualname__)))
        keywords = []
        for f, kind in layout:
            field = gast.Attribute(value=_load(p), attr=f, ctx=gast.Load())
            if kind == "keep":
                value = field
            elif kind == "float":
                value = gast.Call(func=_load(self._builtin("float")),
                                  args=[_load(bars[f]) if f in bars else _const(0.0)],
                                  keywords=[])
            elif f in bars:
                value = rt_call(self.env, "finalize_array", _load(bars[f]), field)
            else:
                value = rt_call(self.env, "zeros_for", field)
            keywords.append(gast.keyword(arg=f, value=value))
        if classes.runs_code(cls):      # not through its __post_init__ (srcad/instances.py)
            return rt_call(self.env, "rebuilt", _load(p), gast.Dict(
                keys=[_const(k.arg) for k in keywords], values=[k.value for k in keywords]))
        return gast.Call(func=func, args=[], keywords=keywords)


def _fields_only(fn, p):
    """Is every read of ``p`` in ``fn`` a field read of the form ``t = p.field``?"""
    reads = sum(1 for n in walk(fn) if isinstance(n, gast.Name) and n.id == p
                and isinstance(n.ctx, gast.Load))
    fields = sum(1 for n in walk(fn) if isinstance(n, gast.Assign)
                 and isinstance(n.value, gast.Attribute) and isinstance(n.value.value, gast.Name)
                 and n.value.value.id == p and isinstance(n.value.ctx, gast.Load))
    return reads == fields
