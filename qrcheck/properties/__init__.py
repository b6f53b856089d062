"""The property plugin registry.

Each of the paper's properties (19)-(30) is one small checker in its own module
(``qrcheck/properties/p19.py`` ... ``p30.py``). Third-party checkers register through the
``qrcheck.properties`` entry-point group, e.g. in their ``pyproject.toml``::

    [project.entry-points."qrcheck.properties"]
    my_prop = "mypkg.checks:CHECKER"

The entry point must load to a :class:`Checker` instance (or a subclass, which is instantiated).
Checkers are loaded lazily on the first call to :func:`registry`, sorted by equation number then
name, and a duplicate ``eq`` key is rejected with one clear error.
"""

from __future__ import annotations

import abc
import importlib
import math
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, ClassVar, Mapping

from .. import InputError
from ..context import Context
from ..results import PropertyResult, Sense, Status, decide

ENTRY_POINT_GROUP = "qrcheck.properties"
BUILTIN_MODULES = tuple(f"qrcheck.properties.p{k}" for k in range(19, 31))


class RegistryError(InputError):
    """A checker could not be registered (duplicate key, bad object)."""


class Checker(abc.ABC):
    """One property of Section 3.1.

    Class attributes: ``eq`` (certificate key, the equation number), ``name``, ``statement`` (one
    line), ``statistic`` (the CONTRACT statistic in words), ``sense`` and ``g_formula`` (the scale
    g(n, S, m) of the threshold C * L^p * g).
    """

    eq: ClassVar[str]
    name: ClassVar[str]
    statement: ClassVar[str]
    statistic: ClassVar[str]
    sense: ClassVar[Sense]
    g_formula: ClassVar[str] = "1"
    # range the statistic can ever take, used to flag a threshold that can never bind
    reachable: ClassVar[tuple[float, float]] = (0.0, math.inf)

    def g(self, ctx: Context) -> float:
        """The scale g(n, S, m) of the threshold."""
        return 1.0

    def reach(self, ctx: Context) -> tuple[float, float]:
        """(lo, hi): every value the statistic can take lies in [lo, hi]."""
        return self.reachable

    def is_vacuous(self, ctx: Context, threshold: float) -> bool:
        lo, hi = self.reach(ctx)
        if self.sense is Sense.LE:
            return threshold >= hi
        return threshold < lo if self.sense is Sense.GT else threshold <= lo

    @abc.abstractmethod
    def check(self, ctx: Context) -> PropertyResult:
        """Compute the statistic, compare it with the threshold and return a frozen result."""

    # helper shared by the checkers ------------------------------------------------------------
    def result(self, ctx: Context, *, statistic: float | None, method: str,
               exact: bool = True, lower: float | None = None, upper: float | None = None,
               witness: Mapping[str, Any] | None = None, details: Mapping[str, Any] | None = None,
               status: Status | None = None, threshold: float | None = None,
               g: float | None = None) -> PropertyResult:
        """Build the result: threshold C * L^p * g from the profile, status from CONTRACT rules."""
        g = self.g(ctx) if g is None else g
        C = p = None
        if threshold is None:
            threshold, C, p = ctx.threshold(self.eq, g)
        if status is None:
            if statistic is None:
                status = Status.VACUOUS
            elif self.is_vacuous(ctx, threshold):
                status = Status.VACUOUS
            elif exact:
                status = decide(self.sense, threshold, exact=statistic)
            else:
                status = decide(self.sense, threshold, lower=lower, upper=upper)
        return PropertyResult(eq=self.eq, name=self.name, status=status, sense=self.sense,
                              statistic=_f(statistic), threshold=_f(threshold), method=method,
                              C=C, p=p, g=_f(g), g_formula=self.g_formula, lower=_f(lower),
                              upper=_f(upper), witness=witness, details=dict(details or {}))


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def _as_checker(obj: Any, origin: str) -> Checker:
    if isinstance(obj, type) and issubclass(obj, Checker):
        obj = obj()
    if not isinstance(obj, Checker):
        raise RegistryError(f"{origin} is not a qrcheck Checker (got {type(obj).__name__})")
    for attr in ("eq", "name", "statement", "statistic", "sense"):
        if not getattr(obj, attr, None):
            raise RegistryError(f"{origin}: checker lacks {attr!r}")
    return obj


def _sort_key(c: Checker) -> tuple:
    return (int(c.eq) if c.eq.isdigit() else math.inf, c.eq, c.name)


@lru_cache(maxsize=1)
def registry() -> tuple[Checker, ...]:
    """All checkers: the twelve built-ins, then entry points; sorted; duplicates rejected."""
    found: dict[str, tuple[Checker, str]] = {}

    def add(checker: Checker, origin: str) -> None:
        if checker.eq in found:
            raise RegistryError(f"duplicate property checker {checker.eq!r}: registered by "
                                f"{found[checker.eq][1]} and by {origin}")
        found[checker.eq] = (checker, origin)

    for mod in BUILTIN_MODULES:
        add(_as_checker(importlib.import_module(mod).CHECKER, mod), mod)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        origin = f"entry point {ep.name!r} ({ep.value})"
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not raised raw
            raise RegistryError(f"cannot load {origin}: {exc.__class__.__name__}: {exc}") from None
        add(_as_checker(obj, origin), origin)
    return tuple(sorted((c for c, _ in found.values()), key=_sort_key))


def get(eq: str) -> Checker:
    for c in registry():
        if c.eq == eq:
            return c
    raise KeyError(eq)


__all__ = ["Checker", "RegistryError", "registry", "get", "ENTRY_POINT_GROUP", "BUILTIN_MODULES",
           "PropertyResult", "Sense", "Status"]
