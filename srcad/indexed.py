"""Which entries of an indexed write survive: NumPy's last write wins."""
import numpy as np


def _zero(c):
    return c is None or (type(c) is float and c == 0.0)


def last_writes(item, idx, shape=None):
    """``item`` (gathered at ``idx`` from an array of ``shape``) with the entries of earlier
    duplicate positions zeroed: the values ``x[idx] = v`` keeps (NumPy's last write, in
    the order of the gathered entries; an index tuple with integer arrays too)."""
    if isinstance(idx, list) and idx and all(isinstance(i, (int, np.integer)) for i in idx):
        idx = np.asarray(idx)
    if isinstance(idx, np.ndarray) and idx.dtype.kind in "iu" and idx.ndim == 1 \
            and len(np.unique(idx)) < idx.size and not _zero(item):
        last = np.zeros(idx.size, dtype=bool)
        _, first_from_end = np.unique(idx[::-1], return_index=True)
        last[idx.size - 1 - first_from_end] = True
        item = item * last.reshape((-1,) + (1,) * (np.ndim(item) - 1))
    elif shape is not None and isinstance(idx, tuple) and not _zero(item) and any(
            isinstance(i, (list, np.ndarray)) and np.asarray(i).dtype.kind in "iu" for i in idx):
        at = np.arange(int(np.prod(shape))).reshape(shape)[idx].ravel()   # where each lands
        if len(np.unique(at)) < at.size:
            _, first_from_end = np.unique(at[::-1], return_index=True)
            last = np.zeros(at.size, dtype=bool)
            last[at.size - 1 - first_from_end] = True
            item = item * last.reshape(np.shape(item))
    return item
