"""The property plugin registry.

Each of the paper's properties (19)-(30) is one small checker in its own module
(``qrcheck/properties/p19.py`` ... ``p30.py``). Third-party checkers register through the
``qrcheck.properties`` entry-point group, e.g. in their ``pyproject.toml``::

    [project.entry-points."qrcheck.properties"]
    my_prop = "mypkg.checks:CHECKER"

The entry point must load to a :class:`Checker` instance (or a subclass, which is instantiated).
Checkers are loaded lazily on the first call to :func:`registry`, sorted by equation number then
name, and a duplicate ``eq`` key is rejected with one clear error.

The checker interface
---------------------
A checker is a subclass of :class:`Checker` with the class attributes ``eq`` (the certificate key,
the equation number), ``name``, ``statement``, ``statistic`` (the CONTRACT statistic in words),
``sense`` (:class:`~qrcheck.results.Sense`) and ``g_formula``, and these methods, each taking a
:class:`CheckContext` ``ctx``:

- ``check(ctx) -> PropertyResult`` (required): compute the statistic and build the result with
  ``self.result(ctx, statistic=..., method=..., witness=..., details=...)``, which takes the
  threshold ``C * L^p * g`` from the profile and the status from the CONTRACT rules;
- ``g(ctx) -> float``: the scale g(n, S, m) of the threshold (default 1);
- ``reach(ctx) -> (lo, hi)``: every value the statistic can take (default ``reachable``), which
  flags a threshold that can never bind (``vacuous``);
- ``tail_threshold(ctx, delta) -> float`` / ``tail_count(ctx, delta) -> int``: the property's
  tail-bound threshold and existential parameter (n*, S*) when a profile names them with a
  :class:`~qrcheck.profiles.TailRule` / :class:`~qrcheck.profiles.TailCount` whose ``eq`` is this
  checker's key (default: not available, one clear error).

``ctx.q`` is the draw's :class:`~qrcheck.quantities.Quantities` (X, W0, z0, P0, A0, F0, f0, X^T X,
norms, the lambda_min's), ``ctx.profile`` the :class:`~qrcheck.profiles.Profile`, ``ctx.effort``
the :class:`~qrcheck.search.Effort`, ``ctx.search_rng(eq)`` a deterministic generator per search,
``ctx.progress(eq, what)`` a progress callback and ``ctx.memo(key, fn)`` a per-draw cache for
profile-dependent values that several checkers share (Gamma_0 of (24), used by (30)). Each
built-in module ``pNN.py`` also has ``witness_value(arrays..., witness) -> float``, which recomputes
the statistic of a witness from the arrays alone.
"""

from __future__ import annotations

import abc
import importlib
import math
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .. import InputError
from ..draw import Draw
from ..enclosures import Enclosure
from ..profiles import CountRule, Profile, Rule, TailCount, TailRule
from ..quantities import Quantities
from ..results import PropertyResult, Sense, Status, decide
from ..search import Effort
from ..spectral import DENSE_M_LIMIT

ENTRY_POINT_GROUP = "qrcheck.properties"
BUILTIN_MODULES = tuple(f"qrcheck.properties.p{k}" for k in range(19, 31))


class RegistryError(InputError):
    """A checker could not be registered (duplicate key, bad object)."""


# spawn key of the search stream: independent of the X, W0, z0, y streams (keys 0..3)
SEARCH_SPAWN_KEY = 17


class CheckContext:
    """What the checkers of one draw share: its quantities, the profile, the search effort, the
    seed of the search generators and a progress callback, plus a per-draw memo.

    q : :class:`~qrcheck.quantities.Quantities` of the draw (pure linear algebra).
    profile : the :class:`~qrcheck.profiles.Profile` (data; rules evaluated here).
    effort : the :class:`~qrcheck.search.Effort` of the searches of (20), (21), (30).
    seed : seeds :meth:`search_rng` (the draw's seed by default).
    on_search : (eq, what, fraction done) from the long searches, for progress.
    """

    def __init__(self, q: Quantities, profile: Profile, effort: Effort | None = None, *,
                 seed: int | None = None, on_search: Callable[[str, str, float], None] | None = None):
        self.q = q
        self.profile = profile
        self.effort = effort or Effort()
        self.seed = seed if seed is not None else (q.draw.seed if q.draw is not None else 0)
        self.on_search = on_search
        self.n, self.S, self.m, self.L = q.n, q.S, q.m, q.L
        self._memo: dict[str, Any] = {}

    @classmethod
    def of(cls, draw: Draw, profile: Profile, effort: Effort | None = None, *,
           on_search: Callable[[str, str, float], None] | None = None,
           dense_limit: int = DENSE_M_LIMIT) -> "CheckContext":
        """The context of a :class:`~qrcheck.draw.Draw` under ``profile``; above ``dense_limit`` data
        points no m x m array is formed (``Quantities.matrix_free``)."""
        return cls(Quantities.of(draw, dense_limit=dense_limit), profile, effort, seed=draw.seed,
                   on_search=on_search)

    def memo(self, key: str, fn: Callable[[], Any]) -> Any:
        """``fn()``, computed once per context under ``key``."""
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]

    def progress(self, eq: str, what: str) -> Callable[[float], None]:
        """A callback reporting a search's fraction done through ``on_search`` (no-op without one)."""
        cb = self.on_search
        return (lambda frac: cb(eq, what, frac)) if cb else (lambda frac: None)

    def search_rng(self, eq: str) -> np.random.Generator:
        """A deterministic generator per property search, independent of the draw's streams."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(SEARCH_SPAWN_KEY, int(eq) if eq.isdigit() else 0))
        return np.random.default_rng(ss)

    def threshold(self, eq: str, g: float) -> tuple[float, float | None, float | None]:
        """(threshold, C, p) of property ``eq``: ``C * L^p * g`` for a Rule; for a TailRule the
        tail bound's value (``Checker.tail_threshold`` of the rule's property) with the effective
        C = threshold / g, p = 0 (None when g = 0)."""
        r = self.profile.rule(eq)
        if isinstance(r, TailRule):
            thr = float(get_checker(r.eq).tail_threshold(self, self.profile.tail_delta()))
            return thr, (thr / g if g else None), (0.0 if g else None)
        return r.factor(self.L) * g, r.C, r.p

    def count(self, rule: CountRule, explicit: Callable[[Rule], int]) -> int:
        """An existential parameter (n*, S*): ``explicit(rule)`` for a Rule, the tail bound
        (``Checker.tail_count`` of the rule's property) for a TailCount."""
        if isinstance(rule, TailCount):
            return int(get_checker(rule.eq).tail_count(self, self.profile.tail_delta()))
        return int(explicit(rule))


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

    def g(self, ctx: CheckContext) -> float:
        """The scale g(n, S, m) of the threshold."""
        return 1.0

    def reach(self, ctx: CheckContext) -> tuple[float, float]:
        """(lo, hi): every value the statistic can take lies in [lo, hi]."""
        return self.reachable

    def tail_threshold(self, ctx: CheckContext, delta: float) -> float:
        """The threshold from a tail bound at failure probability ``delta`` (profile ``sharp``)."""
        raise InputError(f"({self.eq}) has no tail-bound threshold")

    def tail_count(self, ctx: CheckContext, delta: float) -> int:
        """The existential parameter (n*, S*) from a tail bound at failure probability ``delta``."""
        raise InputError(f"({self.eq}) has no tail-bound existential parameter")

    def is_vacuous(self, ctx: CheckContext, threshold: float) -> bool:
        lo, hi = self.reach(ctx)
        if self.sense is Sense.LE:
            return threshold >= hi
        return threshold < lo if self.sense is Sense.GT else threshold <= lo

    @abc.abstractmethod
    def check(self, ctx: CheckContext) -> PropertyResult:
        """Compute the statistic, compare it with the threshold and return a frozen result."""

    # helper shared by the checkers ------------------------------------------------------------
    def result(self, ctx: CheckContext, *, statistic: float | None = None, method: str,
               exact: bool = True, lower: float | None = None, upper: float | None = None,
               witness: Mapping[str, Any] | None = None, details: Mapping[str, Any] | None = None,
               status: Status | None = None, threshold: float | None = None,
               g: float | None = None, enclosure: Enclosure | None = None,
               witness_bound: float | None = None) -> PropertyResult:
        """Build the result: threshold C * L^p * g from the profile, status from CONTRACT rules.

        ``enclosure``: a rigorous [lower, upper] of an exact statistic (``qrcheck.enclosures``);
        it sets ``statistic`` (its float64 value), ``lower`` and ``upper``, and the status is
        certified/violated only when the enclosure lies on one side of the threshold, else
        passed/undecided by the computed value. ``exact`` without an enclosure: a value computed
        without rounding. ``exact=False``: ``lower``/``upper`` are a proved bound and a witness's
        rigorous value, ``statistic`` the computed best value. ``witness_bound``: the witness's rigorous
        value when the reported end is its float value (CONTRACT: (21), (30) report ``upper`` =
        ``statistic``); ``violated`` then needs the rigorous value beyond the threshold."""
        g = self.g(ctx) if g is None else g
        C = p = None
        if enclosure is not None:
            statistic = enclosure.value if math.isfinite(enclosure.value) else None
            lower, upper = enclosure.lower, enclosure.upper
        if threshold is None:
            threshold, C, p = ctx.threshold(self.eq, g)
        if status is None:
            if statistic is None:
                status = Status.VACUOUS
            elif self.is_vacuous(ctx, threshold):
                status = Status.VACUOUS
                lo, hi = self.reach(ctx)
                details = {"reason": (f"threshold {threshold:.4g} >= {hi:.4g}, the most the statistic can reach"
                                      if self.sense is Sense.LE else
                                      f"threshold {threshold:.4g} <= {lo:.4g}, the least the statistic can take"),
                           **dict(details or {})}
            elif enclosure is not None or not exact:
                lo, hi = lower, upper
                if witness_bound is not None:
                    lo, hi = (witness_bound, upper) if self.sense is Sense.LE else (lower, witness_bound)
                status = decide(self.sense, threshold, lower=lo, upper=hi, value=statistic)
            else:
                status = decide(self.sense, threshold, exact=statistic)
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
    """The registered checker of property ``eq`` (KeyError when none)."""
    for c in registry():
        if c.eq == eq:
            return c
    raise KeyError(eq)


def get_checker(eq: str) -> Checker:
    """Like :func:`get`, with one clear :class:`~qrcheck.InputError` when no checker has key ``eq``."""
    try:
        return get(eq)
    except KeyError:
        raise InputError(f"no property checker ({eq}) to evaluate a tail rule") from None


__all__ = ["Checker", "CheckContext", "RegistryError", "registry", "get", "ENTRY_POINT_GROUP", "BUILTIN_MODULES",
           "PropertyResult", "Sense", "Status"]
