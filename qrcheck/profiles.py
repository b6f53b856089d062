"""Threshold profiles: every threshold is explicit, ``C * L^p * g(n, S, m)`` with ``L = ln(n S)``,
or (profile ``sharp``) a tail bound at a stated failure probability ``delta`` (``TailRule`` for a
threshold, ``TailCount`` for n* and S*; derivations in docs/sharp.md). A TOML profile based on
``sharp`` may change ``delta``.

A profile is data: it names its rules, it does not compute them. A ``Rule`` is a constant and a
log power; a ``TailRule`` / ``TailCount`` names the property (its key, the equation number) whose
checker evaluates it (``Checker.tail_threshold`` / ``Checker.tail_count`` in
``qrcheck/properties/pNN.py``). Evaluating rules on a draw is the job of
:class:`qrcheck.properties.CheckContext`. ``to_json`` / ``from_json`` are inverse.

A profile fixes, per property, the constant ``C`` and the log power ``p`` (negative for the
Omega~ lower bounds, so "one factor of L" means ``p = -1`` there); each property module fixes its
own scale ``g``. It also fixes the existential parameters n* of (21) and S* of (30), the premise of
(30), and the choice of zeta_0 in (24). The sources of the built-in constants are in
docs/properties.md.

Custom profiles are TOML files (docs/profiles.md)::

    name = "mine"
    base = "paper"            # every key not given is taken from this built-in profile
    [threshold."19"]
    C = 2.0
    p = 1
    [n_star]                   # n* = ceil(C * n * (ln n)^p)
    C = 1.0
    p = 2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Union

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

from . import InputError
from .kernels import KAPPA0
from .probability import DEFAULT_DELTA


@dataclass(frozen=True)
class Rule:
    """A constant and a power of L: the value is ``C * L**p`` (times a scale fixed elsewhere)."""

    C: float
    p: float = 0.0

    def factor(self, L: float) -> float:
        return self.C * L ** self.p

    def to_json(self) -> dict:
        return {"C": self.C, "p": self.p}


@dataclass(frozen=True)
class TailRule:
    """A threshold (a float) computed from a tail bound at the profile's failure probability.

    eq : the property whose checker evaluates it (``Checker.tail_threshold(ctx, delta) -> float``).
    formula : what it is, in words (docs/sharp.md has the derivations). The certificate reports a
        tail threshold with the effective constant ``C = threshold / g``, ``p = 0``, so
        ``threshold = C * L^p * g`` still holds.
    """

    eq: str
    formula: str

    def to_json(self) -> dict:
        return {"tail": self.formula}


@dataclass(frozen=True)
class TailCount:
    """An existential parameter (an int: n* of (21), S* of (30)) from a tail bound at the profile's
    failure probability; ``Checker.tail_count(ctx, delta) -> int`` of property ``eq`` evaluates it."""

    eq: str
    formula: str

    def to_json(self) -> dict:
        return {"tail": self.formula}


ThresholdRule = Union[Rule, TailRule]
CountRule = Union[Rule, TailCount]
AnyRule = Union[Rule, TailRule, TailCount]


@dataclass(frozen=True)
class Profile:
    """Explicit constants for every O~ / Omega~ of Section 3.1 (data only).

    threshold : eq -> Rule (threshold ``C * L^p * g``) or TailRule (threshold from a tail bound).
    n_star : (21), n* = ceil(C n (ln n)^p), or a TailCount (``p21.n_star``).
    S_star : (30), S* = floor(C n^2 S / ((n^2 + m) L^p)), or a TailCount (``p30.S_star``).
    premise_30 : (30) applies when m <= C n S^{1/2} / L^p (the o~ of the premise).
    zeta0_min : (24), zeta_0 must be >= C L^p (the Omega~(1) of (24)).
    gamma0_fraction : kept for schema-1 records (schema 2's zeta_0 is ``zeta0_min`` itself).
    kernel_floor : kappa_0 > 0, the data-independent Omega(1) floor of the (29), (30) bars
        (docs/properties.md "Thresholds (schema 2)").
    delta : failure probability of the profile as a whole (None: no tail rules); each tail rule is
        evaluated at ``delta / delta_split``, so by the union bound a random draw fails any of the
        ``delta_split`` properties with tail rules with probability at most ``delta``.
    delta_split : how many properties share ``delta``.
    """

    name: str
    description: str
    threshold: Mapping[str, ThresholdRule]
    n_star: CountRule
    S_star: CountRule
    premise_30: Rule
    zeta0_min: Rule
    gamma0_fraction: float = 0.5
    delta: float | None = None
    delta_split: int = 1
    source: str = "built-in"
    kernel_floor: float = KAPPA0

    def rule(self, eq: str) -> ThresholdRule:
        """The threshold rule of property ``eq``."""
        try:
            return self.threshold[eq]
        except KeyError:
            raise InputError(f"profile {self.name!r} sets no threshold for ({eq})") from None

    def tail_delta(self) -> float:
        """The failure probability each tail rule is evaluated at: delta / delta_split."""
        if self.delta is None:
            raise InputError(f"profile {self.name!r} has tail rules but no delta")
        return float(self.delta) / self.delta_split

    def to_json(self) -> dict:
        """The full content of the profile, for the certificate's provenance."""
        return {
            "name": self.name, "description": self.description, "source": self.source,
            "threshold": {k: r.to_json() for k, r in sorted(self.threshold.items())},
            "n_star": self.n_star.to_json(),
            "S_star": self.S_star.to_json(),
            "premise_30": self.premise_30.to_json(),
            "zeta0_min": self.zeta0_min.to_json(),
            "gamma0_fraction": self.gamma0_fraction, "delta": self.delta, "delta_split": self.delta_split,
            "kernel_floor": self.kernel_floor,
        }

    to_dict = to_json  # the name the certificate code used before issue 9

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Profile":
        """Inverse of :meth:`to_json`. A tail rule is ``{"tail": formula}``; the property it belongs
        to is its threshold key, or (21) for n*, (30) for S*."""
        try:
            return cls(name=str(d["name"]), description=str(d["description"]),
                       source=str(d.get("source", "built-in")),
                       threshold={str(k): _rule_from(v, TailRule, str(k)) for k, v in d["threshold"].items()},
                       n_star=_rule_from(d["n_star"], TailCount, "21"),
                       S_star=_rule_from(d["S_star"], TailCount, "30"),
                       premise_30=_rule_from(d["premise_30"], None, "30"),
                       zeta0_min=_rule_from(d["zeta0_min"], None, "24"),
                       gamma0_fraction=float(d["gamma0_fraction"]),
                       delta=None if d.get("delta") is None else float(d["delta"]),
                       delta_split=int(d.get("delta_split", 1)),
                       kernel_floor=float(d.get("kernel_floor", KAPPA0)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"profile: not a profile record ({exc.__class__.__name__}: {exc})") from None


def _rule_from(d: Mapping[str, Any], tail: type | None, eq: str) -> AnyRule:
    if "tail" in d:
        if tail is None:
            raise ValueError(f"({eq}) takes no tail rule")
        return tail(eq, str(d["tail"]))
    return Rule(float(d["C"]), float(d.get("p", 0.0)))


PAPER = Profile(
    name="paper",
    description="Constants from the paper's proofs where they give them; one factor of L = ln(nS) "
                "for every other O~ and Omega~.",
    threshold={
        "19": Rule(2.0, 1),            # B: |<x,y>| <= L n^{-1/2}, |x|^2, |y|^2 >= 1/2
        "20": Rule(1.0, 1),            # B: Ver12 Thm 5.39 with t = k^{1/2} L; one factor of L
        "21": Rule(1.0, 0),            # (21): sigma_min >= n/m, explicit
        "22": Rule(1.0 / math.sqrt(2.0), 0),  # B: |(W0)_nu|^2 >= n/2
        "23": Rule(1.0, 1),            # one factor of L
        "24": Rule(1.0, -1),           # |Gamma_0| >= S / L
        "26": Rule(1.0, 1),            # one factor of L
        "27": Rule(1.0, 1),            # L S^{1/2}
        "28": Rule(1.0, 1),            # L (S R + 1)
        "29": Rule(0.5, 0),            # C: matrix Chernoff with delta = 1/2
        "30": Rule(0.25, 0),           # C: sigma_min >= sigma/2, sigma = min(delta^{1/2}/3, 1/2) S^{1/2}
    },
    n_star=Rule(1.0, 2),               # B: n* = n (ln n)^2
    S_star=Rule(1.0, 1),               # C: S* = n^2 S / ((n^2 + m) L^C), C = 1
    premise_30=Rule(1.0, 1),           # m <= n S^{1/2} / L
    zeta0_min=Rule(1.0, -1),           # zeta_0 >= 1 / L
)


SHARP = Profile(
    name="sharp",
    description="Thresholds from exact or explicit tail bounds with union bounds: a random draw fails "
                "any property with probability <= delta = 1e-3, delta/11 each (docs/sharp.md).",
    threshold={
        "19": TailRule("19", "binom(m,2) P(|<x,y>| >= t) = delta, exact Beta tail"),
        "20": TailRule("20", "max_k min(b_k, sqrt k)/(1+sqrt(k/n)), b_k = (sqrt n + sqrt k)/c_n + "
                             "sqrt(2 ln(#k binom(m,k)/delta)/(n-2)) (Lipschitz concentration on spheres)"),
        "21": Rule(1.0, 0),            # (21) is explicit: n/m; the tail bound sets n*
        "22": TailRule("22", "sqrt of the delta/S quantile of chi^2_n"),
        "23": TailRule("23", "2 (Sn + S) Phi-bar(t) = delta"),
        "24": Rule(0.5, 0),            # |Gamma_0| >= S/2 by the choice of zeta_0 (gamma0_fraction)
        "26": TailRule("26", "2 S m Phi-bar(t) = delta"),
        "27": TailRule("27", "sqrt(2 u ln(4m/delta)), m P(V > u) = delta/2, V ~ chi^2_{Bin(S,1/2)}"),
        "28": TailRule("28", "smallest tau with m sum_k P(Bin(S, 2Phi((k/tau-1)/S)-1) >= k) <= delta"),
        "29": TailRule("29", "matrix Chernoff on G0 truncated at ||w||^2 <= r, best r, conditional on X"),
        "30": TailRule("30", "half the matrix Chernoff bound on lambda_min(H_Gamma0), conditional on X"),
    },
    n_star=TailCount("21", "smallest n* from an eps-net and exact Binomial slab counts (App. B made explicit)"),
    S_star=TailCount("30", "floor(Chernoff bound of (30) / (2 ||X||^2)) (Weyl)"),
    premise_30=Rule(1.0, 0),           # m <= n S^{1/2}: the derivation needs no premise; the paper's without L
    zeta0_min=Rule(0.001, 0),          # Gaussian z0: P(zeta_0 < 0.001) <= 2e-6 for S >= 2 (docs/sharp.md)
    delta=DEFAULT_DELTA,
    delta_split=11,                    # (19)-(30) but (25), which fails with probability 0
)

BUILTIN: dict[str, Profile] = {"paper": PAPER, "sharp": SHARP}


MAX_ABS_P = 64          # |p| of a C * L^p rule
MIN_DELTA = 1e-100      # a profile's failure probability: tail rules are solved down to this


def _rule(d: object, where: str, base: AnyRule) -> Rule:
    """A TOML table {C, p} replacing ``base`` (which gives any key not set; a tail rule has no C)."""
    if not isinstance(d, dict):
        raise InputError(f"profile: [{where}] must be a table with C and p")
    unknown = set(d) - {"C", "p"}
    if unknown:
        raise InputError(f"profile: [{where}] has unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(base, Rule) and "C" not in d:
        raise InputError(f"profile: [{where}] replaces a tail-bound rule and must give C")
    vals = {"C": d.get("C", getattr(base, "C", None)), "p": d.get("p", getattr(base, "p", 0.0))}
    for k, v in vals.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"profile: [{where}].{k} must be a finite number, got {v!r}")
    if not abs(vals["p"]) <= MAX_ABS_P:   # L^p must stay a float64 (L = ln(nS) < 50 here)
        raise InputError(f"profile: [{where}].p must be in [-{MAX_ABS_P}, {MAX_ABS_P}], got {vals['p']!r}")
    if not vals["C"] > 0:
        raise InputError(f"profile: [{where}].C must be > 0, got {vals['C']!r}")
    return Rule(float(vals["C"]), float(vals["p"]))


def load_profile(spec: str) -> Profile:
    """A built-in profile by name, or a TOML file (see module docstring)."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"--profile: {spec!r} is neither a built-in profile "
                         f"({', '.join(sorted(BUILTIN))}) nor a file")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"--profile: cannot parse {path} as TOML: {exc}") from None
    base_name = data.get("base", "paper")
    if base_name not in BUILTIN:
        raise InputError(f"profile: base {base_name!r} is not a built-in profile")
    base = BUILTIN[base_name]
    known = {"name", "description", "base", "threshold", "n_star", "S_star", "premise_30",
             "zeta0_min", "gamma0_fraction", "delta", "kernel_floor"}
    unknown = set(data) - known
    if unknown:
        raise InputError(f"profile: unknown key(s) {', '.join(sorted(unknown))}")
    thr = dict(base.threshold)
    if not isinstance(data.get("threshold", {}), dict):
        raise InputError('profile: threshold must be tables such as [threshold."19"] with C and p')
    for eq, d in (data.get("threshold") or {}).items():
        if eq not in base.threshold:
            raise InputError(f"profile: [threshold.\"{eq}\"] names no property with a threshold")
        thr[eq] = _rule(d, f'threshold."{eq}"', base.threshold[eq])
    kw = {k: _rule(data[k], k, getattr(base, k)) for k in ("n_star", "S_star", "premise_30", "zeta0_min")
          if k in data}
    frac = data.get("gamma0_fraction", base.gamma0_fraction)
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac <= 1:
        raise InputError("profile: gamma0_fraction must be in (0, 1]")
    delta = data.get("delta", base.delta)
    if delta is not None and (isinstance(delta, bool) or not isinstance(delta, (int, float))
                              or not MIN_DELTA <= delta < 1):
        raise InputError(f"profile: delta must be a number in [{MIN_DELTA:g}, 1), got {delta!r}")
    kf = data.get("kernel_floor", base.kernel_floor)
    if isinstance(kf, bool) or not isinstance(kf, (int, float)) or not (math.isfinite(kf) and kf > 0):
        raise InputError(f"profile: kernel_floor must be a finite number > 0, got {kf!r}")
    return replace(base, name=str(data.get("name", path.stem)), kernel_floor=float(kf),
                   description=str(data.get("description", f"custom profile from {path.name}")),
                   threshold=thr, gamma0_fraction=float(frac),
                   delta=None if delta is None else float(delta), source=str(path), **kw)
