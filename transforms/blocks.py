"""Small facts about generated statement lists that several passes read: the names a
node reads or binds, an accumulation ``c = c + e``, the nested blocks of a statement,
and ``walk`` and ``clone``, the passes' one way through a tree and one way to copy it."""
import copy
from ast import AST
from collections import deque

import gast


def walk(node):
    """Every node under ``node`` (itself first) in ``ast.walk``'s order (breadth first),
    but for expression contexts and operators (``Load()``, ``Add()``, ``Eq()``): no pass
    looks for those as nodes (``n.ctx`` and ``n.op`` are read from their owners), and
    they are a third of a tree's nodes. At under half of ``ast.walk``'s cost: the passes
    walk trees often enough for that to count."""
    todo = deque((node,))
    take, push, children = todo.popleft, todo.append, _CHILDREN
    while todo:
        node = take()
        cls = node.__class__
        fields = children.get(cls)
        if fields is None:
            fields = _children(cls)
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, AST):
                push(value)
            elif value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        push(item)
        yield node


# the fields of a node class that may hold nodes walk goes into: not contexts, operators
# or the fields that only ever hold names, numbers and strings
_SKIPPED = frozenset(("ctx", "op", "ops", "id", "attr", "type_comment", "kind", "conversion",
                      "level", "module", "is_async", "simple"))
_CHILDREN = {}


def children_fields(cls):
    """The fields of nodes of class ``cls`` that ``walk`` goes into."""
    return _CHILDREN.get(cls) or _children(cls)


def _children(cls):
    fields = _CHILDREN[cls] = tuple(f for f in cls._fields if f not in _SKIPPED)
    return fields


def rewrite(node, change):
    """``node`` with every node under it (itself included) that ``change`` maps to a node
    replaced by that node (``change`` gives None to keep one, and the passes go on into
    its children, not into a replacement): a ``NodeTransformer`` whose visits only look
    at the node itself, at a fraction of its cost (contexts and operators are not shown)."""
    new = change(node)
    if new is not None:
        return new
    todo = [node]
    while todo:
        parent = todo.pop()
        cls = parent.__class__
        fields = _CHILDREN.get(cls) or _children(cls)
        for name in fields:
            value = getattr(parent, name, None)
            if isinstance(value, AST):
                new = change(value)
                if new is None:
                    todo.append(value)
                else:
                    setattr(parent, name, new)
            elif value.__class__ is list:
                for i, item in enumerate(value):
                    if isinstance(item, AST):
                        new = change(item)
                        if new is None:
                            todo.append(item)
                        else:
                            value[i] = new
    return node


_ATOMS = (str, int, float, complex, bool, bytes, type(None), type(Ellipsis))


def clone(node, memo=None):
    """A deep copy of a tree, as ``copy.deepcopy`` makes it (a node met twice is copied
    once; any value other than nodes, lists and atoms is deep-copied) at a fifth of its
    cost: rules are expanded from copies of their templates many times per function."""
    if memo is None:
        memo = {}
    done = memo.get(id(node))
    if done is not None:
        return done
    if isinstance(node, list):
        new = memo[id(node)] = []
        new.extend(clone(item, memo) for item in node)
        return new
    if not isinstance(node, AST):
        return node if isinstance(node, _ATOMS) else copy.deepcopy(node, memo)
    new = memo[id(node)] = node.__class__.__new__(node.__class__)
    for name, value in node.__dict__.items():
        setattr(new, name, value if isinstance(value, _ATOMS) else clone(value, memo))
    return new


def _named(node, ctx):
    """The ids of the names under ``node`` (itself included) in the context ``ctx`` (a
    class: ``gast.Load``...), in ``walk``'s order."""
    return [n.id for n in walk(node) if n.__class__ is gast.Name and n.ctx.__class__ is ctx]


def loads(node):
    return _named(node, gast.Load)


def stores(node):
    return set(_named(node, gast.Store))


def accumulation(s):
    """``c = c + e`` or ``c = _rt.add_cot(c, e)`` -> (c, e), else None."""
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
        return None
    name, v = s.targets[0].id, s.value
    if isinstance(v, gast.BinOp) and isinstance(v.op, gast.Add) \
            and isinstance(v.left, gast.Name) and v.left.id == name:
        return name, v.right
    if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) \
            and v.func.attr == "add_cot" and isinstance(v.args[0], gast.Name) \
            and v.args[0].id == name:
        return name, v.args[1]
    return None


def each_block(s, visit):
    """Rewrite the statement lists of ``s`` (an if's or a loop's body and else) by ``visit``."""
    for field in ("body", "orelse"):
        inner = getattr(s, field, None)
        if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
            setattr(s, field, visit(inner))


def statement_owners(node):
    """``node`` and every statement (and except clause) under it: the nodes that can own
    statement lists. Expressions hold no statements, so only statement lists are walked
    (a ``walk`` of every node costs many times more)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(n, field, None)
            if isinstance(inner, list):
                todo.extend(s for s in reversed(inner)
                            if isinstance(s, (gast.stmt, gast.excepthandler)))


def counts(node):
    """(stores, loads): how many times each name is bound and read in ``node``."""
    stored, loaded = {}, {}
    for n in walk(node):
        if isinstance(n, gast.Name):
            table = stored if isinstance(n.ctx, gast.Store) else loaded
            table[n.id] = table.get(n.id, 0) + 1
    return stored, loaded


def fresh_names(taken, sep=""):
    """``fresh(base)``: ``base``, or ``base{sep}2``, ``base{sep}3``... the first not in the
    set ``taken``, which it joins (names a pass adds to a function)."""
    def fresh(base):
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}{sep}{k}"
        taken.add(name)
        return name
    return fresh
