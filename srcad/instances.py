"""A dataclass instance rebuilt with new field values, without running its ``__init__``.

``dataclasses.replace`` calls the class, so ``__post_init__`` runs again on the new
values. For a gradient, a tangent or a plain copy of an argument that is wrong: a
``__post_init__`` that rescales a field (``self.w = self.w / 2``) would rescale the
gradient too, and one that derives an attribute would derive it from cotangents. So the
instances srcad builds from field values take them as they are: a new object of the same
class, each field in ``values`` set to its value, every other field (``init=False`` ones,
those ``values`` leaves out) copied from ``like``, and nothing else run. (Frozen and
slotted dataclasses too: fields are set with ``object.__setattr__``.)
"""
import dataclasses


def rebuilt(like, values):
    cls = type(like)
    new = object.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in values:
            object.__setattr__(new, f.name, values[f.name])
        elif hasattr(like, f.name):
            object.__setattr__(new, f.name, getattr(like, f.name))
    return new


def struct_attribute(obj, name):
    """``obj.name``, an attribute of a dataclass or NamedTuple that is no field of it
    (transforms/classes.py): read as it is where nothing differentiates through it, refused
    (before any derivative code is written) where something does."""
    return getattr(obj, name)
