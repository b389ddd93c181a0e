"""A property computed on first use and kept on the instance: functools.cached_property without
its lock. Python 3.11's takes a lock on every first access (0.42 us against 0.19 here); records,
refs and workspaces are made and read by one thread, and ten thousand records ask for several
properties each. (3.12 dropped that lock; this stays the same on every version.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class once(Generic[T]):
    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> once[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object, owner: type | None = None) -> T | once[T]:
        if instance is None:
            return self
        # A non-data descriptor: once set, the instance's own attribute is found first.
        value = instance.__dict__[self.name] = self.func(instance)
        return value
