"""srcad: source-transformation automatic differentiation for Python and NumPy.

    import srcad

    @srcad.differentiate
    def f(x):
        return np.sum(np.exp(x) ** 2)

    f.grad(x)                    # the gradient, by generated code
    print(f.source("grad", x))   # the generated code itself
"""
import importlib.util as _util
import os as _os
import sys as _sys

if _util.find_spec("srcad.transforms") is None:
    # a checkout used without installing: the compiler is the top-level folder
    # transforms/ beside srcad/, which an install maps to srcad.transforms
    _dir = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))),
                         "transforms")
    _spec = _util.spec_from_file_location("srcad.transforms",
                                          _os.path.join(_dir, "__init__.py"),
                                          submodule_search_locations=[_dir])
    if _spec is not None:
        _sys.modules["srcad.transforms"] = _module = _util.module_from_spec(_spec)
        _spec.loader.exec_module(_module)
        transforms = _module            # as the import system binds a loaded submodule

import srcad.transforms.rules  # noqa: E402,F401  (fills the rule tables)
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
