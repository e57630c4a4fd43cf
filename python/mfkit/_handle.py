"""The base of the objects that own a library handle (StreamingMatrix, Stream,
ColumnNormalizedBanded, ...).

A handle is released by `weakref.finalize` when its object is collected (or at interpreter
exit), never by `__del__`. Pickling, `copy.copy` and `copy.deepcopy` all go through the
subclass's `__reduce__`, which describes how to build the object again (a constructor and its
arguments): every copy and every unpickled object owns a handle of its own.
"""
from __future__ import annotations

import ctypes
import weakref

from . import _ffi


class HandleOwner:
    """Owns one library handle, released by the C function named by `_FREE`.

    Subclasses set `_FREE`, call `_adopt(handle)` once when they get their handle, and define
    `__reduce__` (and `__eq__` if they are values). Cost: O(1).
    """

    __slots__ = ("_handle", "_finalizer", "__weakref__")
    _FREE = ""
    __array_ufunc__ = None  # NumPy defers to these objects: `array == obj` is not elementwise

    def _adopt(self, handle: ctypes.c_void_p) -> "HandleOwner":
        """Takes ownership of `handle` (released when self is collected); returns self."""
        self._handle = handle
        self._finalizer = weakref.finalize(self, getattr(_ffi.lib, self._FREE), ctypes.c_void_p(handle.value))
        return self

    def __reduce__(self):
        raise TypeError(f"{type(self).__name__} cannot be pickled or copied")
