"""How the normalizer resolves what a function reads from outside: free names, module
attributes (``lib.act``, ``np.linalg.solve``), builtins, callees and methods of argument
classes. Each is bound into the generated code's namespace and watched, so that
rebinding it recompiles and the disk cache can check it.

A mixin of ``normalize.Normalizer``: it uses the normalizer's ``parsed``, ``env``,
``locals``, ``types`` and ``error``.
"""
import types

import gast

from srcad.transforms.exits import _const, _load, dotted, rename_root
from srcad.transforms.parse import MISSING, resolve


class Names:
    def read(self, node):
        """A bare name copied into a local: a global (a module constant, an array, a helper)
        is resolved and bound like any other read, never left for the generated code's own
        globals to find: those are another module's when the code is inlined or
        differentiated again."""
        if node.id in self.locals:
            return node
        return self.name(node)          # an undefined name: a located TransformError

    def name(self, node):
        if node.id in self.locals:
            return _load(node.id)
        obj = self.parsed.scope.get(node.id, MISSING)
        if obj is MISSING:
            self.error(node, f"name `{node.id}` is not defined",
                       "srcad resolves every name the function reads when it transforms it "
                       "(its closure, its module's globals, the builtins)",
                       "define the name before the first call, or pass the value as an "
                       "argument")
        return self.bind_global(node, obj)

    def bind_global(self, node, obj):
        base = node.id if isinstance(node, gast.Name) else node.attr
        recipe = None
        if isinstance(node, gast.Name):
            recipe = self.watch_name(node.id, obj)
        else:
            self.watch_chain(node)
        if isinstance(obj, (bool, int, float, complex, str)) or obj is None:
            return _const(obj)
        name = self.env.bind(base, obj, recipe)
        return _load(name)

    def watch_name(self, name, obj):
        """Record where a free name's value came from: rebinding it recompiles, and the
        disk cache checks it. Returns the name's recipe for the disk cache (None when
        it cannot be found again from the differentiated function alone)."""
        recipe = self.parsed.recipes.get(name)
        if recipe and recipe[0] == "<closure>":
            fn = self.parsed.fn
            cell = fn.__closure__[fn.__code__.co_freevars.index(name)]
            self.env.cells.append((cell, name, obj))
            if self.env.deps and self.env.deps[0][0] is not fn:
                recipe = None           # a helper's cell: not reachable from the top function
        elif recipe and recipe[0] != "builtins":
            self.env.watched.append((recipe[0], recipe[1], obj))
        return recipe

    def watch_chain(self, node):
        """``lib.act``: the root name and every module attribute on the way are watched."""
        chain = []
        while isinstance(node, gast.Attribute):
            chain.append(node.attr)
            node = node.value
        if not isinstance(node, gast.Name) or node.id in self.locals:
            return
        base = self.parsed.scope.get(node.id, MISSING)
        if base is MISSING:
            return
        self.watch_name(node.id, base)
        for attr in reversed(chain):
            value = getattr(base, attr, MISSING)
            if value is MISSING:
                return
            if isinstance(base, types.ModuleType):
                self.env.watched.append((base.__name__, attr, value))
            elif isinstance(base, type):                    # Config.scale
                self.env.attrs.append((base, attr, value))
            base = value

    def builtin(self, name):
        import builtins
        return _load(self.env.bind(name, getattr(builtins, name), ("builtins", name)))

    def _is_global(self, expr):
        while isinstance(expr, gast.Attribute):
            expr = expr.value
        return isinstance(expr, gast.Name) and expr.id not in self.locals

    def _is_local_value(self, expr):
        return not self._is_global(expr)

    def callee(self, func):
        if self._is_global(func):
            return resolve(func, self.parsed.scope)
        return MISSING

    def bind_callable(self, obj):
        name = getattr(obj, "__name__", "fn")
        module = getattr(obj, "__module__", None)
        return _load(self.env.bind(name, obj, (module, getattr(obj, "__qualname__", name))
                                   if module else None))

    def callable_ref(self, func, obj):
        """``np.linalg.solve`` stays spelled so, with its root bound in the namespace."""
        if isinstance(func, gast.Attribute):
            root = func
            while isinstance(root, gast.Attribute):
                root = root.value
            root_obj = self.parsed.scope.get(root.id, MISSING)
            if isinstance(root_obj, types.ModuleType):
                bound = self.bind_global(root, root_obj)
                self.watch_chain(func)
                chain = gast.parse(dotted(func)).body[0].value
                rename_root(chain, bound.id)
                return chain
        return self.bind_global(func, obj)

    def user_method(self, func):
        """The plain function behind ``p.name`` when ``p`` is a parameter whose class
        (from the argument signature) defines it."""
        import inspect
        if not isinstance(func.value, gast.Name):
            return None
        cls = self.types.get(func.value.id)
        if cls is None:
            return None
        attr = inspect.getattr_static(cls, func.attr, None)
        if not isinstance(attr, types.FunctionType):
            return None
        self.env.attrs.append((cls, func.attr, attr))       # rebinding recompiles
        return attr
