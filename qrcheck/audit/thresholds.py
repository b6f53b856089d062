"""The audit's own thresholds for (19)-(30): the built-in profiles ``paper`` and ``sharp``, their
constants and formulas, versioned (trusted kernel: imports only numpy, scipy and the stdlib).

Written from ../shared/CONTRACT.md, the paper (Appendices B, C) and the derivations stated in
docs/properties.md, docs/profiles.md and docs/sharp.md, not from the verify-side code: the tail
rules of ``sharp`` are re-derived here with other routes to the same laws (the Beta law of
``<x, y>^2`` instead of ``(1 + <x, y>)/2``, the Gamma law of chi^2, the chi law of ``|g|``, ...).

A threshold of a ``C * L^p`` rule is ``C * L^p * g(n, S, m)``, ``L = ln(nS)``; a tail rule gives the
threshold itself, reported with the effective constant ``C = threshold / g``, ``p = 0``.

Versions (:data:`FORMULAS_VERSION`): a certificate is audited against the formulas of the version
it was written under (:func:`formulas_version`), so one made by an older qrcheck whose formulas
have changed since gets a notice (:func:`version_notice`) instead of a tamper verdict.

- version 1 (``qrcheck.certificate/1``): (29) ``C S lambda_min(H^z(X))``, (30)
  ``C S min(lambda_min(H^w(X))/9, 1/4)`` (data-dependent bars); (24) threshold ``C L^p S`` shown
  beside the rule ``|Gamma_0| >= gamma0_fraction S``; (20) over the examined k of the search grid.
- version 2 (``qrcheck.certificate/2``): see :data:`VERSION_NOTES`.

Entry point: :func:`expected`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special
import scipy.stats

FORMULAS_VERSION = 2
VERSION_OF_SCHEMA = {"qrcheck.certificate/1": 1, "qrcheck.certificate/2": 2}
VERSION_NOTES = {
    1: "schema-1 formulas: (29)/(30) bars scale with lambda_min of the limit kernels of this X; "
       "(24) shows C L^p S but applies |Gamma_0| >= gamma0_fraction S; (20) over the examined k",
    2: "schema-2 formulas (issue 10): (29)/(30) bars proved from the (19) statistic (Appendix C), "
       "(24) threshold shown = threshold applied, (20) over every k, (30) with |Gamma_0|",
}

# ---- the built-in profiles, per version -------------------------------------------------------------
# A threshold entry is ("rule", C, p) or ("tail", formula); existentials likewise.  The formula
# strings are the names the certificate gives its tail rules (provenance.profile).
_T19 = "binom(m,2) P(|<x,y>| >= t) = delta, exact Beta tail"
_T20 = ("max_k min(b_k, sqrt k)/(1+sqrt(k/n)), b_k = (sqrt n + sqrt k)/c_n + "
        "sqrt(2 ln(#k binom(m,k)/delta)/(n-2)) (Lipschitz concentration on spheres)")
_T22 = "sqrt of the delta/S quantile of chi^2_n"
_T23 = "2 (Sn + S) Phi-bar(t) = delta"
_T26 = "2 S m Phi-bar(t) = delta"
_T27 = "sqrt(2 u ln(4m/delta)), m P(V > u) = delta/2, V ~ chi^2_{Bin(S,1/2)}"
_T28 = "smallest tau with m sum_k P(Bin(S, 2Phi((k/tau-1)/S)-1) >= k) <= delta"
_T29 = "matrix Chernoff on G0 truncated at ||w||^2 <= r, best r, conditional on X"
_T30 = "half the matrix Chernoff bound on lambda_min(H_Gamma0), conditional on X"
_TN = "smallest n* from an eps-net and exact Binomial slab counts (App. B made explicit)"
_TS = "floor(Chernoff bound of (30) / (2 ||X||^2)) (Weyl)"

_PAPER_V1: dict[str, Any] = {
    "threshold": {"19": ("rule", 2.0, 1.0), "20": ("rule", 1.0, 1.0), "21": ("rule", 1.0, 0.0),
                  "22": ("rule", 2.0 ** -0.5, 0.0), "23": ("rule", 1.0, 1.0), "24": ("rule", 1.0, -1.0),
                  "26": ("rule", 1.0, 1.0), "27": ("rule", 1.0, 1.0), "28": ("rule", 1.0, 1.0),
                  "29": ("rule", 0.5, 0.0), "30": ("rule", 0.25, 0.0)},
    "n_star": ("rule", 1.0, 2.0), "S_star": ("rule", 1.0, 1.0),
    "premise_30": ("rule", 1.0, 1.0), "zeta0_min": ("rule", 1.0, -1.0),
    "gamma0_fraction": 0.5, "delta": None, "delta_split": 1,
}
_SHARP_V1: dict[str, Any] = {
    "threshold": {"19": ("tail", _T19), "20": ("tail", _T20), "21": ("rule", 1.0, 0.0),
                  "22": ("tail", _T22), "23": ("tail", _T23), "24": ("rule", 0.5, 0.0),
                  "26": ("tail", _T26), "27": ("tail", _T27), "28": ("tail", _T28),
                  "29": ("tail", _T29), "30": ("tail", _T30)},
    "n_star": ("tail", _TN), "S_star": ("tail", _TS),
    "premise_30": ("rule", 1.0, 0.0), "zeta0_min": ("rule", 0.001, 0.0),
    "gamma0_fraction": 0.5, "delta": 1e-3, "delta_split": 11,
}
BUILTIN: dict[int, dict[str, dict[str, Any]]] = {
    1: {"paper": _PAPER_V1, "sharp": _SHARP_V1},
    2: {"paper": {**_PAPER_V1, "kernel_floor": 1e-3}, "sharp": {**_SHARP_V1, "kernel_floor": 1e-3}},
}

SENSE = {"19": "<=", "20": "<=", "21": ">=", "22": ">=", "23": "<=", "24": ">=", "25": ">",
         "26": "<=", "27": "<=", "28": "<=", "29": ">=", "30": ">="}
EQS = tuple(SENSE)


# ---- what audit expects ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectedThreshold:
    """The threshold of one property as the audit derives it.

    threshold : the bar (also where the status is not_applicable: (30)'s premise is in ``extras``).
    C, p, g : the rule, ``threshold = C * L^p * g`` (tail rules: effective C = threshold/g, p = 0;
        None where g = 0; (25): C = p = None, g = 1).
    sense : "<=", ">=" or ">".
    reachable : (lo, hi), every value the statistic can take; :attr:`vacuous` says the threshold
        can never bind on it.
    kind : "rule", "tail" or "fixed" ((25)).
    extras : per property: (20) ``per_k_reach`` (k -> sqrt(k) max_j ||X^j|| / (1 + sqrt(k/n)), the
        largest column norm's upper end in version 2) and ``ks`` (the k the threshold covers);
        (21) ``n_star``, ``family_empty``; (24) ``zeta0``, ``zeta0_min``, ``Gamma0`` (sorted
        indices), ``Gamma0_rule``, ``min_size``; (29) ``kappa0``, ``lambda_bar`` (the Omega(1)
        factor used: version 1 lambda_min(H^z(X)), version 2 ``beta_z``) and ``gamma_bar``;
        (30) ``premise_bound``, ``premise_holds``, ``S_star``, ``family_empty``, ``Gamma0_size``,
        ``kappa0``, ``lambda_bar`` (version 2 ``beta_w``), ``gamma_bar``.
    version : the formulas version used.
    """

    eq: str
    threshold: float | None
    C: float | None
    p: float | None
    g: float
    sense: str
    reachable: tuple[float, float]
    kind: str
    version: int
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def vacuous(self) -> bool:
        """The threshold lies outside what the statistic can reach (CONTRACT ``vacuous``)."""
        if self.threshold is None:
            return False
        lo, hi = self.reachable
        if self.sense == "<=":
            return self.threshold >= hi
        if self.sense == ">":
            return self.threshold < lo
        return self.threshold <= lo


class ProfileError(ValueError):
    """The certificate's profile cannot be audited (unknown tail rule, non-numeric constant)."""


def formulas_version(cert: Mapping[str, Any]) -> int:
    """The formulas version a certificate was written under: from its ``schema`` tag."""
    return VERSION_OF_SCHEMA.get(str(cert.get("schema")), FORMULAS_VERSION)


def version_notice(cert: Mapping[str, Any]) -> str | None:
    """A notice when the certificate's formulas are older than this audit's, else None."""
    v = formulas_version(cert)
    if v >= FORMULAS_VERSION:
        return None
    return (f"thresholds audited with the formulas of version {v} ({cert.get('schema')}: "
            f"{VERSION_NOTES[v]}); this qrcheck writes version {FORMULAS_VERSION}")


def _num(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ProfileError(f"profile {where} must be a finite number, got {v!r}")
    return float(v)


def _entry(d: Any, where: str, builtin_entry: tuple) -> tuple:
    """A rule entry of a custom profile as ("rule", C, p) or ("tail", formula)."""
    if not isinstance(d, Mapping):
        raise ProfileError(f"profile {where} must be an object")
    if "tail" in d:
        if builtin_entry[0] != "tail" or d["tail"] != builtin_entry[1]:
            raise ProfileError(f"profile {where} names an unknown tail rule {d['tail']!r}")
        return builtin_entry
    return ("rule", _num(d.get("C"), f"{where}.C"), _num(d.get("p", 0.0), f"{where}.p"))


def profile_table(cert: Mapping[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """(name, constants, builtin) the certificate must be audited against.

    A profile whose name is a built-in's is ALWAYS the built-in of the certificate's version,
    whatever ``source`` or its listed constants say (:func:`profile_mismatches` names the
    differences). A custom profile is rebuilt from ``provenance.profile``: ``C * L^p`` rules
    from its constants, tail rules only by the formulas of a built-in (a ``sharp``-based TOML
    keeps them), evaluated at its ``delta / delta_split``.
    """
    v = formulas_version(cert)
    prof = (cert.get("provenance") or {}).get("profile") or {}
    name = (cert.get("parameters") or {}).get("profile", prof.get("name"))
    name = prof.get("name", name) if name is None else name
    tables = BUILTIN[v]
    if name in tables or prof.get("name") in tables:
        key = name if name in tables else prof.get("name")
        return str(key), tables[key], True
    if not isinstance(prof, Mapping) or not prof:
        raise ProfileError(f"custom profile {name!r} without provenance.profile")
    base = tables["sharp"] if any(isinstance(r, Mapping) and "tail" in r
                                  for r in (prof.get("threshold") or {}).values()) else tables["paper"]
    thr_in = prof.get("threshold") or {}
    if not isinstance(thr_in, Mapping):
        raise ProfileError("profile threshold must be an object")
    out: dict[str, Any] = {"threshold": {}}
    sharp = tables["sharp"]
    for eq in base["threshold"]:
        if eq not in thr_in:
            raise ProfileError(f"profile threshold.{eq} missing")
        ref = sharp["threshold"][eq] if sharp["threshold"][eq][0] == "tail" else base["threshold"][eq]
        out["threshold"][eq] = _entry(thr_in[eq], f"threshold.{eq}", ref)
    for k in ("n_star", "S_star", "premise_30", "zeta0_min"):
        ref = sharp[k] if sharp[k][0] == "tail" else base[k]
        out[k] = _entry(prof.get(k), k, ref)
        if k in ("premise_30", "zeta0_min") and out[k][0] != "rule":
            raise ProfileError(f"profile {k} must be a C, p rule")
    frac = _num(prof.get("gamma0_fraction", 0.5), "gamma0_fraction")
    if not 0 < frac <= 1:
        raise ProfileError("profile gamma0_fraction must be in (0, 1]")
    out["gamma0_fraction"] = frac
    if "kernel_floor" in tables["paper"]:
        kf = _num(prof.get("kernel_floor", KAPPA0), "kernel_floor")
        if not kf > 0:
            raise ProfileError("profile kernel_floor must be > 0")
        out["kernel_floor"] = kf
    delta = prof.get("delta")
    uses_tail = any(e[0] == "tail" for e in [*out["threshold"].values(), out["n_star"], out["S_star"]])
    if uses_tail:
        delta = _num(delta, "delta")
        if not 0 < delta < 1:
            raise ProfileError("profile delta must be in (0, 1)")
    out["delta"] = None if delta is None else float(delta)
    split = prof.get("delta_split", 1)
    if isinstance(split, bool) or not isinstance(split, int) or split < 1:
        raise ProfileError(f"profile delta_split must be a positive integer, got {split!r}")
    out["delta_split"] = split
    return str(name), out, False


def _listed(entry: tuple) -> dict:
    return {"tail": entry[1]} if entry[0] == "tail" else {"C": entry[1], "p": entry[2]}


def profile_mismatches(cert: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, claimed, built-in) for every constant of a built-in-named profile that differs from
    the built-in of the certificate's version (``source`` is not trusted). Empty for custom ones."""
    name, table, builtin = profile_table(cert)
    if not builtin:
        return []
    prof = (cert.get("provenance") or {}).get("profile")
    out: list[tuple[str, Any, Any]] = []
    if not isinstance(prof, Mapping):
        return [("provenance.profile", prof, "the built-in profile's constants")]
    if prof.get("name") != name:
        out.append(("provenance.profile.name", prof.get("name"), name))
    pname = (cert.get("parameters") or {}).get("profile")
    if pname != name:
        out.append(("parameters.profile", pname, name))
    thr = prof.get("threshold") if isinstance(prof.get("threshold"), Mapping) else {}
    for eq, e in table["threshold"].items():
        if not _same(thr.get(eq), _listed(e)):
            out.append((f"provenance.profile.threshold.{eq}", thr.get(eq), _listed(e)))
    for eq in thr:
        if eq not in table["threshold"]:
            out.append((f"provenance.profile.threshold.{eq}", thr[eq], None))
    for k in ("n_star", "S_star", "premise_30", "zeta0_min"):
        if not _same(prof.get(k), _listed(table[k])):
            out.append((f"provenance.profile.{k}", prof.get(k), _listed(table[k])))
    for k in ("gamma0_fraction", "delta", "delta_split"):
        if not _same(prof.get(k), table[k]):
            out.append((f"provenance.profile.{k}", prof.get(k), table[k]))
    if "kernel_floor" in table and not _same(prof.get("kernel_floor", table["kernel_floor"]), table["kernel_floor"]):
        out.append(("provenance.profile.kernel_floor", prof.get("kernel_floor"), table["kernel_floor"]))
    if prof.get("source", "built-in") != "built-in":
        out.append(("provenance.profile.source", prof.get("source"), "built-in"))
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, Mapping):
        return isinstance(a, Mapping) and set(a) == set(b) and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, bool) or b is None or isinstance(b, str):
        return a == b and type(a) is type(b)
    if isinstance(a, bool) or not isinstance(a, (int, float)):
        return False
    return a == b or abs(a - b) <= 1e-15 * abs(b)


# ---- data quantities the rules read (independent code) ------------------------------------------------
def _angle(g: np.ndarray) -> np.ndarray:
    """arccos(g) for g clipped to [-1, 1], as atan2(sqrt((1-g)(1+g)), g): accurate at g -> +-1."""
    g = np.clip(g, -1.0, 1.0)
    return np.arctan2(np.sqrt((1.0 - g) * (1.0 + g)), g)


def limit_kernels(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H^w(X), H^z(X)), each (m, m), X (n, m) with unit columns (Appendix C).

    With phi the angle between X^j and X^j': E[1(w.x > 0) 1(w.x' > 0)] = (pi - phi)/(2 pi) and
    E[relu(w.x) relu(w.x')] = (sin phi + (pi - phi) cos phi)/(2 pi), w ~ N(0, I_n).
    """
    g = np.clip(X.T @ X, -1.0, 1.0)
    phi = _angle(g)
    Hw = g * (np.pi - phi) / (2.0 * np.pi)
    Hz = (np.sqrt((1.0 - g) * (1.0 + g)) + (np.pi - phi) * g) / (2.0 * np.pi)
    return Hw, Hz


_EPS = 2.0 ** -53  # unit roundoff of float64


def _gamma_k(k: int) -> float:
    """gamma_k = k u / (1 - k u): the relative error bound of a k-term float64 sum of products."""
    return k * _EPS / (1.0 - k * _EPS)


@dataclass
class _Data:
    """Lazily computed quantities of one draw (the audit's own, dense).

    enclosures : eq -> (lower, upper) from the audit's statistics (the (19) upper end is used when
    given; otherwise a rigorous one is computed here).
    dense_m : above this m the limit kernels' eigenvalues (version 1's factors) are not computed
    (:class:`~qrcheck.audit.ledger.Unverifiable`); None: no limit."""

    X: np.ndarray
    z0: np.ndarray | None
    W0: np.ndarray | None = None
    enclosures: Mapping[str, Any] = field(default_factory=dict)
    dense_m: int | None = None
    _cache: dict = field(default_factory=dict)

    def _limit(self, which: int) -> float:
        m = self.X.shape[1]
        if self.dense_m is not None and m > self.dense_m:
            from .ledger import Unverifiable

            raise Unverifiable(f"version 1's thresholds of (29), (30) need lambda_min of the m x m limit kernels, "
                               f"which the audit does not form above m = {self.dense_m} (m = {m})",
                               "audit it where m x m matrices fit: qrcheck.audit(..., dense_m=M)")
        return float(scipy.linalg.eigvalsh(limit_kernels(self.X)[which])[0])

    def _get(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def lam_Hw(self) -> float:
        return self._get("Hw", lambda: self._limit(0))

    @property
    def lam_Hz(self) -> float:
        return self._get("Hz", lambda: self._limit(1))

    @property
    def X_norm2(self) -> float:
        """||X||^2 (float64 value)."""
        return self._get("X2", lambda: float(scipy.linalg.svdvals(self.X)[0]) ** 2)

    @property
    def X_norm2_upper(self) -> float:
        """A rigorous upper bound on ||X||^2: lambda_max of the smaller Gram M computed in float64,
        plus ||M - fl(M)||_2 <= gamma_k ||X||_F^2 and the eigensolver's backward error
        (10 d u ||M||, d the order of M), rounded up."""
        def f():
            n, m = self.X.shape
            M = self.X @ self.X.T if n <= m else self.X.T @ self.X
            lam = float(scipy.linalg.eigvalsh(M)[-1])
            fro2 = float(np.sum(self.X * self.X)) * (1.0 + _gamma_k(self.X.size))
            slack = (_gamma_k(max(n, m)) + 10.0 * M.shape[0] * _EPS) * fro2
            return float(np.nextafter(max(lam, 0.0) + slack * (1.0 + 4 * _EPS), math.inf))
        return self._get("X2u", f)

    @property
    def col_norm2_bounds(self) -> tuple[float, float]:
        """(lower of min_j ||X^j||^2, upper of max_j ||X^j||^2), rigorous."""
        def f():
            d = np.einsum("ij,ij->j", self.X, self.X)
            gk = _gamma_k(self.X.shape[0])
            return (float(d.min()) / (1.0 + gk) * (1.0 - 2 * _EPS), float(d.max()) * (1.0 + gk) * (1.0 + 2 * _EPS))
        return self._get("cn", f)

    @property
    def colmax(self) -> float:
        return self._get("colmax", lambda: float(np.sqrt(np.max(np.einsum("ij,ij->j", self.X, self.X)))))

    @property
    def colmax_upper(self) -> float:
        return float(np.nextafter(math.sqrt(self.col_norm2_bounds[1]), math.inf))

    @property
    def upper_19(self) -> float:
        """The (19) upper end: the audit's enclosure when given, else max_{j != j'} |fl(X^T X)| plus
        gamma_n (|X|^T |X|)_{jj'}, rigorous."""
        enc = self.enclosures.get("19") if self.enclosures else None
        if enc is not None and enc[1] is not None:
            return float(enc[1])

        def f():
            n, m = self.X.shape
            if m < 2:
                return 0.0
            G = np.abs(self.X.T @ self.X)
            A = np.abs(self.X).T @ np.abs(self.X)
            B = G + _gamma_k(n) * A * (1.0 + 4 * _EPS)
            np.fill_diagonal(B, -np.inf)
            return float(np.nextafter(B.max(), math.inf))
        return self._get("u19", f)

    @property
    def gamma_bar(self) -> float:
        """(19)'s upper end over the lower end of min_j ||X^j||^2: bounds every cosine."""
        lo = self.col_norm2_bounds[0]
        return self.upper_19 / lo if lo > 0 else math.inf

    @property
    def P0(self) -> np.ndarray:
        return self._get("P0", lambda: self.W0 @ self.X)

    @property
    def P0_radius(self) -> np.ndarray:
        """|fl(W0 X) - W0 X| <= gamma_n ||(W0)_nu|| ||X^j|| entrywise (Cauchy-Schwarz), rounded up."""
        def f():
            W0, n = self.W0, self.X.shape[0]
            r = np.sqrt(np.einsum("ij,ij->i", W0, W0)) * (1.0 + _gamma_k(n) + 4 * _EPS)
            c = np.sqrt(np.einsum("ij,ij->j", self.X, self.X)) * (1.0 + _gamma_k(n) + 4 * _EPS)
            return (_gamma_k(n) * (1.0 + 4 * _EPS)) * np.outer(r, c) + 1e-300
        return self._get("P0r", f)

    def reach_v2(self, eq: str) -> tuple[float, float] | None:
        """Version 2's reachable ranges of (22), (23), (26), (27), (29) (None: the default)."""
        W0 = self.W0
        if W0 is None or self.z0 is None:
            return None
        cmax = self.colmax_upper
        if eq == "22":
            enc = self.enclosures.get("25")
            lo25 = float(enc[0]) if enc is not None and enc[0] is not None else float(
                max(0.0, np.min(np.abs(self.P0) - self.P0_radius)))
            return (max(lo25 / cmax * (1.0 - 1e-12), 0.0) if cmax > 0 else 0.0, math.inf)
        if eq == "23":
            return (0.0, max(_frob_upper(W0), _frob_upper(self.z0)))
        if eq == "26":
            return (0.0, _frob_upper(W0) * cmax * (1.0 + 1e-12))
        if eq == "27":
            F0 = np.maximum(self.P0, 0.0)
            return (0.0, _frob_upper(F0) * _frob_upper(self.z0) * (1.0 + 1e-12))
        if eq == "29":
            err = self.enclosures.get("G0_error")
            if err is None:
                F0 = np.maximum(self.P0, 0.0)
                f = _frob_upper(F0)
                d = _frob_upper(self.P0_radius)
                err = _gamma_k(F0.shape[0]) * f * f + 2.0 * f * d + d * d
            return (float(err), math.inf)
        return None

    def beta(self, kind: str) -> float:
        return self._get("beta" + kind, lambda: hadamard_beta(kind, self.gamma_bar, self.X.shape[1]))


def _frob_upper(M: np.ndarray) -> float:
    """An upper bound on ||M||_F (float64 sum of squares with its gamma_k error, rounded up)."""
    M = np.asarray(M, dtype=np.float64)
    s = float(np.sum(M * M))
    return float(np.nextafter(math.sqrt(s * (1.0 + _gamma_k(M.size)) + 1e-300), math.inf))


# ---- Appendix C: lambda_min of the limit kernels from (19) -----------------------------------------
KAPPA0 = 1e-3          # the data-independent Omega(1) floor of (29), (30) (profile key kernel_floor)
_SERIES_TERMS = 200_000
_SERIES_SAFETY = 1e-12


def _series_coefficients(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(powers, coefficients) of f^w or f^z as power series in g (Appendix C, erratum 4 for f^z).

    c_r = binom(2r, r) / 4^r by the recurrence c_{r+1} = c_r (2r+1)/(2r+2) (exact to ~1e-14).
    f^w = g/4 + sum_{r>=0} c_r g^(2r+2) / ((2r+1) 2 pi);
    f^z = 1/(2 pi) + g/4 + sum_{r>=1} c_r g^(2r) / ((2r-1)^2 2 pi)  [(2r-3)!!/(2r)!! = c_r/(2r-1)].
    """
    key = "_coef_" + kind
    cached = globals().get(key)
    if cached is not None:
        return cached
    r = np.arange(_SERIES_TERMS, dtype=np.float64)
    step = np.ones(_SERIES_TERMS)
    step[1:] = (2.0 * r[:-1] + 1.0) / (2.0 * r[:-1] + 2.0)
    c = np.cumprod(step)
    if kind == "w":
        powers = np.concatenate([[1.0], 2.0 * r + 2.0])
        coef = np.concatenate([[0.25], c / ((2.0 * r + 1.0) * 2.0 * np.pi)])
    else:
        powers = np.concatenate([[0.0, 1.0], 2.0 * r[1:]])
        coef = np.concatenate([[1.0 / (2.0 * np.pi), 0.25], c[1:] / ((2.0 * r[1:] - 1.0) ** 2 * 2.0 * np.pi)])
    globals()[key] = (powers, coef)
    return powers, coef


def hadamard_beta(kind: str, gamma: float, m: int) -> float:
    """beta(gamma, m) = sum_p a_p (1 - (m-1) gamma^p)_+ <= lambda_min(H^kind(X)) for unit columns
    with every cosine <= gamma (Schur: each Hadamard power PSD; Gershgorin on each), truncated at
    the tabulated powers with the tail (1 - (m-1) gamma^P)_+ (1/2 - sum a_p), P the next power,
    times 1 - 1e-12. 1/2 for m = 1, 0 for gamma >= 1."""
    if m <= 1:
        return 0.5
    if not gamma < 1.0:
        return 0.0
    gamma = max(float(gamma), 0.0)
    powers, coef = _series_coefficients(kind)
    with np.errstate(under="ignore", divide="ignore"):
        gp = np.power(gamma, powers)
    head = float(np.dot(coef, np.clip(1.0 - (m - 1) * gp, 0.0, None)))
    P = powers[-1] + 2.0
    rest = max(0.0, 0.5 - float(np.sum(coef)))
    tail = rest * max(0.0, 1.0 - (m - 1) * (gamma ** P))
    return float(max(0.0, (head + tail) * (1.0 - _SERIES_SAFETY)))


# ---- the tail rules of `sharp`, re-derived ------------------------------------------------------------
def _lnC(m: int, k: int) -> float:
    """ln binom(m, k) = -ln(m+1) - ln B(m-k+1, k+1)."""
    return float(-math.log(m + 1) - scipy.special.betaln(m - k + 1, k + 1))


def sharp_19(n: int, m: int, delta: float) -> float:
    """<x, y>^2 ~ Beta(1/2, (n-1)/2) for x, y uniform on S^{n-1}: binom(m,2) P(<x,y>^2 >= t^2) = delta."""
    if n < 2 or m < 2:
        return 1.0
    return float(math.sqrt(scipy.stats.beta.isf(delta / (m * (m - 1) / 2.0), 0.5, (n - 1) / 2.0)))


def _c_n(n: int) -> float:
    """E||g||, g ~ N(0, I_n): the mean of the chi law with n degrees of freedom."""
    return float(scipy.stats.chi(n).mean())


def _b_k(n: int, m: int, k: int, delta_k: float) -> float:
    """(sqrt n + sqrt k)/c_n + sqrt(2 ln(binom(m, k)/delta_k)/(n - 2)) (docs/sharp.md, (20))."""
    return (math.sqrt(n) + math.sqrt(k)) / _c_n(n) + math.sqrt(2.0 * (_lnC(m, k) - math.log(delta_k)) / (n - 2))


def examined_k(n: int, m: int) -> list[int]:
    """Version 1's (20) grid: every k for m <= 64, else the powers of two, n and m (<= m)."""
    if m <= 64:
        return list(range(1, m + 1))
    ks = {min(n, m), m}
    p = 1
    while p <= m:
        ks.add(p)
        p *= 2
    return sorted(ks)


def sharp_20(n: int, m: int, delta: float, ks: list[int]) -> float:
    """max over k in ks of min(b_k, sqrt k)/(1 + sqrt(k/n)), b_k at delta/#ks; n < 3: the reach."""
    out = 0.0
    for k in ks:
        b = _b_k(n, m, k, delta / len(ks)) if n >= 3 else math.inf
        out = max(out, min(b, math.sqrt(k)) / (1.0 + math.sqrt(k / n)))
    return out


# the (eps, r) grid of (21)'s eps-net argument (part of the formula: docs/sharp.md "a grid")
_EPS_GRID = (1e-4, 0.5, 28)
_R_GRID = (1e-3, 1.0, 40)


def sharp_n_star(n: int, m: int, delta: float) -> int:
    """(21)'s n*: min over the grid of c - 1 + ceil(((n/m + eps B)/r)^2), m + 1 when none <= m.

    B = b_m at delta/2 bounds ||X||; |N| <= (1 + 2/eps)^n; the slab count #{j : <X^j, xi>^2 < r^2}
    is Binomial(m, p), p = P(Beta(1/2, (n-1)/2) < r^2); c - 1 the least count with
    |N| P(Bin(m, p) > c - 1) <= delta/2.
    """
    if n < 3 or m < n:
        return m + 1
    B = _b_k(n, m, m, delta / 2.0)
    best = m + 1
    counts = np.arange(m + 1)
    for eps in np.geomspace(*_EPS_GRID):
        log_q = math.log(delta / 2.0) - n * math.log1p(2.0 / eps)
        for r in np.geomspace(*_R_GRID) / math.sqrt(n):
            p = float(scipy.stats.beta.cdf(r * r, 0.5, (n - 1) / 2.0))
            if not 0.0 < p < 1.0:
                continue
            ok = np.nonzero(scipy.stats.binom.logsf(counts, m, p) <= log_q)[0]
            if ok.size:
                best = min(best, int(ok[0]) + int(math.ceil(((n / m + eps * B) / r) ** 2)))
    return min(best, m + 1)


def sharp_22(n: int, S: int, delta: float) -> float:
    """chi^2_n = 2 Gamma(n/2): the delta/S quantile, square-rooted."""
    return float(math.sqrt(2.0 * scipy.stats.gamma.ppf(delta / S, n / 2.0)))


def _gauss_isf(q: float) -> float:
    """t with P(|g| >= t) = 2 q, g ~ N(0, 1): the chi law with one degree of freedom."""
    return float(scipy.stats.chi.isf(2.0 * q, 1))


def _relu2_sf(S: int, u: float) -> float:
    """P(sum of S i.i.d. relu(g)^2 > u) = sum_{k>=1} Bin(S, 1/2)(k) P(chi^2_k > u)."""
    k = np.arange(1, S + 1)
    w = np.exp(scipy.special.gammaln(S + 1) - scipy.special.gammaln(k + 1)
               - scipy.special.gammaln(S - k + 1) - S * math.log(2.0))
    return float(np.dot(w, scipy.special.gammaincc(k / 2.0, u / 2.0)))


def sharp_27(S: int, m: int, delta: float) -> float:
    """sqrt(2 u ln(4m/delta)) with m P(V > u) = delta/2 (Hoeffding / Gaussian given W0)."""
    target = delta / (2.0 * m)
    hi = 2.0 * S
    while _relu2_sf(S, hi) > target:
        hi *= 2.0
    u = scipy.optimize.brentq(lambda v: math.log(max(_relu2_sf(S, v), 1e-300)) - math.log(target),
                              0.0, hi, xtol=1e-13, rtol=1e-15, maxiter=500)
    return float(math.sqrt(2.0 * u * math.log(4.0 * m / delta)))


def _fail_28(S: int, m: int, tau: float) -> float:
    """m sum_{k > tau} P(Bin(S, P(|g| < R_k)) >= k), R_k = (k/tau - 1)/S."""
    k = np.arange(math.floor(tau) + 1, S + 1, dtype=np.float64)
    if not k.size:
        return 0.0
    p = scipy.stats.chi.cdf((k / tau - 1.0) / S, 1)
    return float(m * np.sum(scipy.stats.binom.sf(k - 1.0, S, p)))


def sharp_28(S: int, m: int, delta: float) -> float:
    """The least tau in [1, S] with _fail_28(tau) <= delta (it decreases continuously in tau)."""
    if _fail_28(S, m, 1.0) <= delta:
        return 1.0
    return float(scipy.optimize.brentq(lambda t: _fail_28(S, m, t) - delta, 1.0, float(S),
                                       xtol=1e-14, rtol=1e-15, maxiter=500))


def chernoff(mu: float, R: float, d: int, delta: float) -> float:
    """Matrix Chernoff lower tail [Tro12, Thm 1.1]: the largest u mu with
    d exp(-(mu/R) (1 - u + u ln u)) <= delta, u in (0, 1]; 0 when none (mu/R <= ln(d/delta))."""
    if not (mu > 0 and R > 0):
        return 0.0
    need = math.log(d / delta) * R / mu
    if need >= 1.0:
        return 0.0
    u = scipy.optimize.brentq(lambda u: 1.0 - u + u * math.log(u) - need, 1e-300, 1.0,
                              xtol=1e-16, rtol=1e-15, maxiter=1000)
    return u * mu


def sharp_29(n: int, S: int, m: int, delta: float, lam_Hz: float, X2: float) -> float:
    """Max over r (chi^2_n upper quantiles 1e-12 .. 0.5, 60 points) of chernoff(mu(r), X2 r, m),
    mu(r) = S (lambda_min(H^z) - X2 n P(chi^2_{n+2} > r)) (truncated G0, Appendix C made explicit)."""
    best = 0.0
    for q in np.geomspace(1e-12, 0.5, 60):
        r = float(2.0 * scipy.stats.gamma.isf(q, n / 2.0))
        tail = float(scipy.special.gammaincc(n / 2.0 + 1.0, r / 2.0))
        best = max(best, chernoff(S * (lam_Hz - X2 * n * tail), X2 * r, m, delta))
    return best


def sharp_chernoff_30(Gamma0_size: int, m: int, delta: float, lam_Hw: float, X2: float) -> float:
    """chernoff(|Gamma_0| lambda_min(H^w), ||X||^2, m, delta): lambda_min(H_Gamma0) w.p. 1 - delta."""
    return chernoff(Gamma0_size * lam_Hw, X2, m, delta)


# ---- expected thresholds ------------------------------------------------------------------------------
def _zeta0_quantile(z0: np.ndarray, S: int, fraction: float) -> float:
    """Version 1's (24): the largest zeta_0 with #{|z0| >= zeta_0} >= fraction S, i.e. the
    ceil(fraction S)-th largest |z0|."""
    k = max(1, math.ceil(fraction * S))
    return float(np.partition(np.abs(z0), S - k)[S - k])


def _delta(table: Mapping[str, Any]) -> float:
    return float(table["delta"]) / int(table["delta_split"])


def _n_star(table: Mapping[str, Any], n: int, m: int) -> int:
    """(21): ceil(C n (ln n)^p) for a rule (1 when n = 1), the eps-net count for the tail rule."""
    rule = table["n_star"]
    if rule[0] == "tail":
        return int(sharp_n_star(n, m, _delta(table)))
    return int(math.ceil(rule[1] * n * math.log(n) ** rule[2])) if n > 1 else 1


def expected(cert: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
             enclosures: Mapping[str, tuple[float, float]] | None = None,
             dense_m: int | None = None) -> dict[str, ExpectedThreshold]:
    """Every property's threshold, rule, reach and existentials as the audit derives them, under
    the formulas of the certificate's version (:func:`formulas_version`).

    cert : the parsed certificate (``schema``, ``parameters.profile``, ``provenance.profile``).
    arrays : {"X": (n, m), "W0": (S, n), "z0": (S,), "y": (m,)} float64 (verified digests).
    enclosures : eq -> (lower, upper), the audit's rigorous enclosures of the statistics; version 2
        proves the (29)/(30) bars from the (19) upper end (computed here when not given).
    dense_m : above this m no m x m matrix is formed (version 1 then raises
        :class:`~qrcheck.audit.ledger.Unverifiable`); None: no limit.
    Raises :class:`ProfileError` when the profile cannot be rebuilt.
    """
    X = np.asarray(arrays["X"], dtype=np.float64)
    z0 = np.asarray(arrays["z0"], dtype=np.float64)
    n, m = X.shape
    S = int(z0.shape[0])
    version = formulas_version(cert)
    table = profile_table(cert)[1]
    W0 = arrays.get("W0")
    data = _Data(X, z0, None if W0 is None else np.asarray(W0, dtype=np.float64), enclosures or {}, dense_m)
    L = math.log(n * S)
    v2 = version >= 2
    ks = list(range(1, m + 1)) if v2 else examined_k(n, m)
    # (24): zeta_0 and Gamma_0 (handed to (30))
    zr = table["zeta0_min"]
    zeta0_min = zr[1] * L ** zr[2]
    frac = float(table.get("gamma0_fraction", 0.5))
    zeta0 = zeta0_min if v2 else _zeta0_quantile(z0, S, frac)
    Gamma0 = np.nonzero(np.abs(z0) >= zeta0)[0]
    G = int(Gamma0.size)
    # the Omega(1) factors of (29), (30): version 1 the data's own lambda_min, version 2 proved
    kappa0 = float(table.get("kernel_floor", KAPPA0))
    if v2:
        lam_z, lam_w, X2 = data.beta("z"), data.beta("w"), data.X_norm2_upper
        g29, g30 = S * max(kappa0, lam_z), G * min(max(kappa0, lam_w) / 9.0, 0.25)
    else:
        lam_z, lam_w, X2 = data.lam_Hz, data.lam_Hw, data.X_norm2
        g29, g30 = S * lam_z, S * min(lam_w / 9.0, 0.25)
    g_of = {"19": n ** -0.5, "20": 1.0, "21": n / m, "22": n ** 0.5, "23": 1.0, "24": float(S),
            "26": 1.0, "27": S ** 0.5, "28": 1.0, "29": g29, "30": g30}

    def tail(eq: str) -> float:
        d = _delta(table)
        if eq == "29":
            t = sharp_29(n, S, m, d, lam_z, X2)
            return max(t, 0.5 * S * kappa0) if v2 else t
        if eq == "30":
            t = sharp_chernoff_30(G, m, d, lam_w, X2) / 2.0
            return max(t, 0.25 * G * min(kappa0 / 9.0, 0.25)) if v2 else t
        return {"19": lambda: sharp_19(n, m, d),
                "20": lambda: sharp_20(n, m, d, ks),
                "22": lambda: sharp_22(n, S, d),
                "23": lambda: _gauss_isf(d / (2.0 * (S * n + S))),
                "26": lambda: _gauss_isf(d / (2.0 * S * m)),
                "27": lambda: sharp_27(S, m, d),
                "28": lambda: sharp_28(S, m, d)}[eq]()

    out: dict[str, ExpectedThreshold] = {
        "25": ExpectedThreshold("25", 0.0, None, None, 1.0, ">", (0.0, math.inf), "fixed", version)}
    for eq, g in g_of.items():
        rule = table["threshold"][eq]
        if rule[0] == "tail":
            thr: float | None = float(tail(eq))
            C, p = (thr / g, 0.0) if g else (None, None)
        else:
            C, p = rule[1], rule[2]
            thr = C * L ** p * g
        extras: dict[str, Any] = {}
        reach = (data.reach_v2(eq) if v2 else None) or (0.0, math.inf)
        if eq == "19":
            reach = (0.0, 1.0)
        elif eq == "20":
            c = data.colmax_upper if v2 else data.colmax
            per_k = {k: c * math.sqrt(k) / (1.0 + math.sqrt(k / n)) for k in range(1, m + 1)}
            reach = (0.0, max(per_k[k] for k in ks))
            extras.update(per_k_reach=per_k, ks=tuple(ks))
        elif eq == "21":
            n_star = _n_star(table, n, m)
            extras.update(n_star=n_star, family_empty=n_star > m)
        elif eq == "24":
            reach = (0.0, float(S))
            extras.update(zeta0=zeta0, zeta0_min=zeta0_min, Gamma0=tuple(int(i) for i in Gamma0),
                          Gamma0_rule=("|z0_nu| >= zeta_0 = C_zeta L^p_zeta (profile zeta0_min)" if v2 else
                                       f"|z0_nu| >= zeta_0, zeta_0 the ceil({frac:g} S)-th largest |z0|"),
                          min_size=thr if v2 else max(1, math.ceil(frac * S)))
        elif eq == "28":
            reach = (0.0, float(S))
        elif eq == "29":
            extras.update(kappa0=kappa0, lambda_bar=lam_z,
                          **({"gamma_bar": data.gamma_bar, "beta_z": lam_z} if v2 else {}))
        elif eq == "30":
            pr = table["premise_30"]
            bound = pr[1] * n * math.sqrt(S) / L ** pr[2]
            ss = table["S_star"]
            if ss[0] == "tail":
                ch = sharp_chernoff_30(G, m, _delta(table), lam_w, X2)
                S_star = int(math.floor(ch / (2.0 * X2))) if X2 > 0 else 0
            else:
                S_star = int(math.floor(ss[1] * n * n * (G if v2 else S) / ((n * n + m) * L ** ss[2])))
            S_star = max(S_star, 0)
            extras.update(premise_bound=bound, premise_holds=m <= bound, Gamma0_size=G, S_star=S_star,
                          family_empty=S_star > G, kappa0=kappa0, lambda_bar=lam_w,
                          **({"gamma_bar": data.gamma_bar, "beta_w": lam_w} if v2 else {}))
        out[eq] = ExpectedThreshold(eq, None if thr is None else float(thr), C, p, float(g), SENSE[eq],
                                    reach, rule[0], version, extras)
    return {eq: out[eq] for eq in EQS}
