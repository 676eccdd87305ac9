"""srcad: source-transformation automatic differentiation for Python and NumPy.

    import srcad

    @srcad.differentiate
    def f(x):
        return np.sum(np.exp(x) ** 2)

    f.grad(x)                    # the gradient, by generated code
    print(f.source("grad", x))   # the generated code itself
"""
from srcad import layout  # noqa: F401  (srcad.transforms of a checkout: first)
import srcad.transforms.rules  # noqa: F401  (fills the rule tables)
from srcad import runtime_rules  # noqa: F401  (rules for the runtime helpers)
from srcad.api import (
                       Differentiable,
                       clear_cache,
                       derivative,
                       differentiate,
                       grad,
                       hessian,
                       hvp,
                       jacobian,
                       jvp,
                       pullback,
                       source,
                       stats,
                       value_and_grad,
)
from srcad import api_docs as _api_docs
from srcad.bounds import set_cache_limits
from srcad.check import check_grad
from srcad import inner_derivatives  # noqa: F401,E402  (srcad.grad inside differentiated code)
from srcad.errors import InternalError, TransformError
from srcad.reflect import (
                       adjoint,
                       checkpoint,
                       hook,
                       isderiving,
                       nestlevel,
                       showgrad,
                       stop_gradient,
                       tangent,
)
from srcad.workspace import set_workspace_limit

__all__ = [
                       "Differentiable",
                       "InternalError",
                       "TransformError",
                       "adjoint",
                       "check_grad",
                       "checkpoint",
                       "clear_cache",
                       "derivative",
                       "differentiate",
                       "grad",
                       "hessian",
                       "hook",
                       "hvp",
                       "isderiving",
                       "jacobian",
                       "jvp",
                       "nestlevel",
                       "pullback",
                       "set_cache_limits",
                       "set_workspace_limit",
                       "showgrad",
                       "source",
                       "stats",
                       "stop_gradient",
                       "tangent",
                       "value_and_grad",
]

_api_docs.attach()
