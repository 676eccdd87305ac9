"""Derivatives taken inside differentiated code.

    def g(x):
        return x * srcad.grad(f)(x)        # or F.grad(x) for a Differentiable F

    srcad.grad(g)(a)                       # differentiates through the inner gradient

The normalizer meets ``srcad.grad(f)`` (or ``F.grad``) as a callee and makes the
gradient function at transform time with the maker registered here; the
generated code then calls it like any user function, and the reverse (or
forward) sweep differentiates through it by the nested-derivative machinery
(a gradient function is a Differentiable of a derivative: ``hessian``,
``grad(grad(f))``).
"""
from srcad import api
from srcad.transforms.rules import registry

registry.DERIVATIVE_MAKERS.update({
    api.grad: api.grad,
    api.Differentiable.grad: api.grad,
})
