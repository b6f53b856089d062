"""The random baseline of a draw: K random instances of the same (n, S, m) and z-distribution.

``qrcheck verify --baseline K`` answers "is this draw unusual?" for every property (19)-(30) and
every kernel diagnostic (:mod:`qrcheck.diagnostics`): it samples K draws exactly as ``verify``
samples one (X uniform on the sphere, W0 Gaussian, z0 from ``z_dist``; Section 2.4), checks them
under the same profile and search effort, and records, per property, the baseline's median,
quartiles and range and where this draw's statistic falls: its quantile among the K values and
its ratio to their median.

Seeds: instance k uses the integer seed ``BASELINE seeds[k]`` = word k of
``SeedSequence(seed, spawn_key=(BASELINE_KEY,)).generate_state(K)`` (uint32), a stream
independent of the draw's X, W0, z0, y streams (spawn keys 0..3) and of the data-set subsample
(:data:`qrcheck.datasets.SUBSAMPLE_KEY`). Each seed is recorded, so ``qrcheck verify --n n --S S
--m m --seed seeds[k]`` repeats instance k.

Far outside (:func:`far_side`): with the baseline's values b_1..b_K, range [lo, hi] and width
w = hi - lo, a statistic s is *far above* when s > hi + max(w, (F - 1) |hi|) and *far below* when
s < lo - max(w, (1 - 1/F) |lo|), F = :data:`FAR_FACTOR` = 1.25: beyond the range by more than the
range's own width and by a factor F from its nearer end; judged only with K >= :data:`FAR_MIN_K`
values. A property far outside on its failing
side (above for ``<=`` properties, below for ``>=`` / ``>``) is named in the verdict, whatever the
profile's threshold says.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from . import InputError
from .draw import make_draw
from .profiles import Profile
from .properties import CheckContext, registry
from .results import PropertyResult
from .search import Effort
from . import diagnostics as _diagnostics

BASELINE_KEY = 17
FAR_FACTOR = 1.25
MIN_K = 2
# "far outside" is judged only with at least this many baseline values (a range of 2-4 random
# values is too narrow a yardstick: a random draw would often fall far outside it)
FAR_MIN_K = 5
RULE = ("far outside: beyond the baseline's range [min, max] by more than max(its width, "
        f"{FAR_FACTOR - 1:.2g} x |max|) above or max(its width, {1 - 1 / FAR_FACTOR:.2g} x |min|) below; "
        f"a property far outside on its failing side is named in the verdict; judged with K >= {FAR_MIN_K}")


def baseline_seeds(seed: int, K: int) -> tuple[int, ...]:
    """The K instance seeds (uint32) of the baseline of base seed ``seed``."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(BASELINE_KEY,))
    return tuple(int(s) for s in ss.generate_state(int(K)))


def far_side(s: float | None, values: list[float]) -> str | None:
    """"above", "below" or None: where ``s`` lies relative to the baseline ``values`` under the
    module's rule (None when s is unknown, fewer than :data:`FAR_MIN_K` values, or not far)."""
    if s is None or not math.isfinite(s) or len(values) < FAR_MIN_K:
        return None
    lo, hi = min(values), max(values)
    w = hi - lo
    if s > hi + max(w, (FAR_FACTOR - 1) * abs(hi)) and s > hi:
        return "above"
    if s < lo - max(w, (1 - 1 / FAR_FACTOR) * abs(lo)) and s < lo:
        return "below"
    return None


def failing_side(sense: str) -> str:
    """The side on which a property of this sense fails: "above" for ``<=``, else "below"."""
    return "above" if str(sense) == "<=" else "below"


@dataclass(frozen=True)
class Comparison:
    """One statistic against its baseline.

    value : this draw's statistic (None when it has none). values : the K baseline statistics
    (None where an instance has none). median, q1, q3, min, max : of the baseline values present.
    quantile : (#{b < value} + #{b = value} / 2) / K. ratio : value / median. far : "above",
    "below" or None (:func:`far_side`). failing : far on the side where the property fails
    (properties only).
    """

    value: float | None
    values: tuple[float | None, ...]
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    min: float | None = None
    max: float | None = None
    quantile: float | None = None
    ratio: float | None = None
    far: str | None = None
    failing: bool = False

    @classmethod
    def of(cls, value: float | None, values: list[float | None], sense: str | None = None) -> "Comparison":
        present = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        value = None if value is None or not math.isfinite(float(value)) else float(value)
        if not present:
            return cls(value, tuple(values))
        b = np.asarray(present)
        med = float(np.median(b))
        q1, q3 = (float(x) for x in np.percentile(b, [25, 75]))
        quant = ratio = None
        if value is not None:
            quant = float((np.sum(b < value) + 0.5 * np.sum(b == value)) / b.size)
            ratio = value / med if med != 0 else None
        far = far_side(value, present)
        return cls(value, tuple(values), med, q1, q3, float(b.min()), float(b.max()), quant, ratio, far,
                   bool(far is not None and sense is not None and far == failing_side(sense)))

    def to_json(self) -> dict:
        return {"value": self.value, "median": self.median, "q1": self.q1, "q3": self.q3, "min": self.min,
                "max": self.max, "quantile": self.quantile, "ratio": self.ratio, "far": self.far,
                "failing": self.failing, "values": list(self.values)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Comparison":
        return cls(d.get("value"), tuple(d.get("values") or ()), d.get("median"), d.get("q1"), d.get("q3"),
                   d.get("min"), d.get("max"), d.get("quantile"), d.get("ratio"), d.get("far"),
                   bool(d.get("failing", False)))


@dataclass(frozen=True)
class Baseline:
    """The certificate's ``baseline`` record: K random instances of the run's (n, S, m, z_dist).

    properties : eq -> :class:`Comparison` of the statistic; diagnostics : key of
    :data:`qrcheck.diagnostics.BASELINE_KEYS` -> :class:`Comparison`.
    """

    K: int
    seeds: tuple[int, ...]
    n: int
    S: int
    m: int
    z_dist: str
    properties: Mapping[str, Comparison]
    diagnostics: Mapping[str, Comparison] = field(default_factory=dict)
    wall_seconds: float | None = None

    @property
    def far(self) -> tuple[str, ...]:
        """The properties far outside the baseline on their failing side, in equation order."""
        return tuple(e for e, c in self.properties.items() if c.failing)

    def verdict_clause(self) -> str:
        """"; far outside the random baseline: (19), (20)" (empty when none is)."""
        far = self.far
        return ("; far outside the random baseline: " + ", ".join(f"({e})" for e in far)) if far else ""

    def to_json(self) -> dict:
        return {"K": self.K, "seeds": list(self.seeds), "n": self.n, "S": self.S, "m": self.m,
                "z_dist": self.z_dist, "stream": f"SeedSequence(seed, spawn_key=({BASELINE_KEY},))",
                "rule": RULE, "far_factor": FAR_FACTOR, "far_min_k": FAR_MIN_K, "far": list(self.far),
                "properties": {e: c.to_json() for e, c in self.properties.items()},
                "diagnostics": {k: c.to_json() for k, c in self.diagnostics.items()},
                "wall_seconds": self.wall_seconds}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Baseline":
        return cls(int(d["K"]), tuple(d.get("seeds") or ()), int(d["n"]), int(d["S"]), int(d["m"]),
                   str(d.get("z_dist", "rademacher")),
                   {e: Comparison.from_json(c) for e, c in (d.get("properties") or {}).items()},
                   {k: Comparison.from_json(c) for k, c in (d.get("diagnostics") or {}).items()},
                   d.get("wall_seconds"))


def run_baseline(results: tuple[PropertyResult, ...], diagnostics: Mapping[str, Any] | None, *, n: int, S: int,
                 m: int, z_dist: str, profile: Profile, effort: Effort | None, K: int, seed: int,
                 eta_w: float = 1e-3, eta_z: float = 0.0,
                 on_instance: Callable[[int, int, float], None] | None = None) -> Baseline:
    """Check K random instances of (n, S, m, z_dist) and compare the draw's ``results`` (and its
    ``diagnostics``, :func:`qrcheck.diagnostics.kernel_diagnostics`) with them.

    on_instance(k, K, seconds so far) is called before instance k and once at the end (k = K).
    Raises :class:`InputError` when K < :data:`MIN_K`.
    """
    if int(K) != K or K < MIN_K:
        raise InputError(f"--baseline must be an integer >= {MIN_K} (random instances), got {K}")
    seeds = baseline_seeds(seed, K)
    stats: dict[str, list[float | None]] = {r.eq: [] for r in results}
    diag: dict[str, list[float | None]] = {k: [] for k in _diagnostics.BASELINE_KEYS}
    t0 = time.perf_counter()
    for k, s in enumerate(seeds):
        if on_instance:
            on_instance(k, K, time.perf_counter() - t0)
        d = make_draw(n=n, S=S, m=m, seed=s, z_dist=z_dist, labels="gaussian")
        ctx = CheckContext.of(d, profile, effort)
        for checker in registry():
            if checker.eq in stats:
                stats[checker.eq].append(checker.check(ctx).statistic)
        flat = _diagnostics.flat(_diagnostics.kernel_diagnostics(ctx.q, eta_w, 0.0))
        for key in diag:
            diag[key].append(flat.get(key))
    wall = time.perf_counter() - t0
    if on_instance:
        on_instance(K, K, wall)
    props = {r.eq: Comparison.of(r.statistic, stats[r.eq], str(r.sense)) for r in results}
    mine = _diagnostics.flat(diagnostics) if diagnostics else {}
    diags = {key: Comparison.of(mine.get(key), vals) for key, vals in diag.items()}
    return Baseline(int(K), seeds, n, S, m, z_dist, props, diags, wall)


def column(c: Comparison | None) -> str:
    """The table's baseline cell: ratio to the median, quantile, and a mark when far outside
    (``x3.4 q1 far``); ``-`` without a comparison."""
    if c is None or c.median is None:
        return "-"
    if c.value is None:
        return f"med {c.median:.3g}"
    ratio = "x-" if c.ratio is None else (f"x{c.ratio:.2g}" if abs(c.ratio) < 100 else f"x{c.ratio:.0e}")
    q = f"q{c.quantile:.2g}" if c.quantile is not None else ""
    mark = " FAR" if c.failing else (" far" if c.far else "")
    return f"{ratio} {q}{mark}".strip()

