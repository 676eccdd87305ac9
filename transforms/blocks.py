"""Small facts about generated statement lists that several passes read: the names a
node reads or binds, an accumulation ``c = c + e``, the nested blocks of a statement,
and ``walk``, the passes' one way through a tree."""
from ast import AST
from collections import deque

import gast


def walk(node):
    """Every node under ``node`` (itself first), in ``ast.walk``'s order (breadth first),
    at about half its cost: the passes walk trees often enough for that to count."""
    todo = deque((node,))
    take, push = todo.popleft, todo.append
    while todo:
        node = take()
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, AST):
                push(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, AST):
                        push(item)
        yield node


def loads(node):
    return [n.id for n in walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)]


def stores(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Store)}


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


def counts(node):
    """(stores, loads): how many times each name is bound and read in ``node``."""
    stored, loaded = {}, {}
    for n in walk(node):
        if isinstance(n, gast.Name):
            table = stored if isinstance(n.ctx, gast.Store) else loaded
            table[n.id] = table.get(n.id, 0) + 1
    return stored, loaded
