"""Input checks and debugging output in the user's function: ``assert``, ``raise``, f-strings
(and the label of ``srcad.showgrad``).

They run in the primal sweep (once per gradient, jvp or value_and_grad call) and
are not differentiated: a message or an exception carries no derivative.

Before::

    assert x.ndim == 1, f"x must be a vector, got {x.shape}"
    if n > 100:
        raise ValueError(f"too long: {n}")

After (normal form)::

    t = x.ndim
    t2 = t == 1
    t3 = not t2
    if t3:
        t4 = x.shape
        t5 = _rt.text('x must be a vector, got {}', t4)
        t6 = AssertionError(t5)
        _rt.throw(t6)
    if t7:
        ...
        _rt.throw(t9)

``_rt.text`` has no derivative (a string), ``_rt.throw`` raises its argument; the
passes see a call with a dropped result and go on, which is safe: nothing after
it runs when it raises. An ``assert`` is left out under ``python -O``, as Python
does.
"""
import sys

import gast

from srcad.transforms.exits import _const, rt_call


class Checks:
    """The Normalizer's statements and expressions for checks (mixed into it)."""

    def stmt_Assert(self, s):
        if sys.flags.optimize:
            return
        test = gast.UnaryOp(op=gast.Not(), operand=s.test)
        error = gast.Call(func=gast.Name(id="AssertionError", ctx=gast.Load(), annotation=None,
                                         type_comment=None),
                          args=[s.msg] if s.msg is not None else [], keywords=[])
        self.stmt(gast.copy_location(gast.If(test=gast.copy_location(test, s.test), body=[
            gast.copy_location(gast.Raise(exc=gast.copy_location(error, s), cause=None), s)],
            orelse=[]), s))

    def stmt_Raise(self, s):
        if s.exc is None:
            self.error(s, "a bare `raise` is not supported in differentiated code",
                       "there is no exception being handled to raise again",
                       "raise an exception object: `raise ValueError(...)`")
        exc = self.atom(s.exc)
        args = [exc] if s.cause is None else [exc, self.atom(s.cause)]
        call = self.runtime_call("throw", *args)
        self.emit(gast.Expr(value=call), s)

    def expr_JoinedStr(self, e, hint):
        """``f"a {x!r:.3f} b"`` as ``_rt.text('a {!r:.3f} b', x)``."""
        template, values = [], []
        for part in e.values:
            if isinstance(part, gast.Constant):
                template.append(str(part.value).replace("{", "{{").replace("}", "}}"))
                continue
            spec = ""
            if part.format_spec is not None:
                pieces = part.format_spec.values if isinstance(
                    part.format_spec, gast.JoinedStr) else [part.format_spec]
                if not all(isinstance(p, gast.Constant) for p in pieces):
                    self.error(e, "a format spec computed in an f-string is not supported",
                               "srcad formats with a fixed spec",
                               "write the spec out (`{x:.3f}`)")
                spec = ":" + "".join(str(p.value) for p in pieces)
            conversion = {115: "!s", 114: "!r", 97: "!a"}.get(part.conversion, "")
            template.append("{" + conversion + spec + "}")
            values.append(self.atom(part.value))
        return self.runtime_call("text", _const("".join(template)), *values)

    def showgrad_call(self, e, obj):
        """``showgrad(x, name=...)`` as ``showgrad(x, label)``; the label defaults to the
        expression's source."""
        import ast
        import inspect
        try:
            bound = inspect.signature(obj).bind(*e.args, **{k.arg: k.value for k in e.keywords})
        except TypeError as exc:
            self.error(e, f"cannot bind the call to `showgrad`: {exc}",
                       "showgrad takes the value and an optional name",
                       "call srcad.showgrad(x) or srcad.showgrad(x, name='label')")
        x, label = list(bound.arguments.values())[0], bound.arguments.get("name")
        if label is None or isinstance(label, gast.Constant) and label.value is None:
            label = _const(ast.unparse(gast.gast_to_ast(x)).strip())
        return gast.Call(func=e.func, args=[x, label], keywords=[])

    def runtime_call(self, name, *args):
        return rt_call(self.env, name, *args)
