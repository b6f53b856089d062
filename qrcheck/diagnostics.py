"""Kernel diagnostics of one draw and the explanation of how gradient descent (12) stopped.

What makes a data set hard for (12) is often not a property (19)-(30) but the spectrum of the
kernels: the limit kernels H^w(X), H^z(X) of Appendix C, and the NTK matrices at initialisation
H0 = (X^T X) o (B0^T B0) (first layer) and G0 = F0^T F0 (second layer), Section 3. Linearised at
theta_0, one step of (12) maps the error e to (I - eta_w H0 - eta_z G0) e, so

* the step is stable (the error norm cannot grow in the linearisation) only when
  eta_w lambda_max(H0) + eta_z lambda_max(G0) <= 2; the *stable step* of a layer is
  2 / lambda_max of its matrix;
* at a stable rate the slowest direction shrinks by 1 - eta lambda_min per step, so reaching
  ||e|| < tol takes about ln(||e_0|| / tol) / -ln(1 - eta lambda_min) steps (``predicted_steps``;
  the linearisation's estimate, not a bound);
* the suggested rate is 1 / lambda_max (half the stable step).

:func:`kernel_diagnostics` computes these (extreme eigenvalues by :mod:`qrcheck.spectral`, which
avoids m x m eigendecompositions at large m); :func:`gd_stop` says in words why a run of (12)
stopped, and suggests a rate when it stopped within the first :data:`EARLY_STOP` steps.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from . import spectral
from .properties.p29 import limit_kernel_details
from .quantities import Quantities

# a run of (12) that stops at or before this step "stopped early": the stop names a rate
EARLY_STOP = 10


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _extremes_H0(q: Quantities) -> tuple[float, float, str]:
    """(lambda_min, lambda_max, method) of H0 = (X^T X) o (B0^T B0), B0 = diag(z0) A0; lambda_min is
    the draw's (``q.H0_extreme``, the one (29) and GD use), lambda_max by Lanczos on the formed H0
    or, when ``q.matrix_free``, through (7) (``spectral.lambda_max_khatri_rao``)."""
    if q.m <= spectral.EIGVALSH_M_MAX and not q.matrix_free:
        H0 = q.H0  # the draw's cached H0, the one (29) and GD use
        if not np.isfinite(H0).all():   # overflowed: no computable spectrum
            return math.nan, math.nan, "dense"
        ev = np.linalg.eigvalsh(H0)
        return float(ev[0]), float(ev[-1]), "dense"
    lo = q.H0_extreme
    if q.matrix_free:
        o = q.neuron_order
        hi = spectral.lambda_max_khatri_rao(q.z0[o, None] * q.A0[o], q.X, dense_limit=q.dense_limit)
    else:
        hi = spectral.lambda_max_dense(q.H0)
    return float(lo.value), float(hi.value), f"{lo.method}/{hi.method}"


def _extremes_G0(q: Quantities) -> tuple[float, float, str]:
    """(lambda_min, lambda_max, method) of G0 = F0^T F0 (lambda_min the draw's ``q.G0_extreme``);
    lambda_max(G0) = ||F0||^2."""
    if q.m <= spectral.EIGVALSH_M_MAX and not q.matrix_free:
        G0 = q.G0  # the draw's cached G0, the one (29) uses
        if not np.isfinite(G0).all():   # overflowed: no computable spectrum
            return math.nan, math.nan, "dense"
        ev = np.linalg.eigvalsh(G0)
        return float(ev[0]), float(ev[-1]), "dense"
    lo = q.G0_extreme
    return float(lo.value), float(np.linalg.norm(q.F0, 2) ** 2), f"{lo.method}/svd"


def predicted_steps(eta: float, lam_min: float, lam_max: float, e0: float | None, tol: float | None) -> int | None:
    """Steps of the linearised (12) until the slowest direction (lambda_min) falls from ||e_0|| to
    tol, at a stable rate (eta lambda_max <= 2); None when unstable or lambda_min <= 0."""
    if not (e0 and tol and e0 > tol and eta > 0 and lam_min > 0 and eta * lam_max <= 2):
        return None
    x = eta * lam_min
    if x >= 1:
        return 1
    rate = -math.log1p(-x)
    steps = math.log(e0 / tol) / rate if rate > 0 else math.inf
    return int(math.ceil(steps)) if math.isfinite(steps) else None   # overflowed e_0: no prediction


def _layer(eta: float, lam_min: float, lam_max: float, method: str, e0: float | None, tol: float | None,
           flag: str) -> dict:
    stable = 2.0 / lam_max if lam_max > 0 else None
    suggested = 1.0 / lam_max if lam_max > 0 else None
    return {"lambda_min": _finite(lam_min), "lambda_max": _finite(lam_max), "method": method,
            "condition": _finite(lam_max / lam_min) if lam_min > 0 else None,
            "eta": eta, "flag": flag, "stable_step": _finite(stable),
            "exceeds_stable_step": bool(stable is not None and eta > stable),
            "suggested_eta": _finite(suggested),
            "predicted_steps": predicted_steps(eta, lam_min, lam_max, e0, tol),
            "predicted_steps_at_suggested": (predicted_steps(suggested, lam_min, lam_max, e0, tol)
                                             if suggested else None)}


def data_diagnostics(q: Quantities) -> dict:
    """The data's part: rank and norms of X (n, m), lambda_min of the limit kernels H^w(X), H^z(X)
    (Appendix C; ``q.lambda_min_Hw``, ``q.lambda_min_Hz``, with their residuals when iterative;
    formed m x m only up to ``q.dense_limit``, else None and ``limit_kernels`` says why)."""
    sv = np.linalg.svd(q.X, compute_uv=False)
    tol = float(sv.max() * max(q.X.shape) * np.finfo(np.float64).eps) if sv.size else 0.0
    rank = int(np.sum(sv > tol))
    d = {"n": q.n, "m": q.m, "rank": rank, "full_rank": rank == min(q.n, q.m), "rank_tol": tol,
         "norm": float(sv.max()), "frobenius": float(np.linalg.norm(q.X)),
         "sigma_min": float(sv.min()) if q.m >= q.n else 0.0,
         "lambda_min_Hw": None, "lambda_min_Hz": None}
    if not q.matrix_free:
        d["lambda_min_Hw"] = _finite(q.lambda_min_Hw)
        d["lambda_min_Hz"] = _finite(q.lambda_min_Hz)
    d.update(limit_kernel_details(q))
    return d


def kernel_diagnostics(q: Quantities, eta_w: float, eta_z: float, tol: float | None = None) -> dict:
    """The certificate's ``diagnostics`` record of one draw.

    Parameters
    ----------
    q : the draw's quantities (X (n, m), W0 (S, n), z0 (S,), y (m,)).
    eta_w, eta_z : the rates of (12); tol : its tolerance (for ``predicted_steps``).

    Returns
    -------
    dict with ``X`` (:func:`data_diagnostics`), ``H0`` (always) and ``G0`` (when eta_z > 0; else
    None) each with lambda_min, lambda_max, condition, the stable step 2 / lambda_max, whether the
    rate exceeds it, the suggested rate 1 / lambda_max and the linearisation's predicted steps;
    ``stable`` (eta_w lambda_max(H0) + eta_z lambda_max(G0) <= 2) and ``notes`` (sentences).
    """
    e0 = float(np.linalg.norm(q.f0 - q.y)) if q.y is not None else None
    lo, hi, how = _extremes_H0(q)
    H0 = _layer(eta_w, lo, hi, how, e0, tol, "--eta-w")
    G0 = None
    if eta_z > 0:
        glo, ghi, ghow = _extremes_G0(q)
        G0 = _layer(eta_z, glo, ghi, ghow, e0, tol, "--eta-z")
    load = eta_w * hi + (eta_z * G0["lambda_max"] if G0 and G0["lambda_max"] else 0.0)
    X = data_diagnostics(q)
    notes = []
    if not X["full_rank"]:
        notes.append(f"X has rank {X['rank']} < min(n, m) = {min(q.n, q.m)}: no n* columns of X span R^n, "
                     "so (21) cannot hold")
    for name, layer in (("H0", H0), ("G0", G0)):
        if layer and layer["exceeds_stable_step"]:
            notes.append(f"{layer['flag']} {layer['eta']:.3g} exceeds the stable step 2/lambda_max({name}) = "
                         f"{layer['stable_step']:.3g}; try {layer['flag']} {layer['suggested_eta']:.2g}")
    return {"X": X, "H0": H0, "G0": G0, "initial_error": e0, "stability_load": _finite(load),
            "stable": bool(load <= 2.0), "notes": notes}


BASELINE_KEYS = ("rank", "norm", "lambda_min_Hw", "lambda_min_Hz", "lambda_min_H0", "lambda_max_H0")


def flat(diag: Mapping[str, Any]) -> dict[str, float | None]:
    """The diagnostics a random baseline compares (:data:`BASELINE_KEYS`), as a flat mapping."""
    X, H0 = diag["X"], diag["H0"]
    return {"rank": X["rank"], "norm": X["norm"], "lambda_min_Hw": X["lambda_min_Hw"],
            "lambda_min_Hz": X["lambda_min_Hz"], "lambda_min_H0": H0["lambda_min"],
            "lambda_max_H0": H0["lambda_max"]}


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _trajectory(gd: Mapping[str, Any], errors: np.ndarray | None) -> np.ndarray | None:
    """||e_t||, t = 0..T: ``errors`` when given, else the record's float32 trajectory (every step),
    else its strided float64 one."""
    if errors is not None:
        return np.asarray(errors, dtype=np.float64)
    enc = gd.get("error_trajectory_f32")
    if isinstance(enc, Mapping):
        try:
            from .gd_report import decode_trajectory

            return np.asarray(decode_trajectory(dict(enc)), dtype=np.float64)
        except Exception:  # noqa: BLE001 - a malformed record falls back to the strided list
            pass
    traj = [v for v in (gd.get("error_trajectory") or []) if v is not None]
    return np.asarray(traj, dtype=np.float64) if traj else None


def gd_stop(gd: Mapping[str, Any], diag: Mapping[str, Any] | None, errors: np.ndarray | None = None,
            max_steps: int | None = None) -> dict | None:
    """Why a run of (12) stopped, in words, and a suggested rate when it stopped early.

    ``gd`` is the certificate's ``gd`` record (``status``, ``T``, ``initial_error``,
    ``final_error``, ``error_trajectory_f32``); ``diag`` the :func:`kernel_diagnostics`; ``errors``
    the full (T+1,) trajectory ||e_t|| when at hand (else decoded from the record); ``max_steps``
    the run's step limit (a suggestion that needs more steps says so). Returns None
    when GD did not run, else ``{"kind", "T", "words", "suggested_eta_w", "suggested_eta_z"}``;
    ``kind`` is ``converged``, ``safety_valve`` (CONTRACT's ``diverged``: ||e_T|| > ||e_{T-1}||),
    ``non_finite`` (also ``diverged``) or ``max_steps``.
    """
    if not gd.get("ran"):
        return None
    status, T = str(gd.get("status")), gd.get("T")
    e0, eT = gd.get("initial_error"), gd.get("final_error")
    traj = _trajectory(gd, errors)
    H0 = (diag or {}).get("H0") or {}
    G0 = (diag or {}).get("G0") or {}
    out: dict[str, Any] = {"kind": status, "T": T, "suggested_eta_w": None, "suggested_eta_z": None}
    if status == "converged":
        out["words"] = f"converged: ||e_T|| = {_g(eT)} < tol after T = {T} steps (from ||e_0|| = {_g(e0)})"
        return out
    if status == "max_steps":
        pred = H0.get("predicted_steps")
        out["words"] = (f"stopped at --max-steps {T}: the error fell from {_g(e0)} to {_g(eT)}"
                        + (f"; the linearisation predicts about {pred} steps to tol at this rate" if pred else ""))
        return out
    # diverged: the safety valve, or a non-finite error
    if eT is None or not math.isfinite(float(eT)):
        out["kind"] = "non_finite"
        head = f"the error became non-finite at step T = {T}"
    else:
        out["kind"] = "safety_valve"
        before = float(traj[-2]) if traj is not None and len(traj) >= 2 else None
        low = float(np.min(traj[:-1])) if traj is not None and len(traj) >= 2 else None
        rise = f" and then rose by {_g(float(eT) - before)}" if before is not None else f" and then rose to {_g(eT)}"
        if low is None or e0 is None or low >= float(e0):
            head = (f"stopped by the safety valve (||e_t|| > ||e_(t-1)||) at step T = {T}: the error rose "
                    f"from {_g(e0)} to {_g(eT)}")
        else:
            head = (f"stopped by the safety valve (||e_t|| > ||e_(t-1)||) at step T = {T} after the error fell "
                    f"from {_g(e0)} to {_g(low)}{rise}")
    early = T is not None and T <= EARLY_STOP
    why = []
    if H0.get("exceeds_stable_step"):
        why.append(f"eta_w = {_g(H0['eta'])} exceeds the stable step 2/lambda_max(H0) = {_g(H0['stable_step'])}")
        out["suggested_eta_w"] = H0.get("suggested_eta")
    if G0 and G0.get("exceeds_stable_step"):
        why.append(f"eta_z = {_g(G0['eta'])} exceeds the stable step 2/lambda_max(G0) = {_g(G0['stable_step'])}")
        out["suggested_eta_z"] = G0.get("suggested_eta")
    if early and not why and H0.get("eta"):
        # stable in the linearisation: activation changes moved the kernel; a smaller step helps
        why.append("the rates are below the stable steps, so activation changes of the first steps grew the kernel")
        out["suggested_eta_w"] = min(H0["eta"] / 4, H0.get("suggested_eta") or H0["eta"])
        if G0 and G0.get("eta"):
            out["suggested_eta_z"] = min(G0["eta"] / 4, G0.get("suggested_eta") or G0["eta"])
    words = head
    if why:
        words += ": " + "; ".join(why)
    if early or why:
        hints = [f"--eta-w {out['suggested_eta_w']:.2g}" if out["suggested_eta_w"] else None,
                 f"--eta-z {out['suggested_eta_z']:.2g}" if out["suggested_eta_z"] else None]
        hints = [h for h in hints if h]
        if hints:
            pred = H0.get("predicted_steps_at_suggested") if out["suggested_eta_w"] == H0.get("suggested_eta") else None
            more = f"; raise --max-steps above {max_steps}" if pred and max_steps is not None and pred > max_steps else ""
            words += "; try " + " ".join(hints) + (f" (about {pred} steps to tol, linearised{more})" if pred else "")
    out["words"] = words
    return out
