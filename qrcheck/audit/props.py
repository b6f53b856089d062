"""Re-derivation of ``properties["19"]`` ... ``["30"]``: statistic, enclosure, threshold and rule
(from :mod:`qrcheck.audit.thresholds`), witness, proved bound, details that CONTRACT fixes, and the
status by the audit's own rule (:func:`decide`, written from CONTRACT's definitions).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from . import stats
from .ledger import MISSING, Ledger, Unusable, Unverifiable, is_number, join
from .stats import Enclosure, Quantities

EQS = tuple(str(e) for e in range(19, 31))
EXACT = ("19", "22", "23", "24", "25", "26", "27", "28", "29")
SEARCH = ("20", "21", "30")
#: (21): ||X^T xi|| (unit columns) below which X counts as rank-deficient, so that (21) is violated
#: even where the profile's n* exceeds m (CONTRACT addition; docs/properties.md)
RANK_DEFICIENT_TOL = 1e-8
PROVED_SIDE = {"20": "upper", "21": "lower", "30": "lower"}
FOUND_SIDE = {"20": "lower", "21": "upper", "30": "upper"}
BOUND_RTOL = 1e-8  # a claimed proved bound may be weaker than the audit's, never stronger beyond this


def _holds(sense: str, value: float, thr: float) -> bool:
    return value <= thr if sense == "<=" else value >= thr if sense == ">=" else value > thr


def decide(sense: str, thr: float, enc: Enclosure, version: int) -> str:
    """CONTRACT's status of an exact statistic with enclosure ``enc`` against ``thr``:
    ``certified`` when the whole enclosure holds, ``violated`` when the whole enclosure fails,
    otherwise ``passed`` when the float value holds and ``undecided`` when it fails (schema 2;
    schema 1 knows no ``undecided`` and decides on the float value: certified or violated)."""
    if version < 2:
        return "certified" if _holds(sense, enc.value, thr) else "violated"
    lo_holds, hi_holds = _holds(sense, enc.lo, thr), _holds(sense, enc.hi, thr)
    if lo_holds and hi_holds:
        return "certified"
    if not lo_holds and not hi_holds:
        return "violated"
    return "passed" if _holds(sense, enc.value, thr) else "undecided"


def decide_search(sense: str, thr: float, proved: float | None, found: Enclosure | None, version: int) -> str:
    """CONTRACT's status of a searched property: ``certified`` when the proved bound holds;
    ``violated`` when the enclosure of the witness's value fails entirely (schema 1: its float
    value fails); else ``passed`` (the witness holds) or ``undecided`` (it fails within rounding)."""
    if proved is not None and _holds(sense, proved, thr):
        return "certified"
    if found is None:
        return "passed"
    if version < 2:
        return "passed" if _holds(sense, found.value, thr) else "violated"
    if not _holds(sense, found.lo, thr) and not _holds(sense, found.hi, thr):
        return "violated"
    return "passed" if _holds(sense, found.value, thr) else "undecided"


# ---- helpers -----------------------------------------------------------------------------------
def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise Unusable(f"{what} is not an integer")
    return v


def _index(v: Any, bound: int, what: str) -> int:
    i = _int(v, what)
    if not 0 <= i < bound:
        raise Unusable(f"{what} = {i} is out of range [0, {bound})")
    return i


def _indices(v: Any, bound: int, what: str) -> np.ndarray:
    if not isinstance(v, list) or len(v) > bound:
        raise Unusable(f"{what} is not a list of at most {bound} indices")
    idx = [_index(i, bound, what) for i in v]
    if len(set(idx)) != len(idx):
        raise Unusable(f"{what} repeats an index")
    return np.asarray(sorted(idx), dtype=np.intp)


def _num(v: Any, what: str) -> float:
    if not is_number(v):
        raise Unusable(f"{what} is not a number")
    f = float(v)
    if not math.isfinite(f):
        raise Unusable(f"{what} is not finite")
    return f


def _check_bound(led: Ledger, path: str, claimed: Any, mine: float, side: str) -> float | None:
    """A claimed proved bound is confirmed when it is no stronger than the audit's own proof
    (``side`` "upper": claimed >= mine; "lower": claimed <= mine), up to :data:`BOUND_RTOL`."""
    if claimed is MISSING or claimed is None:
        led.fail(path, claimed, mine, "a proved bound is required here")
        return None
    if not is_number(claimed):
        led.fail(path, claimed, mine, "not a number")
        return None
    c = float(claimed)
    slack = BOUND_RTOL * max(abs(c), abs(mine), 1e-300)
    ok = c >= mine - slack if side == "upper" else c <= mine + slack
    led.checks += 1
    led.vouch(path)
    if not ok:
        led.fail(path, claimed, mine, f"the claimed {side} bound is tighter than the audit can prove")
        return None
    return c


def _check_encl(led: Ledger, path: str, claimed: Any, enc: Enclosure, side: str) -> None:
    """A claimed rigorous bound on a value the audit encloses in ``enc``: refuted (a mismatch) only
    when it is provably false (an upper bound below ``enc.lo``, a lower bound above ``enc.hi``, beyond
    :data:`BOUND_RTOL`); between the ends it is consistent within rounding (the two error analyses
    differ), and the audit decides statuses on its own enclosure anyway."""
    if claimed is MISSING or claimed is None or not is_number(claimed):
        led.fail(path, claimed, enc.hi if side == "upper" else enc.lo, "a rigorous bound is required here")
        return
    c = float(claimed)
    slack = BOUND_RTOL * max(abs(c), abs(enc.lo), abs(enc.hi))
    led.checks += 1
    led.vouch(path)
    if side == "upper" and c < enc.lo - slack:
        led.fail(path, claimed, enc.lo, "the claimed upper bound is below the value's proven lower end")
    elif side == "lower" and c > enc.hi + slack:
        led.fail(path, claimed, enc.hi, "the claimed lower bound is above the value's proven upper end")


def _enclosure_claims(led: Ledger, base: str, c: Mapping[str, Any], enc: Enclosure, version: int) -> None:
    """Schema 2: an exact statistic carries ``lower`` <= statistic <= ``upper``, a rigorous
    enclosure of the same real value the audit encloses (:func:`_check_encl`)."""
    if version < 2 and "lower" not in c and "upper" not in c:
        return
    for side in ("lower", "upper"):
        _check_encl(led, join(base, side), c.get(side, MISSING), enc, side)


# ---- one property --------------------------------------------------------------------------------
class PropertyAudit:
    """Re-derives every property of one certificate into ``led``; :attr:`statuses` holds the
    audit's own statuses (eq -> status string)."""

    def __init__(self, cert: Mapping[str, Any], q: Quantities, exp: Mapping[str, Any],
                 encl: Mapping[str, Enclosure], led: Ledger, version: int) -> None:
        self.cert, self.q, self.exp, self.encl, self.led, self.version = cert, q, exp, encl, led, version
        self.statuses: dict[str, str] = {}
        self.gamma0: np.ndarray | None = None

    def run(self) -> dict[str, str]:
        props = self.cert["properties"]
        for eq in EQS:
            if eq not in props:
                self.led.fail(join("properties", eq), MISSING, "the property", "CONTRACT: all twelve, always")
                continue
            with self.led.guard(join("properties", eq)):
                try:
                    self.statuses[eq] = self._one(eq, props[eq])
                except Unverifiable as exc:
                    # not re-derivable at this size (exit 3): the gating and the verdict are checked
                    # against the certificate's own, unconfirmed, status of this property
                    self.led.cannot(join("properties", eq), str(exc), exc.fix)
                    if isinstance(props[eq], Mapping):
                        self.statuses[eq] = str(props[eq].get("status"))
        return self.statuses

    def _one(self, eq: str, c: Mapping[str, Any]) -> str:
        led, e = self.led, self.exp[eq]
        base = join("properties", eq)
        if not isinstance(c, Mapping):
            raise Unusable("not an object")
        led.check(join(base, "threshold"), c.get("threshold", MISSING), e.threshold)
        led.check(join(base, "sense"), c.get("sense", e.sense), e.sense)
        rule = c.get("rule")
        if isinstance(rule, Mapping):
            for k, v in (("C", e.C), ("p", e.p), ("g", e.g)):
                led.check(join(base, "rule", k), rule.get(k, MISSING), v)
        elif rule is not None:
            led.fail(join(base, "rule"), rule, "an object {C, p, g}")
        status = getattr(self, f"_p{eq}")(base, c, e)
        led.check(join(base, "status"), c.get("status", MISSING), status)
        stat = c.get("statistic")
        if "empirical_constant" in c:
            expect = None if not is_number(stat) or not e.g else float(stat) / e.g
            led.check(join(base, "empirical_constant"), c["empirical_constant"], expect)
        return status

    # -- exact properties
    def _exact(self, eq: str, base: str, c: Mapping[str, Any], e: Any) -> tuple[Enclosure, str]:
        if eq not in self.encl:
            raise Unverifiable(self.q.unavailable.get(eq, f"({eq}) was not re-derived"), stats.FIX_DENSE)
        enc = self.encl[eq]
        # the float64 value inside the enclosure (CONTRACT): within RTOL of the audit's, or inside its
        # enclosure (widened by q.noise where the real value is exact, as (29)'s 0 by rank)
        self.led.check(join(base, "statistic"), c.get("statistic", MISSING), enc.value,
                       atol=enc.hi - enc.lo + self.q.noise.get(eq, 0.0))
        _enclosure_claims(self.led, base, c, enc, self.version)
        if e.vacuous:
            return enc, "vacuous"
        return enc, decide(e.sense, e.threshold, enc, self.version)

    def _stat_at(self, base: str, c: Mapping[str, Any], value: float, what: str, atol: float = 0.0) -> None:
        """The witness realises the statistic (within RTOL, or ``atol``: the width of the audit's
        enclosure of the witness's value, for values dominated by rounding)."""
        self.led.check(join(base, "witness"), c.get("statistic"), value, atol=atol,
                       why=f"the statistic is not the value at {what}")

    def _witness(self, c: Mapping[str, Any]) -> Mapping[str, Any]:
        w = c.get("witness", MISSING)
        if not isinstance(w, Mapping):
            raise Unusable("witness missing or not an object")
        return w

    def _p19(self, base, c, e):
        if self.q.m < 2:
            self.led.check(join(base, "statistic"), c.get("statistic", MISSING), None)
            return "vacuous"
        enc, status = self._exact("19", base, c, e)
        w = self._witness(c)
        pair = w.get("pair")
        if not isinstance(pair, list) or len(pair) != 2:
            raise Unusable("witness.pair must be [j, j']")
        j, k = _index(pair[0], self.q.m, "witness.pair"), _index(pair[1], self.q.m, "witness.pair")
        if j == k:
            raise Unusable("witness.pair repeats an index")
        self._stat_at(base, c, abs(float(self.q.X[:, j] @ self.q.X[:, k])), f"pair ({j}, {k})")
        return status

    def _p22(self, base, c, e):
        enc, status = self._exact("22", base, c, e)
        nu = _index(self._witness(c).get("nu"), self.q.S, "witness.nu")
        self._stat_at(base, c, float(np.linalg.norm(self.q.W0[nu])), f"row {nu}")
        return status

    def _p23(self, base, c, e):
        enc, status = self._exact("23", base, c, e)
        w = self._witness(c)
        arr, idx = w.get("array"), w.get("index")
        if arr == "W0" and isinstance(idx, list) and len(idx) == 2:
            v = abs(float(self.q.W0[_index(idx[0], self.q.S, "W0 row"), _index(idx[1], self.q.n, "W0 column")]))
        elif arr == "z0" and isinstance(idx, list) and len(idx) == 1:
            v = abs(float(self.q.z0[_index(idx[0], self.q.S, "z0 index")]))
        else:
            raise Unusable("witness must name array W0 with index [nu, i] or z0 with [nu]")
        self._stat_at(base, c, v, f"{arr}{idx}")
        d = c.get("details") or {}
        if isinstance(d, Mapping):
            for k, v in (("max_abs_W0", float(np.max(np.abs(self.q.W0)))), ("max_abs_z0", float(np.max(np.abs(self.q.z0))))):
                if k in d:
                    self.led.check(join(base, "details", k), d[k], v)
        return status

    def _p24(self, base, c, e):
        x = e.extras
        zeta0 = float(x["zeta0"])
        G0 = stats.gamma0(self.q.z0, zeta0)
        self.gamma0 = G0
        size = float(G0.size)
        self.encl["24"] = Enclosure(size, size, size)
        enc, status = self._exact("24", base, c, e)
        d = c.get("details", MISSING)
        if not isinstance(d, Mapping):
            raise Unusable("details missing (CONTRACT: details.zeta0)")
        self.led.check(join(base, "details", "zeta0"), d.get("zeta0", MISSING), zeta0)
        if "Gamma0" in d:
            self.led.check(join(base, "details", "Gamma0"), d["Gamma0"], [int(i) for i in G0])
        if "zeta0_min" in d:
            self.led.check(join(base, "details", "zeta0_min"), d["zeta0_min"], float(x["zeta0_min"]))
        if status in ("certified", "passed") and self.version < 2 and zeta0 < float(x["zeta0_min"]):
            status = "violated"  # schema 1: (24) also fails when zeta_0 < zeta0_min
        if status in ("certified", "passed") and self.version < 2 and G0.size < int(x.get("min_size", 0)):
            status = "violated"
        return status

    def _entry_witness(self, base, c) -> None:
        """(25), (26): the statistic is |(W0 X)_{nu j}| at the witness (nu, j)."""
        w = self._witness(c)
        nu, j = _index(w.get("nu"), self.q.S, "witness.nu"), _index(w.get("j"), self.q.m, "witness.j")
        self._stat_at(base, c, abs(float(self.q.W0[nu] @ self.q.X[:, j])), f"(nu, j) = ({nu}, {j})")

    def _p25(self, base, c, e):
        enc, status = self._exact("25", base, c, e)
        self._entry_witness(base, c)
        d = c.get("details") or {}
        if isinstance(d, Mapping) and "zeros" in d:
            self.led.check(join(base, "details", "zeros"), d["zeros"], int(np.count_nonzero(self.q.P[0] == 0)))
        if isinstance(d, Mapping) and "exact_zeros" in d:
            ez = stats.exact_zeros(self.q)
            if ez is None:
                self.led.note(f"(25): {self.q.open_signs} entries of W0 X have a sign the audit left open")
            else:
                self.led.check(join(base, "details", "exact_zeros"), d["exact_zeros"], ez)
        return status

    def _p26(self, base, c, e):
        enc, status = self._exact("26", base, c, e)
        self._entry_witness(base, c)
        return status

    def _p27(self, base, c, e):
        enc, status = self._exact("27", base, c, e)
        j = _index(self._witness(c).get("j"), self.q.m, "witness.j")
        f0j = float(np.maximum(self.q.W0 @ self.q.X[:, j], 0.0) @ self.q.z0)
        self._stat_at(base, c, abs(f0j), f"j = {j}")
        return status

    def _p28(self, base, c, e):
        enc, status = self._exact("28", base, c, e)
        w = self._witness(c)
        j, k = _index(w.get("j"), self.q.m, "witness.j"), _int(w.get("k"), "witness.k")
        if not 1 <= k <= self.q.S:
            raise Unusable(f"witness.k = {k} not in [1, S]")
        a = np.sort(np.abs(self.q.W0 @ self.q.X[:, j]))
        self.led.check(join(base, "witness", "R"), w.get("R", MISSING), float(a[k - 1]))
        self._stat_at(base, c, k / (self.q.S * float(a[k - 1]) + 1.0), f"(j, k) = ({j}, {k})")
        return status

    def _p29(self, base, c, e):
        enc, status = self._exact("29", base, c, e)
        d = c.get("details") or {}
        if isinstance(d, Mapping):
            self._details_29(base, d, e)
        return status

    def _details_29(self, base: str, d: Mapping[str, Any], e: Any) -> None:
        q = self.q
        z2 = q.z0 ** 2
        E2 = float(np.mean(z2))
        want: dict[str, Any] = {}
        if "E_zeta2" in d:
            want["E_zeta2"] = E2
        nulls = stats.unclaimed_limit(d)
        for k in nulls:
            self.led.skip(join(base, "details", k), stats.NULL_LIMIT)
        d = {k: v for k, v in d.items() if k not in nulls}
        if q.blocked:
            # eigenvalues of the m x m limit kernels (and of H0 unless its rank gives lambda_min = 0):
            # informational, no status reads them
            skip = list(stats.LIMIT_KEYS)
            what = "the limit kernels H^w, H^z"
            try:
                stats.enclosure_H0(q)
            except Unverifiable:
                skip += ["lambda_min_H0", "lambda_min_H0_lower", "lambda_min_H0_upper"]
                what = "H0 (whose rank may be m) and " + what
            for k in skip:
                if k in d:
                    self.led.skip(join(base, "details", k), stats.too_big(what, q.m, q.dense_m)
                                  + "; no status depends on it")
            d = {k: v for k, v in d.items() if k not in skip}
        if "lambda_min_H0" in d:
            want["lambda_min_H0"] = stats.value_H0(q)
        if "lambda_min_H0_lower" in d or "lambda_min_H0_upper" in d:
            h = stats.enclosure_H0(q)
            _check_encl(self.led, join(base, "details", "lambda_min_H0_lower"), d.get("lambda_min_H0_lower", MISSING),
                        h, "lower")
            _check_encl(self.led, join(base, "details", "lambda_min_H0_upper"), d.get("lambda_min_H0_upper", MISSING),
                        h, "upper")
        lz = 0.0
        keys = {"lambda_min_Hw", "lambda_min_Hz", "S_lambda_min_Hz", "E_zeta2_S_lambda_min_Hw",
                "concentration_ratio_G", "concentration_ratio_H"}
        if keys & set(d):
            lw, lz = stats.limit_lambda_min(q)
            want.update(lambda_min_Hw=lw, lambda_min_Hz=lz, S_lambda_min_Hz=q.S * lz,
                        E_zeta2_S_lambda_min_Hw=E2 * q.S * lw,
                        concentration_ratio_G=self.encl["29"].value / (q.S * lz) if lz else None,
                        concentration_ratio_H=stats.value_H0(q) / (E2 * q.S * lw) if lw else None)
        for k in ("gamma_bar", "beta_z", "kappa0"):
            if k in d and k in e.extras:
                want[k] = e.extras[k]
        e29 = self.encl["29"]
        h0 = stats.enclosure_H0(q) if "lambda_min_H0" in d or "concentration_ratio_H" in d else None
        lw_ = want.get("lambda_min_Hw", 0.0)
        noise = 64 * q.m * 2.0 ** -53  # eigenvalues of the limit kernels (entries <= 1/2) at rounding level
        # each limit-kernel value within its stated accuracy (stats.limit_atol), and what is read off it
        tw = stats.limit_atol(d, "lambda_min_Hw", lw_, q.m)
        tz = stats.limit_atol(d, "lambda_min_Hz", lz, q.m)
        cg, ch = want.get("concentration_ratio_G"), want.get("concentration_ratio_H")
        tol = {"lambda_min_Hw": tw, "lambda_min_Hz": tz, "S_lambda_min_Hz": q.S * tz,
               "E_zeta2_S_lambda_min_Hw": E2 * q.S * tw,
               "lambda_min_H0": 0.0 if h0 is None else h0.hi - h0.lo + q.noise.get("H0", 0.0),
               "concentration_ratio_G": ((e29.hi - e29.lo) / abs(q.S * lz) + abs(cg or 0.0) * 2 * tz / abs(lz)
                                         if lz else 0.0),
               "concentration_ratio_H": ((h0.hi - h0.lo) / abs(E2 * q.S * lw_) + abs(ch or 0.0) * 2 * tw / abs(lw_)
                                         if h0 is not None and lw_ else 0.0)}
        for k, v in want.items():
            if k not in d:
                continue
            if k.startswith("concentration") and min(abs(lz), abs(lw_)) <= noise:
                self.led.vouch(join(base, "details", k))  # a ratio over a rounding-level eigenvalue: null or noise
                continue
            self.led.check(join(base, "details", k), d[k], v, rtol=1e-7, atol=tol.get(k, 0.0))

    # -- searched properties
    def _p20(self, base, c, e):
        q, led = self.q, self.led
        ks = list(e.extras.get("ks") or range(1, q.m + 1))
        bounds = stats.bound_20(q, list(range(1, q.m + 1)))
        mine = max(bounds[k] for k in ks)
        d = c.get("details") or {}
        rows = d.get("per_k") if isinstance(d, Mapping) else None
        best: Enclosure | None = None
        if isinstance(rows, list):
            for i, r in enumerate(rows):
                rp = join(base, "details", "per_k", i)
                with led.guard(rp):
                    if not isinstance(r, Mapping):
                        raise Unusable("not an object")
                    k = _int(r.get("k"), "k")
                    if not 1 <= k <= q.m:
                        raise Unusable(f"k = {k} not in [1, m]")
                    led.vouch(join(rp, "k"))
                    J = _indices(r.get("J"), q.m, "J")
                    led.check(join(rp, "J"), len(J), k, why="|J| must be k")
                    v = stats.value_20(q, J)
                    led.check(join(rp, "lower"), r.get("lower", MISSING), v.value, atol=v.hi - v.lo)
                    _check_bound(led, join(rp, "upper"), r.get("upper", MISSING), bounds[k], "upper")
                    if "exact" in r:
                        led.check(join(rp, "exact"), r["exact"], self._enumerated(k),
                                  why="docs/search.md: k = 1, 2, m and families of at most max(subset_samples, 256) "
                                      "subsets are enumerated")
                        if r["exact"] is True:
                            top = stats.max_20(q, k)
                            if top is None:
                                led.note(f"(20) k = {k}: too many subsets for the audit to confirm the exhaustive search")
                            else:
                                led.check(join(rp, "lower"), r.get("lower", MISSING), top,
                                          why="an exact row's value is the maximum over every subset of size k")
                    if "vacuous" in r:
                        reach = e.extras.get("per_k_reach", {}).get(k)
                        if reach is not None and e.threshold is not None:
                            led.check(join(rp, "vacuous"), r["vacuous"], bool(e.threshold >= reach))
                    if best is None or v.value > best.value:
                        best = v
        w = c.get("witness")
        found = None
        if isinstance(w, Mapping):
            J = _indices(w.get("J"), q.m, "witness.J")
            if "k" in w:
                led.check(join(base, "witness", "k"), w["k"], len(J))
            found = stats.value_20(q, J)
            self._stat_at(base, c, found.value, f"J ({len(J)} columns)", found.hi - found.lo)
            led.check(join(base, "lower"), c.get("lower", MISSING), found.value, atol=found.hi - found.lo)
            if best is not None:
                led.check(join(base, "statistic"), c.get("statistic", MISSING), best.value,
                          why="the statistic is the best value over the examined k")
        elif not e.vacuous:
            raise Unusable("witness missing (CONTRACT: witness.J)")
        proved = _check_bound(led, join(base, "upper"), c.get("upper", MISSING), mine, "upper")
        if isinstance(d, Mapping):
            if "examined_k" in d and isinstance(rows, list):
                led.check(join(base, "details", "examined_k"), d["examined_k"],
                          [r.get("k") for r in rows if isinstance(r, Mapping)])
            if "upper_over_every_k" in d:
                led.check(join(base, "details", "upper_over_every_k"), d["upper_over_every_k"], c.get("upper"))
        if e.vacuous:
            return "vacuous"
        return decide_search("<=", e.threshold, proved, found, self.version)

    def _enumerated(self, k: int) -> bool:
        """docs/search.md: the (20) search is exhaustive for k = 1, 2, m and whenever there are at
        most max(subset_samples, 256) subsets of size k."""
        eff = (self.cert.get("provenance") or {}).get("search_effort") or {}
        cap = max(int(eff.get("subset_samples") or 0) if is_number(eff.get("subset_samples")) else 0, 256)
        return k in (1, 2, self.q.m) or math.comb(self.q.m, k) <= cap

    def _p21(self, base, c, e):
        q, led = self.q, self.led
        n_star = int(e.extras["n_star"])
        d = c.get("details", MISSING)
        if not isinstance(d, Mapping):
            raise Unusable("details missing (CONTRACT: details.n_star)")
        led.check(join(base, "details", "n_star"), d.get("n_star", MISSING), n_star)
        if isinstance(d.get("n_star_interval"), Mapping) and e.threshold is not None:
            self._interval_21(join(base, "details", "n_star_interval"), d["n_star_interval"], e.threshold)
        if "null_direction" in d or "sigma_min_XT_upper" in d or "fails_for_every_n_star" in d:
            self._null_direction_21(base, d, e.threshold)
        # n* > m: the family is empty (vacuous), unless X (m >= n points) is rank-deficient, i.e. the
        # claimed null direction has a rigorous ||X^T xi|| / ||xi|| below both the threshold and
        # RANK_DEFICIENT_TOL; then every admissible n* <= m fails, checked at J = [m] (docs/properties.md)
        every_n_star_fails = False
        xi_claimed = d.get("null_direction")
        if n_star > q.m >= q.n and isinstance(xi_claimed, list) and e.threshold is not None:
            xv = np.asarray([_num(x, "null_direction") for x in xi_claimed])
            if xv.shape == (q.n,) and np.any(xv):
                dv = stats.direction_21(q, np.arange(q.m), xv)
                every_n_star_fails = dv.hi < min(e.threshold, RANK_DEFICIENT_TOL)
        if n_star > q.m and not every_n_star_fails:
            led.check(join(base, "statistic"), c.get("statistic", MISSING), None, why="the family is empty")
            return "vacuous"
        w = self._witness(c)
        J = _indices(w.get("J"), q.m, "witness.J")
        # n* > m with a rigorous null direction: the witness is the largest admissible subset, J = [m]
        led.check(join(base, "witness", "J"), len(J), q.m if every_n_star_fails else n_star,
                  why="|J| must be m (n* > m, every admissible n* fails)" if every_n_star_fails else "|J| must be n*")
        found = stats.value_21(q, J)
        claimed = c.get("statistic")
        led.check(join(base, "upper"), c.get("upper", MISSING), claimed)
        led.vouch(join(base, "statistic"))  # checked against the witness below
        if "xi" in w and len(J) >= q.n:
            xi = np.asarray([_num(x, "xi") for x in (w["xi"] if isinstance(w["xi"], list) else [])])
            if xi.shape != (q.n,) or not np.any(xi):
                raise Unusable("witness.xi must be a nonzero vector of length n")
            dv = stats.direction_21(q, J, xi)
            led.check(join(base, "witness", "xi"), claimed, dv.value, atol=dv.hi - dv.lo,
                      why="the statistic is ||(X^J)^T xi|| / ||xi|| at the witness")
            found = Enclosure(found.lo, dv.value, dv.hi)
        else:
            self._stat_at(base, c, found.value, f"J ({len(J)} columns)")
        if "witness_upper" in d:
            _check_encl(led, join(base, "details", "witness_upper"), d["witness_upper"], found, "upper")
        mine = stats.bound_21(q, q.m if every_n_star_fails else n_star)
        proved = _check_bound(led, join(base, "lower"), c.get("lower", MISSING), mine, "lower")
        if e.vacuous:
            return "vacuous"
        return decide_search(">=", e.threshold, proved, found, self.version)

    def _interval_30(self, path: str, iv: Mapping[str, Any], thr: float, G0: np.ndarray, weyl: Any) -> None:
        """``S_star_interval``: the property is proved at S* = ``proof_at`` (Weyl) and fails at
        S* = ``fail_at`` (a removal witness of that size), so the largest S* at which it holds lies in
        [proof_at, fail_at - 1] (the minimum falls as S* grows)."""
        q, led = self.q, self.led

        def fail_value(fa: int, fw: Any) -> Enclosure:
            if not isinstance(fw, Mapping):
                raise Unusable("fail_at needs a fail_witness {removed}")
            removed = _indices(fw.get("removed"), q.S, "fail_witness.removed")
            led.check(join(path, "fail_witness", "removed"), len(removed), fa, why="|removed| must be fail_at")
            if np.setdiff1d(removed, G0).size:
                raise Unusable("fail_witness.removed leaves Gamma_0")
            return stats.value_30(q, np.setdiff1d(G0, removed))

        def proof_holds(pa: int) -> bool:
            if not 0 <= pa <= G0.size:
                raise Unusable(f"proof_at = {pa} not in [0, |Gamma_0|]")
            return stats.bound_30(q, G0, pa, weyl) >= thr

        fail_at, proof_at = self._interval_ends(path, iv, thr, fail_value, proof_holds)
        led.check(join(path, "lower"), iv.get("lower", MISSING), proof_at)
        led.check(join(path, "upper"), iv.get("upper", MISSING), None if fail_at is None else fail_at - 1
                  if isinstance(fail_at, int) else MISSING)

    def _interval_ends(self, path: str, iv: Mapping[str, Any], thr: float,
                       fail_value: Callable[[int, Any], Enclosure], proof_holds: Callable[[int], bool]) -> tuple:
        """The two ends of an n* / S* interval: ``fail_at`` with its witness (whose value, from
        ``fail_value(fail_at, fail_witness)``, must match ``fail_value`` and fail the threshold) and
        ``proof_at`` (where ``proof_holds`` must confirm the proved bound); returns both as claimed."""
        led = self.led
        fail_at, proof_at = iv.get("fail_at"), iv.get("proof_at")
        with led.guard(join(path, "fail_at")):
            if fail_at is not None:
                v = fail_value(_int(fail_at, "fail_at"), iv.get("fail_witness"))
                led.check(join(path, "fail_value"), iv.get("fail_value", MISSING), v.value, atol=v.hi - v.lo)
                led.check(join(path, "fail_at"), v.value < thr, True, why="the witness must fail the threshold")
            else:
                led.check(join(path, "fail_value"), iv.get("fail_value", MISSING), None)
                led.vouch(join(path, "fail_witness"))
                led.vouch(join(path, "fail_at"))
        with led.guard(join(path, "proof_at")):
            if proof_at is not None:
                led.check(join(path, "proof_at"), proof_holds(_int(proof_at, "proof_at")), True,
                          why="the proved bound at proof_at must reach the threshold")
            else:
                led.vouch(join(path, "proof_at"))
        return fail_at, proof_at

    def _null_direction_21(self, base: str, d: Mapping[str, Any], thr: float | None) -> None:
        """``null_direction`` xi and ``sigma_min_XT_upper`` >= ||X^T xi|| / ||xi||: every (X^J)^T is a
        row subset of X^T, so when that is below the threshold, (21) fails for every n* <= m
        (``fails_for_every_n_star``)."""
        q, led = self.q, self.led
        xi = d.get("null_direction")
        if not isinstance(xi, list):
            if xi is not None or d.get("fails_for_every_n_star") is True:
                led.fail(join(base, "details", "null_direction"), xi if xi is not None else MISSING, "a direction xi")
                return
            # no direction: the bound is sigma_min(X^T) itself, sqrt(lambda_min(X X^T)) (0 when n > m)
            top = stats.value_21(q, np.arange(q.m))
            if "sigma_min_XT_upper" in d:
                _check_encl(led, join(base, "details", "sigma_min_XT_upper"), d["sigma_min_XT_upper"], top, "upper")
            if "fails_for_every_n_star" in d and thr is not None:
                led.check(join(base, "details", "fails_for_every_n_star"), d["fails_for_every_n_star"],
                          bool(top.hi < thr) if top.hi < thr or top.lo >= thr else d["fails_for_every_n_star"])
            return
        xv = np.asarray([_num(x, "null_direction") for x in xi])
        if xv.shape != (q.n,) or not np.any(xv):
            raise Unusable("null_direction must be a nonzero vector of length n")
        dv = stats.direction_21(q, np.arange(q.m), xv)
        led.vouch(join(base, "details", "null_direction"))
        if "sigma_min_XT_upper" in d:
            _check_encl(led, join(base, "details", "sigma_min_XT_upper"), d["sigma_min_XT_upper"], dv, "upper")
        if "fails_for_every_n_star" in d and thr is not None:
            led.check(join(base, "details", "fails_for_every_n_star"), d["fails_for_every_n_star"], bool(dv.hi < thr))

    def _interval_21(self, path: str, iv: Mapping[str, Any], thr: float) -> None:
        """``n_star_interval``: the property fails at n* = ``fail_at`` (a witness J of that size, or
        fail_at < n where every (X^J)^T has a kernel) and is proved at n* = ``proof_at`` (Weyl), so the
        smallest n* at which it holds lies in [fail_at + 1, proof_at] (the minimum grows with n*)."""
        q, led = self.q, self.led

        def fail_value(fa: int, fw: Any) -> Enclosure:
            if not 1 <= fa <= max(q.m, q.n - 1):
                raise Unusable(f"fail_at = {fa} not in [1, max(m, n - 1)]")
            if fw is None:
                if fa >= q.n:
                    raise Unusable("fail_at >= n needs a fail_witness")
                led.vouch(join(path, "fail_witness"))  # n* < n: every (X^J)^T has a kernel
                return Enclosure(0.0, 0.0, 0.0)
            if not isinstance(fw, Mapping):
                raise Unusable("fail_witness is not an object")
            J = _indices(fw.get("J"), q.m, "fail_witness.J")
            led.check(join(path, "fail_witness", "J"), len(J), fa, why="|J| must be fail_at")
            v = stats.value_21(q, J)
            xi = fw.get("xi")
            if isinstance(xi, list) and len(J) >= q.n:
                xv = np.asarray([_num(x, "xi") for x in xi])
                if xv.shape != (q.n,) or not np.any(xv):
                    raise Unusable("fail_witness.xi must be a nonzero vector of length n")
                dv = stats.direction_21(q, J, xv)
                v = Enclosure(v.lo, dv.value, dv.hi)
                led.vouch(join(path, "fail_witness", "xi"))
            return v

        def proof_holds(pa: int) -> bool:
            if not 1 <= pa <= q.m:
                raise Unusable(f"proof_at = {pa} not in [1, m]")
            return stats.bound_21(q, pa) >= thr

        fail_at, proof_at = self._interval_ends(path, iv, thr, fail_value, proof_holds)
        led.check(join(path, "lower"), iv.get("lower", MISSING), None if fail_at is None else fail_at + 1
                  if isinstance(fail_at, int) else MISSING)
        led.check(join(path, "upper"), iv.get("upper", MISSING), proof_at)

    def _p30(self, base, c, e):
        q, led = self.q, self.led
        x = e.extras
        d = c.get("details", MISSING)
        if not isinstance(d, Mapping):
            raise Unusable("details missing (CONTRACT: details.S_star)")
        if "premise_bound" in d:
            led.check(join(base, "details", "premise_bound"), d["premise_bound"], x["premise_bound"])
        G0 = self.gamma0 if self.gamma0 is not None else stats.gamma0(q.z0, float(self.exp["24"].extras["zeta0"]))
        if "Gamma0_size" in d:
            led.check(join(base, "details", "Gamma0_size"), d["Gamma0_size"], int(G0.size))
        if "reference_n2S_over_n2_plus_m" in d:
            led.check(join(base, "details", "reference_n2S_over_n2_plus_m"), d["reference_n2S_over_n2_plus_m"],
                      q.n ** 2 * (q.S if self.version < 2 else G0.size) / (q.n ** 2 + q.m))
        if not x["premise_holds"]:
            led.check(join(base, "statistic"), c.get("statistic", MISSING), None, why="the premise is false")
            return "not_applicable"
        S_star = int(x["S_star"])
        led.check(join(base, "details", "S_star"), d.get("S_star", MISSING), S_star)
        if S_star > G0.size:
            led.check(join(base, "statistic"), c.get("statistic", MISSING), None, why="the family is empty")
            return "vacuous"
        if "lambda_min_H_Gamma0" in d:
            hg = stats.value_30(q, G0)
            led.check(join(base, "details", "lambda_min_H_Gamma0"), d["lambda_min_H_Gamma0"], hg.value,
                      atol=hg.hi - hg.lo)
        w = self._witness(c)
        removed = _indices(w.get("removed"), q.S, "witness.removed")
        led.check(join(base, "witness", "removed"), len(removed), S_star, why="|removed| must be S*")
        outside = np.setdiff1d(removed, G0)
        if outside.size:
            raise Unusable(f"witness.removed holds {outside.size} neuron(s) outside Gamma_0")
        found = stats.value_30(q, np.setdiff1d(G0, removed))
        w30 = found.hi - found.lo
        self._stat_at(base, c, found.value, f"removed ({len(removed)} neurons)", w30)
        led.check(join(base, "statistic"), c.get("statistic", MISSING), found.value, atol=w30)
        led.check(join(base, "upper"), c.get("upper", MISSING), found.value, atol=w30)
        if "witness_upper" in d:
            _check_encl(led, join(base, "details", "witness_upper"), d["witness_upper"], found, "upper")
        weyl = stats.weyl_30(q, G0)
        mine = stats.bound_30(q, G0, S_star, weyl)
        proved = _check_bound(led, join(base, "lower"), c.get("lower", MISSING), mine, "lower")
        if "lambda_min_Hw" in stats.unclaimed_limit(d):
            led.skip(join(base, "details", "lambda_min_Hw"), stats.NULL_LIMIT)
        elif "lambda_min_Hw" in d:
            lw = stats.limit_lambda_min(q)[0]
            led.check(join(base, "details", "lambda_min_Hw"), d["lambda_min_Hw"], lw, rtol=1e-7,
                      atol=stats.limit_atol(d, "lambda_min_Hw", lw, q.m))
        for k in ("gamma_bar", "beta_w", "kappa0"):
            if k in d and k in x:
                led.check(join(base, "details", k), d[k], x[k], rtol=1e-7)
        if isinstance(d.get("S_star_interval"), Mapping) and e.threshold is not None:
            self._interval_30(join(base, "details", "S_star_interval"), d["S_star_interval"], e.threshold, G0, weyl)
        if e.vacuous:
            return "vacuous"
        return decide_search(">=", e.threshold, proved, found, self.version)
