"""The certificate's ``diagnostics`` section (issue 14: kernel spectra and advice), re-derived densely
from the verified arrays where it states facts.

Facts re-derived (floats within :data:`RTOL_DIAG`): the size, rank (singular values above
``||X|| max(n, m) eps``), spectral and Frobenius norms and ``sigma_min(X^T)`` of X; lambda_min of the
limit kernels H^w, H^z (Appendix C); for H0 (and G0 when eta_z > 0) lambda_min, lambda_max (when the
record says they were computed densely), the condition number, the stable step ``2 / lambda_max``,
whether the rate exceeds it, the suggested rate ``1 / lambda_max`` and the linearisation's predicted
steps ``ceil(ln(||e_0|| / tol) / -ln(1 - eta lambda_min))`` (within one step); ``||e_0||``, the
stability load ``eta_w lambda_max(H0) + eta_z lambda_max(G0)`` and ``stable`` (load <= 2); and
``gd_stop.kind``/``T`` against the GD record. The sentences (``notes``, ``words``) and the rates an
early stop suggests are advice, not claims (not vouched).

Above ``q.dense_m`` no m x m matrix is formed: G0's spectrum when m > S is exact without it (rank
<= S < m gives lambda_min = 0; lambda_max(F0^T F0) = lambda_max(F0 F0^T), S x S), and so is
lambda_min(H0) = 0 when its rank bound is below m (:func:`stats.rank_bound_H0`); the other
eigenvalues of H0 and those of the limit kernels, and the predicted steps that need them, are
skipped (listed as not vouched, with the reason): no status reads them. The figures derived from the
record's own eigenvalues (stable step, condition, load) are still checked.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import scipy.linalg

from .ledger import MISSING, Ledger, join
from .stats import NULL_LIMIT, Quantities, rank_bound_H0, too_big, unclaimed_limit

RTOL_DIAG = 1e-6  # diagnostics may come from an iterative eigensolver


def _predicted(eta: float, lo: float, hi: float, e0: float | None, tol: float | None) -> int | None:
    if not (e0 and tol and e0 > tol and eta > 0 and lo > 0 and eta * hi <= 2):
        return None
    x = eta * lo
    if x >= 1:
        return 1
    steps = math.log(e0 / tol) / -math.log1p(-x)
    return int(math.ceil(steps)) if math.isfinite(steps) else None


Ends = tuple[float | None, float | None, float, str]
"""(lambda_min, lambda_max, atol of lambda_min, why an end is None) of one layer's kernel matrix."""


def _layer(led: Ledger, path: str, d: Any, ends: Ends, eta: float, e0: float | None, tol: float,
           flag: str, blocked: bool) -> None:
    """One layer's record against ``ends`` (dense: both computed, checked when the record says it
    computed them densely; ``blocked``: an end that is known is exact and always checked, an end
    that is None is skipped with its reason, and so are the predicted steps that need both)."""
    if not isinstance(d, Mapping):
        led.fail(path, d, "an object")
        return
    if "flag" in d:
        led.check(join(path, "flag"), d["flag"], flag)
    lo, hi, atol_lo, why = ends
    if lo is None or hi is None:
        for k in ("lambda_min", "lambda_max", "predicted_steps", "predicted_steps_at_suggested"):
            if k in d and (k != "lambda_min" or lo is None) and (k != "lambda_max" or hi is None):
                led.skip(join(path, k), why)
        d = {k: v for k, v in d.items() if not k.startswith("predicted_steps")}
    if lo is not None and (blocked or d.get("method") == "dense"):
        led.check(join(path, "lambda_min"), d.get("lambda_min", MISSING), lo, rtol=RTOL_DIAG, atol=atol_lo)
    if hi is not None and (blocked or d.get("method") == "dense"):
        led.check(join(path, "lambda_max"), d.get("lambda_max", MISSING), hi, rtol=RTOL_DIAG)
    lo_c, hi_c = d.get("lambda_min"), d.get("lambda_max")
    led.check(join(path, "eta"), d.get("eta", MISSING), eta)
    if isinstance(hi_c, (int, float)) and not isinstance(hi_c, bool) and hi_c > 0:
        stable = 2.0 / hi_c
        led.check(join(path, "stable_step"), d.get("stable_step", MISSING), stable)
        led.check(join(path, "exceeds_stable_step"), d.get("exceeds_stable_step", MISSING), bool(eta > stable))
        led.check(join(path, "suggested_eta"), d.get("suggested_eta", MISSING), 1.0 / hi_c)
        if isinstance(lo_c, (int, float)) and not isinstance(lo_c, bool):
            if "condition" in d:
                led.check(join(path, "condition"), d["condition"], hi_c / lo_c if lo_c > 0 else None)
            for key, rate in (("predicted_steps", eta), ("predicted_steps_at_suggested", 1.0 / hi_c)):
                if key in d:
                    mine = _predicted(rate, lo, hi, e0, tol)
                    c = d[key]
                    ok = (c is None and mine is None) or (isinstance(c, int) and mine is not None and abs(c - mine) <= 1)
                    led.check(join(path, key), c, c if ok else mine)


def _ends_H0(q: Quantities) -> Ends:
    """H0's ends: dense; above ``dense_m`` lambda_min = 0 when the rank bound is below m, and
    lambda_max not at all."""
    if not q.blocked:
        w = scipy.linalg.eigvalsh(q.H(weights=q.z0 ** 2)[0])
        return float(w[0]), float(w[-1]), 1e-12 * float(w[-1]), ""
    why = too_big("H0", q.m, q.dense_m) + "; no status depends on it"
    if rank_bound_H0(q) < q.m:
        return 0.0, None, q.noise["H0"], why
    return None, None, 0.0, why


def _ends_G0(q: Quantities) -> Ends:
    """G0 = F0^T F0's ends: dense; above ``dense_m`` with m > S exactly from F0 F0^T (S x S; rank
    <= S < m, so lambda_min = 0); else not at all."""
    F = q.F0[0]
    if not q.blocked:
        w = scipy.linalg.eigvalsh(F.T @ F)
        return float(w[0]), float(w[-1]), 1e-12 * float(w[-1]), ""
    if q.m > q.S:
        hi = float(scipy.linalg.eigvalsh(F @ F.T)[-1])
        return 0.0, hi, 1e-12 * hi, ""
    return None, None, 0.0, too_big("G0 (m <= S)", q.m, q.dense_m) + "; no status depends on it"


def check(cert: Mapping[str, Any], q: Quantities, y: np.ndarray | None, led: Ledger) -> None:
    """Re-derive ``cert["diagnostics"]`` into ``led`` (module docstring)."""
    d = cert.get("diagnostics")
    if not isinstance(d, Mapping):
        return
    p = cert["parameters"]
    eta_w, eta_z, tol = float(p["eta_w"]), float(p["eta_z"]), float(p["tol"])
    X = q.X
    n, m = X.shape
    sv = np.linalg.svd(X, compute_uv=False)
    x = d.get("X")
    if isinstance(x, Mapping):
        base = "diagnostics.X"
        norm = float(sv[0])
        tol_r = norm * max(n, m) * np.finfo(np.float64).eps
        rank = int(np.sum(sv > tol_r))
        want = {"n": n, "m": m, "norm": norm, "frobenius": float(np.linalg.norm(X)), "rank": rank,
                "full_rank": rank == min(n, m), "rank_tol": tol_r,
                "sigma_min": 0.0 if n > m else float(sv[-1])}
        for k, v in want.items():
            if k in x:
                led.check(join(base, k), x[k], v, rtol=RTOL_DIAG, atol=1e-12 if k == "sigma_min" else 0.0)
        nulls = unclaimed_limit(x)
        for k in nulls:
            led.skip(join(base, k), NULL_LIMIT)
        if q.blocked:
            for k in ("lambda_min_Hw", "lambda_min_Hz"):
                if k in x and k not in nulls:
                    led.skip(join(base, k), too_big("the limit kernels H^w, H^z", m, q.dense_m)
                             + "; no status depends on it")
        elif {"lambda_min_Hw", "lambda_min_Hz"} & (set(x) - set(nulls)):
            from .stats import limit_atol, limit_lambda_min

            for k, v in zip(("lambda_min_Hw", "lambda_min_Hz"), limit_lambda_min(q)):
                if k in x and k not in nulls:
                    led.check(join(base, k), x[k], v, rtol=RTOL_DIAG, atol=limit_atol(x, k, v, m))
    e0 = None
    if y is not None:
        e0 = float(np.linalg.norm(q.f0[0] - y))
        led.check("diagnostics.initial_error", d.get("initial_error", MISSING), e0, rtol=RTOL_DIAG)
    has_H0 = isinstance(d.get("H0"), Mapping)
    if "H0" in d:
        _layer(led, "diagnostics.H0", d.get("H0"), _ends_H0(q), eta_w, e0, tol, "--eta-w", q.blocked)
    if eta_z > 0:
        _layer(led, "diagnostics.G0", d.get("G0"), _ends_G0(q), eta_z, e0, tol, "--eta-z", q.blocked)
    elif "G0" in d:
        led.check("diagnostics.G0", d["G0"], None)
    if has_H0 and "stability_load" in d:
        cH = (d.get("H0") or {}).get("lambda_max") or 0.0
        cG = (d.get("G0") or {}).get("lambda_max") if isinstance(d.get("G0"), Mapping) else 0.0
        load = eta_w * cH + eta_z * (cG or 0.0)
        led.check("diagnostics.stability_load", d["stability_load"], load)
        if "stable" in d:
            led.check("diagnostics.stable", d["stable"], bool(load <= 2.0))
    stop = d.get("gd_stop")
    gd = cert.get("gd") or {}
    if stop is None:
        led.check("diagnostics.gd_stop", stop, None if not gd.get("ran") else "a record of why GD stopped")
    elif isinstance(stop, Mapping):
        kinds = {"converged": ("converged",), "max_steps": ("max_steps",), "diverged": ("safety_valve", "non_finite")}
        kind = stop.get("kind")
        led.check("diagnostics.gd_stop.kind", kind, kind if kind in kinds.get(str(gd.get("status")), ()) else
                  "/".join(kinds.get(str(gd.get("status")), ("(none)",))))
        led.check("diagnostics.gd_stop.T", stop.get("T", MISSING), gd.get("T"))
