"""Threshold profiles: every threshold is explicit, ``C * L^p * g(n, S, m)`` with ``L = ln(n S)``.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

from . import InputError


@dataclass(frozen=True)
class Rule:
    """A constant and a power of L: the value is ``C * L**p`` (times a scale fixed elsewhere)."""

    C: float
    p: float = 0.0

    def factor(self, L: float) -> float:
        return self.C * L ** self.p


@dataclass(frozen=True)
class Profile:
    """Explicit constants for every O~ / Omega~ of Section 3.1.

    threshold : eq -> Rule; the threshold of that property is ``C * L^p * g``.
    n_star : (21), n* = ceil(C n (ln n)^p).
    S_star : (30), S* = floor(C n^2 S / ((n^2 + m) L^p)).
    premise_30 : (30) applies when m <= C n S^{1/2} / L^p (the o~ of the premise).
    zeta0_min : (24), zeta_0 must be >= C L^p (the Omega~(1) of (24)).
    gamma0_fraction : (24) default zeta_0 is the largest value keeping |Gamma_0| >= fraction * S.
    delta : target failure probability the profile was calibrated for (None: not calibrated).
    """

    name: str
    description: str
    threshold: Mapping[str, Rule]
    n_star: Rule
    S_star: Rule
    premise_30: Rule
    zeta0_min: Rule
    gamma0_fraction: float = 0.5
    delta: float | None = None
    source: str = "built-in"

    def rule(self, eq: str) -> Rule:
        try:
            return self.threshold[eq]
        except KeyError:
            raise InputError(f"profile {self.name!r} sets no threshold for ({eq})") from None

    def n_star_value(self, n: int) -> int:
        return int(math.ceil(self.n_star.C * n * math.log(n) ** self.n_star.p)) if n > 1 else 1

    def S_star_value(self, n: int, S: int, m: int) -> int:
        L = math.log(n * S)
        return int(math.floor(self.S_star.C * n * n * S / ((n * n + m) * L ** self.S_star.p)))

    def premise_30_bound(self, n: int, S: int) -> float:
        return self.premise_30.C * n * math.sqrt(S) / math.log(n * S) ** self.premise_30.p

    def to_dict(self) -> dict:
        """The full content of the profile, for the certificate's provenance."""
        return {
            "name": self.name, "description": self.description, "source": self.source,
            "threshold": {k: {"C": r.C, "p": r.p} for k, r in sorted(self.threshold.items())},
            "n_star": {"C": self.n_star.C, "p": self.n_star.p},
            "S_star": {"C": self.S_star.C, "p": self.S_star.p},
            "premise_30": {"C": self.premise_30.C, "p": self.premise_30.p},
            "zeta0_min": {"C": self.zeta0_min.C, "p": self.zeta0_min.p},
            "gamma0_fraction": self.gamma0_fraction, "delta": self.delta,
        }


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

BUILTIN: dict[str, Profile] = {"paper": PAPER}


def register_builtin(profile: Profile) -> None:
    BUILTIN[profile.name] = profile


def _rule(d: object, where: str, base: Rule) -> Rule:
    if not isinstance(d, dict):
        raise InputError(f"profile: [{where}] must be a table with C and p")
    unknown = set(d) - {"C", "p"}
    if unknown:
        raise InputError(f"profile: [{where}] has unknown key(s) {', '.join(sorted(unknown))}")
    vals = {"C": d.get("C", base.C), "p": d.get("p", base.p)}
    for k, v in vals.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"profile: [{where}].{k} must be a finite number, got {v!r}")
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
             "zeta0_min", "gamma0_fraction", "delta"}
    unknown = set(data) - known
    if unknown:
        raise InputError(f"profile: unknown key(s) {', '.join(sorted(unknown))}")
    thr = dict(base.threshold)
    for eq, d in (data.get("threshold") or {}).items():
        if eq not in base.threshold:
            raise InputError(f"profile: [threshold.\"{eq}\"] names no property with a threshold")
        thr[eq] = _rule(d, f'threshold."{eq}"', base.threshold[eq])
    kw = {k: _rule(data[k], k, getattr(base, k)) for k in ("n_star", "S_star", "premise_30", "zeta0_min")
          if k in data}
    frac = data.get("gamma0_fraction", base.gamma0_fraction)
    if not isinstance(frac, (int, float)) or not 0 < frac <= 1:
        raise InputError("profile: gamma0_fraction must be in (0, 1]")
    return replace(base, name=str(data.get("name", path.stem)),
                   description=str(data.get("description", f"custom profile from {path.name}")),
                   threshold=thr, gamma0_fraction=float(frac), delta=data.get("delta", base.delta),
                   source=str(path), **kw)
