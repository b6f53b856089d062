"""The audit's own gradient descent (12) and the checks of a certificate's ``gd`` record (trusted
kernel: numpy, scipy and the stdlib only; written from ../shared/CONTRACT.md and docs/gd.md, not
from ``qrcheck.gd``).

One step from theta_t = (W_t, z_t), with P = W X, A = 1(P > 0), F = relu(P), e = F^T z - y:

    W_{t+1} = W_t - eta_w (diag(z_t) A_t o 1 e_t^T) X^T,     z_{t+1} = z_t - eta_z F_t e_t.

Stops (CONTRACT): success ``||e_t|| < tol`` (tested before every step), the safety valve
``||e_t|| > ||e_{t-1}||`` or a non-finite error (tested right after the step that produced it),
or ``max_steps``. ``T`` steps taken; ``D`` = #{(nu, j) : A_t differs from A_0 at some t <= T};
``kappa_H = lambda_min(H_T)/lambda_min(H_0)``, ``H = (X^T X) o (B^T B)``, ``B = diag(z) A``.

The reference loop is plain and dense: it allocates freely, recomputes everything each step and
builds B explicitly. Floating-point rounding can decide a sign only where a preactivation lies
within rounding of 0, and a stop rule only where ``||e_t||`` ties ``tol`` or ``||e_{t-1}||``; the
replay counts those places (:attr:`Replay.ambiguous`, :attr:`Replay.ties`) and never calls a
difference a mismatch that they explain.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import scipy.linalg

STATUSES = ("converged", "diverged", "max_steps")
TRAJECTORY_POINTS = 1000         # the JSON list holds t = 0, k, 2k, ... with k = ceil(T/1000) (T > 1000)
SINGULAR_STEPS_LISTED = 20
DEFAULT_REPLAY_STEPS = 1_000_000  # --replay-gd replays at most this many steps unless told otherwise
RTOL_REPLAY = 1e-6               # replayed floats (different rounding order over many steps)
AMBIGUITY = 1e-11                # |P_nu j| <= AMBIGUITY ||W_nu|| ||X^j||: a sign rounding may decide


@dataclass(frozen=True)
class Replay:
    """Outcome of the reference GD.

    errors : (T+1,) ||e_t||; changed : (S, m) bool, D; flips : (T,) pairs flipped per step;
    over : (T,) neurons flipping more than n* activations in the step; W_T (S, n), z_T (S,).
    ambiguous : (S, m) bool, pairs whose sign was within rounding of 0 at some step.
    ties : steps t at which a stop rule was within rounding (``||e_t||`` vs tol or ``||e_{t-1}||``).
    checkpoints : (t, error, lambda_min_H, lambda_min_G, D, W_distance, z_distance) at t = 0, k, ...
    """

    status: str
    T: int
    errors: np.ndarray
    changed: np.ndarray
    A0: np.ndarray
    AT: np.ndarray
    flips: np.ndarray
    over: np.ndarray
    W_T: np.ndarray
    z_T: np.ndarray
    singular_points: int
    singular_steps: tuple[int, ...]
    ambiguous: np.ndarray
    ties: tuple[int, ...]
    W0: np.ndarray
    checkpoints: tuple[tuple, ...] = ()
    limit_hit: bool = False


def error_norm(e: np.ndarray) -> float:
    """||e|| without overflow of the sum of squares: max|e| * ||e / max|e|||; inf or nan when an
    entry is."""
    a = float(np.max(np.abs(e))) if e.size else 0.0
    if a == 0.0 or not math.isfinite(a):
        return a if e.size else 0.0
    return a * math.sqrt(float(np.sum((e / a) ** 2)))


def lambda_min_H(X: np.ndarray, z: np.ndarray, A: np.ndarray) -> float:
    """lambda_min((X^T X) o (B^T B)), B = diag(z) A (S, m)."""
    B = z[:, None] * A
    return float(scipy.linalg.eigvalsh((X.T @ X) * (B.T @ B))[0])


def lambda_min_G(F: np.ndarray) -> float:
    """lambda_min(F^T F), F (S, m)."""
    return float(scipy.linalg.eigvalsh(F.T @ F)[0])


def reference_gd(X: np.ndarray, W0: np.ndarray, z0: np.ndarray, y: np.ndarray, *, eta_w: float,
                 eta_z: float, tol: float, max_steps: int, n_star: int, track_every: int = 0,
                 limit: int | None = None, blocked: bool = False) -> Replay:
    """Run (12) from (W0, z0) on X (n, m), labels y (m,): at most ``min(max_steps, limit)`` steps
    (``limit_hit`` when the replay limit, not the run's, stopped it). ``blocked``: the checkpoints'
    lambda_min are None (no m x m matrix above the audit's dense limit); the loop itself is O(Sm)."""
    X, W, z, y = (np.array(a, dtype=np.float64) for a in (X, W0, z0, y))
    W0c, z0c = W.copy(), z.copy()
    S, m = W.shape[0], X.shape[1]
    colnorm = np.sqrt(np.sum(X * X, axis=0))
    cap = max_steps if limit is None else min(max_steps, limit)

    def state():
        P = W @ X
        with np.errstate(over="ignore", invalid="ignore"):
            rad = AMBIGUITY * np.sqrt(np.sum(W * W, axis=1))[:, None] * colnorm[None, :]
        A = P > 0
        F = np.where(A, P, 0.0)
        e = F.T @ z - y
        return P, A, F, e, np.abs(P) <= rad

    P, A, F, e, amb = state()
    A0 = A.copy()
    changed = np.zeros_like(A)
    ambiguous = amb.copy()
    zeros = int(np.sum(P == 0))
    singular_points, singular_steps = zeros, [0] if zeros else []
    errors = [error_norm(e)]
    flips, over, ties, checkpoints = [], [], [], []

    def checkpoint(t: int):
        checkpoints.append((t, errors[-1], None if blocked else lambda_min_H(X, z, A),
                            lambda_min_G(F) if eta_z > 0 and not blocked else None,
                            int(changed.sum()), error_norm((W - W0c).ravel()), error_norm(z - z0c)))

    if track_every:
        checkpoint(0)
    status, T, limit_hit = "max_steps", 0, False
    while True:
        err = errors[-1]
        if abs(err - tol) <= 1e-9 * tol:
            ties.append(T)
        if err < tol:
            status = "converged"
            break
        if T >= cap:
            limit_hit = T < max_steps
            break
        B = z[:, None] * A
        gW = (B * e[None, :]) @ X.T                 # (diag(z) A o 1 e^T) X^T
        gz = F @ e
        W = W - eta_w * gW
        z = z - eta_z * gz
        A_prev = A
        P, A, F, e, amb = state()
        T += 1
        zeros = int(np.sum(P == 0))
        if zeros:
            singular_points += zeros
            if len(singular_steps) < SINGULAR_STEPS_LISTED:
                singular_steps.append(T)
        ambiguous |= amb
        step = A != A_prev
        flips.append(int(step.sum()))
        over.append(int(np.sum(step.sum(axis=1) > n_star)))
        changed |= A != A0
        errors.append(error_norm(e))
        if track_every and T % track_every == 0:
            checkpoint(T)
        prev, err = errors[-2], errors[-1]
        if math.isfinite(err) and abs(err - prev) <= 1e-9 * prev:
            ties.append(T)
        if not err <= prev:
            status = "diverged"
            break
    return Replay(status, T, np.array(errors), changed, A0, A, np.array(flips, dtype=np.int64),
                  np.array(over, dtype=np.int64), W, z, singular_points, tuple(singular_steps),
                  ambiguous, tuple(ties), W0c, tuple(checkpoints), limit_hit)


def changes_of(rep: Replay, X: np.ndarray, n: int, n_star: int, blocked: bool = False) -> dict[str, Any]:
    """The change graph D as the certificate's ``gd.changes`` lists it (docs/gd.md); ``blocked``
    (m above the audit's dense limit): without ``norm_60``, an eigenvalue of an m x m matrix."""
    S, m = rep.changed.shape
    dj = rep.changed.sum(axis=0).astype(np.int64)       # |D^j|
    dn = rep.changed.sum(axis=1).astype(np.int64)       # |D_nu|
    k = min(m, n)
    order = sorted(range(m), key=lambda j: (-int(dj[j]), j))
    J, rest = order[:k], order[k:]
    Delta = rep.AT.astype(np.float64) - rep.A0.astype(np.float64)
    if blocked:
        norm_60 = None
    elif Delta.any():
        lam = float(scipy.linalg.eigvalsh((Delta.T @ Delta) * (X.T @ X))[-1])   # identity (7)
        norm_60 = math.sqrt(max(lam, 0.0))
    else:
        norm_60 = 0.0
    co = int(np.sum(dn > n_star))
    return {"D": int(dj.sum()), "max_data_degree": int(dj.max(initial=0)),
            "mean_data_degree": float(dj.mean()) if m else 0.0,
            "max_neuron_degree": int(dn.max(initial=0)),
            "mean_neuron_degree": float(dn.mean()) if S else 0.0,
            "J": [int(j) for j in J], "s_low": int(max((dj[j] for j in rest), default=0)) if k < m else 0,
            "s_high": int(min(dj[j] for j in J)) if k else 0, "n_star": int(n_star),
            "Gamma": S - co, "co_Gamma": co, "max_step_flips": int(rep.flips.max(initial=0)),
            "max_step_co_Gamma": int(rep.over.max(initial=0)),
            "steps_over_n_star": int(np.sum(rep.over > 0)), **({} if blocked else {"norm_60": norm_60})}


# ---- the record's own consistency ---------------------------------------------------------------
def stride_of(T: int) -> int:
    return max(1, math.ceil(T / TRAJECTORY_POINTS))


def listed_steps(T: int) -> list[int]:
    """The t of the JSON list ``error_trajectory``: 0, k, 2k, ... then T when k does not divide T."""
    k = stride_of(T)
    ts = list(range(0, T + 1, k))
    if T % k:
        ts.append(T)
    return ts


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def decode_f32(obj: Any, length: int) -> np.ndarray:
    """The base64 float32 trajectory; ValueError when malformed or of the wrong length."""
    if not isinstance(obj, dict) or obj.get("encoding") != "base64" or obj.get("dtype") != "<f4":
        raise ValueError("error_trajectory_f32 must be {encoding: base64, dtype: <f4, length, data}")
    if not _is_int(obj.get("length")) or obj["length"] != length:
        raise ValueError(f"error_trajectory_f32.length must be T + 1 = {length}")
    data = obj.get("data")
    if not isinstance(data, str) or len(data) > 8 * (length + 2):
        raise ValueError("error_trajectory_f32.data must be base64 text of 4 (T + 1) bytes")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    if len(raw) != 4 * length:
        raise ValueError(f"error_trajectory_f32.data holds {len(raw)} bytes, not 4 (T + 1) = {4 * length}")
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def _params(cert: Mapping[str, Any]) -> dict[str, Any]:
    p = cert.get("parameters") or {}
    out = {}
    for k in ("eta_w", "eta_z", "tol"):
        v = p.get(k)
        if not _is_num(v) or v < 0:
            raise ValueError(f"parameters.{k} must be a finite number >= 0")
        out[k] = float(v)
    ms = p.get("max_steps", 100_000)
    te = p.get("track_every", 0)
    if not _is_int(ms) or ms < 0 or not _is_int(te) or te < 0:
        raise ValueError("parameters.max_steps and track_every must be integers >= 0")
    out["max_steps"], out["track_every"] = ms, te
    for k in ("n", "S", "m"):
        if not _is_int(p.get(k)) or p[k] < 1:
            raise ValueError(f"parameters.{k} must be a positive integer")
        out[k] = p[k]
    return out


def _check_record(gd: Mapping[str, Any], pr: Mapping[str, Any], ledger: Any,
                  n_star: int | None) -> dict[int, float] | None:
    """Internal consistency of a GD record that says it ran; returns the exact trajectory points
    (t -> ||e_t||) when the list is usable."""
    T = gd.get("T")
    if not _is_int(T) or T < 0:
        ledger.fail("gd.T", T, "an integer >= 0")
        return None
    if T > pr["max_steps"]:
        ledger.fail("gd.T", T, f"<= parameters.max_steps = {pr['max_steps']}")
    ledger.vouch("gd.T")
    status = gd.get("status")
    if status not in STATUSES:
        ledger.fail("gd.status", status, " | ".join(STATUSES))
    ledger.check_at("gd.error_trajectory_stride", stride_of(T))
    ts = listed_steps(T)
    lst = gd.get("error_trajectory")
    exact: dict[int, float] | None = None
    if not isinstance(lst, list) or len(lst) != len(ts):
        ledger.fail("gd.error_trajectory", f"{type(lst).__name__} of {len(lst) if isinstance(lst, list) else '?'}",
                    f"a list of {len(ts)} numbers (t = 0, k, 2k, ..., T)")
    else:
        bad = [i for i, v in enumerate(lst) if not (_is_num(v) and v >= 0)]
        for i in bad[:5]:
            ledger.fail(f"gd.error_trajectory[{i}]", lst[i], "a finite number >= 0")
        if not bad or (status == "diverged" and bad == [len(lst) - 1] and lst[-1] is None):
            exact = {t: (math.inf if v is None else float(v)) for t, v in zip(ts, lst)}
            ledger.vouch("gd.error_trajectory")
    f32 = None
    with ledger.guard("gd.error_trajectory_f32"):
        try:
            f32 = decode_f32(gd.get("error_trajectory_f32"), T + 1)
            ledger.vouch("gd.error_trajectory_f32")
        except ValueError as exc:
            ledger.fail("gd.error_trajectory_f32", "(malformed)", "base64 float32 of T + 1 values", str(exc))
    final = gd.get("final_error")
    if exact is not None:
        ledger.check("gd.final_error", final, None if math.isinf(exact[T]) else exact[T], rtol=0.0)
        ledger.check("gd.initial_error", gd.get("initial_error"), exact[0], rtol=0.0)
        if f32 is not None:
            for i, t in enumerate(ts):
                if math.isfinite(exact[t]) and abs(exact[t]) <= float(np.finfo(np.float32).max) \
                        and np.float32(exact[t]) != np.float32(f32[t]):
                    ledger.fail(f"gd.error_trajectory[{i}]", exact[t], float(f32[t]),
                                f"the float32 copy of ||e_{t}|| disagrees")
    if f32 is not None:
        e = f32
        tol32 = float(np.float32(pr["tol"]))
        rises = (np.nonzero(~(e[1:T] <= e[:T - 1]))[0] + 1).tolist()
        if rises:
            ledger.fail("gd.error_trajectory_f32", f"||e_{rises[0]}|| > ||e_{rises[0] - 1}||",
                        "non-increasing before T", "the safety valve would have stopped there")
        early = np.nonzero(e[:T] < tol32)[0].tolist()
        if early:
            ledger.fail("gd.error_trajectory_f32", f"||e_{early[0]}|| < tol", f"T = {early[0]}",
                        "success would have stopped there")
        if status == "converged" and not (e[T] <= tol32):
            ledger.fail("gd.status", status, "not converged", f"||e_T|| = {e[T]:.6g} >= tol")
        if status == "diverged" and (T == 0 or (math.isfinite(e[T]) and e[T] < e[T - 1])):
            ledger.fail("gd.status", status, "not diverged", "||e_T|| <= ||e_{T-1}||")
        if status == "max_steps" and (T != pr["max_steps"] or e[T] < tol32):
            ledger.fail("gd.status", status, "not max_steps", f"T = {T}, max_steps = {pr['max_steps']}")
    if _is_num(final) and status == "converged":
        if not final < pr["tol"]:
            ledger.fail("gd.status", status, "not converged", f"final_error {final} >= tol {pr['tol']}")
    if status == "diverged" and exact is not None and T >= 1 and (T - 1) in exact:
        if not (exact[T] > exact[T - 1]):
            ledger.fail("gd.status", status, "not diverged", "||e_T|| <= ||e_{T-1}||")
    # derived numbers
    H0, HT = gd.get("lambda_min_H0"), gd.get("lambda_min_HT")
    if _is_num(H0) and _is_num(HT):
        ledger.check_at("gd.kappa_H", HT / H0 if H0 > 0 else None, rtol=1e-12)
    if pr["eta_z"] > 0:
        G0, GT = gd.get("lambda_min_G0"), gd.get("lambda_min_GT")
        if _is_num(G0) and _is_num(GT):
            ledger.check_at("gd.kappa_G", GT / G0 if G0 > 0 else None, rtol=1e-12)
    else:
        for k in ("lambda_min_G0", "lambda_min_GT", "kappa_G"):
            ledger.check_at(f"gd.{k}", None)
        ledger.check_at("gd.z_distance", 0.0, atol=0.0)
    if pr["eta_w"] == 0:
        ledger.check_at("gd.W_distance", 0.0)
        ledger.check_at("gd.D", 0)
    for k in ("W_distance", "z_distance"):
        v = gd.get(k)
        if not ((_is_num(v) and v >= 0) or (v is None and status == "diverged")):
            ledger.fail(f"gd.{k}", v, "a finite number >= 0 (null only after an overflow)")
    S, m, n = pr["S"], pr["m"], pr["n"]
    D = gd.get("D")
    if not (_is_int(D) and 0 <= D <= S * m):
        ledger.fail("gd.D", D, f"an integer in [0, S m = {S * m}]")
    sp, ss = gd.get("singular_points"), gd.get("singular_steps", [])
    if not (_is_int(sp) and sp >= 0):
        ledger.fail("gd.singular_points", sp, "an integer >= 0")
    elif not (isinstance(ss, list) and all(_is_int(t) and 0 <= t <= T for t in ss)
              and ss == sorted(set(ss)) and len(ss) <= min(SINGULAR_STEPS_LISTED, sp)
              and (sp == 0) == (len(ss) == 0)):
        ledger.fail("gd.singular_steps", ss, f"the first steps with an exact zero (singular_points = {sp})")
    ch = gd.get("changes")
    if not isinstance(ch, dict):
        ledger.fail("gd.changes", ch, "the change graph D (docs/gd.md)")
    else:
        ledger.check("gd.changes.D", ch.get("D"), D)
        if _is_int(D):
            ledger.check("gd.changes.mean_data_degree", ch.get("mean_data_degree"), D / m, rtol=1e-12)
            ledger.check("gd.changes.mean_neuron_degree", ch.get("mean_neuron_degree"), D / S, rtol=1e-12)
        co = ch.get("co_Gamma")
        if _is_int(co):
            ledger.check("gd.changes.Gamma", ch.get("Gamma"), S - co)
        J = ch.get("J")
        if not (isinstance(J, list) and len(J) == min(m, n) and all(_is_int(j) and 0 <= j < m for j in J)
                and len(set(J)) == len(J)):
            ledger.fail("gd.changes.J", J, f"min(m, n) = {min(m, n)} distinct data indices")
        for k, hi in (("max_data_degree", S), ("max_neuron_degree", m), ("s_high", S), ("s_low", S),
                      ("co_Gamma", S), ("max_step_co_Gamma", S), ("steps_over_n_star", T),
                      ("max_step_flips", S * m)):
            v = ch.get(k)
            if not (_is_int(v) and 0 <= v <= hi):
                ledger.fail(f"gd.changes.{k}", v, f"an integer in [0, {hi}]")
        sl, sh, md = ch.get("s_low"), ch.get("s_high"), ch.get("max_data_degree")
        if all(_is_int(v) for v in (sl, sh, md)) and not (sl <= sh <= md):
            ledger.fail("gd.changes.s_high", sh, f"s_low = {sl} <= s_high <= max_data_degree = {md}")
        if n_star is not None:
            ledger.check("gd.changes.n_star", ch.get("n_star"), int(n_star))
        v = ch.get("norm_60")
        if not (_is_num(v) and v >= 0):
            ledger.fail("gd.changes.norm_60", v, "a finite number >= 0")
    te = pr["track_every"]
    ledger.check_at("gd.track_every", te)
    cps = gd.get("checkpoints", [])
    want_t = list(range(0, T + 1, te)) if te else []
    if not isinstance(cps, list) or [c.get("t") if isinstance(c, dict) else None for c in cps] != want_t:
        ledger.fail("gd.checkpoints", f"{len(cps) if isinstance(cps, list) else cps} checkpoints",
                    f"t = 0, {te}, ... <= T" if te else "none (track_every = 0)")
    else:
        if not cps:
            ledger.vouch("gd.checkpoints")
        for i, c in enumerate(cps if (exact is not None or f32 is not None) else []):
            t = c["t"]
            if exact is not None and t in exact:
                ledger.check(f"gd.checkpoints[{i}].error", c.get("error"), exact[t], rtol=0.0)
            elif f32 is not None and _is_num(c.get("error")) and np.float32(c["error"]) != np.float32(f32[t]):
                ledger.fail(f"gd.checkpoints[{i}].error", c.get("error"), float(f32[t]), "the float32 copy disagrees")
    _check_spectral(gd, pr, ledger, None)
    return exact


SPECTRAL_OF = {"H0": "lambda_min_H0", "HT": "lambda_min_HT", "G0": "lambda_min_G0", "GT": "lambda_min_GT"}


def _check_spectral(gd: Mapping[str, Any], pr: Mapping[str, Any], ledger: Any,
                    mine: Mapping[str, float] | None) -> None:
    """``gd.spectral.<M>``: its value is the record's lambda_min, inside [lower, upper]; with a
    replay (``mine``) the audit's own lambda_min lies inside too (to the replay tolerance)."""
    sp = gd.get("spectral")
    if not isinstance(sp, dict):
        return
    for key, rec in sp.items():
        base = f"gd.spectral.{key}"
        if key not in SPECTRAL_OF or not isinstance(rec, dict):
            ledger.fail(base, rec, "a lambda_min record of H0, HT, G0 or GT")
            continue
        if "value" in rec:
            ledger.check(f"{base}.value", rec["value"], gd.get(SPECTRAL_OF[key]), rtol=0.0)
        lo, hi = rec.get("lower"), rec.get("upper")
        vals = [v for v in (rec.get("value"), None if mine is None else mine.get(key)) if _is_num(v)]
        for v in vals:
            slack = RTOL_REPLAY * max(abs(v), 1e-300) if mine is not None else 0.0
            if lo is not None and not (_is_num(lo) and lo <= v + slack):
                ledger.fail(f"{base}.lower", lo, f"<= {v!r}", "the lower bound exceeds lambda_min")
            if hi is not None and not (_is_num(hi) and hi >= v - slack):
                ledger.fail(f"{base}.upper", hi, f">= {v!r}", "the upper bound is below lambda_min")
        for k in ("lower", "upper"):
            if k in rec:
                ledger.vouch(f"{base}.{k}")


def check_gd(cert: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None, ledger: Any,
             replay: bool, max_steps: int = DEFAULT_REPLAY_STEPS, *, n_star: int | None = None,
             blocked: str | None = None) -> None:
    """Check the certificate's ``gd`` record: its internal consistency always, and with ``replay``
    every number of it against :func:`reference_gd` on the verified ``arrays``
    ({"X", "W0", "z0", "y"}), at most ``max_steps`` steps (the limit is named when it binds).

    n_star : (21)'s n* from the audit's thresholds (the Gamma of Appendix F uses it).
    blocked : above the audit's dense limit, the reason no m x m matrix is formed: the trajectory,
        T, D, the distances and the degrees are replayed; the eigenvalues (lambda_min(H0), (H_T),
        kappa_H, G's, (60)'s norm, the checkpoints') are skipped with this reason."""
    gd = cert.get("gd")
    if not isinstance(gd, dict):
        ledger.fail("gd", gd, "the GD record (an object)")
        return
    with ledger.guard("parameters"):
        pr = _params(cert)
    if "pr" not in locals():
        return
    ran = gd.get("ran")
    if not isinstance(ran, bool):
        ledger.fail("gd.ran", ran, "true | false")
        return
    if not ran:
        ledger.check_at("gd.status", "not_run")
        for k in ("T", "final_error", "kappa_H", "D", "W_distance", "z_distance"):
            ledger.check_at(f"gd.{k}", None)
        extra = [k for k in gd if k not in ("ran", "status", "reason", "certified", "T", "final_error",
                                            "kappa_H", "D", "W_distance", "z_distance", "wall_seconds",
                                            "seconds_per_step")]
        for k in extra:
            if gd[k] not in (None, [], {}):
                ledger.fail(f"gd.{k}", gd[k], None, "GD did not run")
        return
    with ledger.guard("gd"):
        _check_record(gd, pr, ledger, n_star)
    if not replay:
        ledger.note("gd: checked for internal consistency (stop rules, trajectories, D, degrees); its "
                    "numbers were not replayed (--replay-gd re-derives them)")
        return
    if arrays is None:
        ledger.cannot("gd", "--replay-gd needs the arrays", "give the arrays (or the seed's) to the audit")
        return
    T_claim = gd.get("T")
    if _is_int(T_claim) and T_claim > max_steps:
        ledger.cannot("gd", f"the replay would take T = {T_claim} steps, over the replay limit of "
                            f"{max_steps} steps", f"rerun with a replay step limit >= {T_claim}")
        return
    X, W0, z0, y = (np.asarray(arrays[k], dtype=np.float64) for k in ("X", "W0", "z0", "y"))
    ch = gd.get("changes") if isinstance(gd.get("changes"), dict) else {}
    ns = int(n_star) if n_star is not None else ch.get("n_star") if _is_int(ch.get("n_star")) else X.shape[0]
    rep = reference_gd(X, W0, z0, y, eta_w=pr["eta_w"], eta_z=pr["eta_z"], tol=pr["tol"],
                       max_steps=pr["max_steps"], n_star=ns, track_every=pr["track_every"], limit=max_steps,
                       blocked=blocked is not None)
    if rep.limit_hit:
        ledger.cannot("gd", f"the replay reached its limit of {max_steps} steps before (12) stopped",
                      "rerun with a larger replay step limit")
        return
    with ledger.guard("gd"):
        _compare(gd, rep, X, z0, pr, ns, ledger, blocked)


def _compare(gd: Mapping[str, Any], rep: Replay, X: np.ndarray, z0: np.ndarray, pr: Mapping[str, Any],
             n_star: int, ledger: Any, blocked: str | None = None) -> None:
    """Every number of the GD record against the replay (``blocked``: all but the eigenvalues,
    which are skipped with that reason)."""
    tied = set(rep.ties)
    T = rep.T
    if gd.get("T") != T or gd.get("status") != rep.status:
        if gd.get("T") in tied or T in tied:
            ledger.cannot("gd.T", f"the stop rule ties within rounding at step {T}",
                          "the run's T cannot be decided in float64; nothing else to do")
            return
        ledger.check_at("gd.T", T, why="replayed (12)")
        ledger.check_at("gd.status", rep.status, why="replayed (12)")
        return
    ledger.check_at("gd.status", rep.status)
    ledger.check_at("gd.T", T)
    rt = RTOL_REPLAY
    errs = rep.errors
    ledger.check_at("gd.final_error", float(errs[-1]), rtol=rt)
    ledger.check_at("gd.initial_error", float(errs[0]), rtol=rt)
    ledger.check_at("gd.error_trajectory", [float(errs[t]) for t in listed_steps(T)], rtol=rt, atol=1e-12)
    with ledger.guard("gd.error_trajectory_f32"):
        f32 = decode_f32(gd.get("error_trajectory_f32"), T + 1)
        with np.errstate(over="ignore", invalid="ignore"):
            want32 = errs.astype(np.float32).astype(np.float64)      # inf beyond float32's range
            close = (np.abs(f32 - errs) <= 1e-6 * np.abs(errs) + 1e-12) | (f32 == want32)
        bad = np.nonzero(~close)[0]
        if bad.size:
            t = int(bad[0])
            ledger.fail("gd.error_trajectory_f32", float(f32[t]), float(errs[t]),
                        f"||e_{t}|| (and {bad.size - 1} more) differ from the replay")
    amb = int(np.sum(rep.ambiguous & (rep.changed | (rep.AT != rep.A0))))
    ledger.check_at("gd.D", int(rep.changed.sum()), atol=amb, rtol=0.0)
    ledger.check_at("gd.W_distance", error_norm((rep.W_T - rep.W0).ravel()), rtol=rt, atol=1e-300)
    ledger.check_at("gd.z_distance", error_norm(rep.z_T - z0), rtol=rt, atol=1e-300)
    if blocked is not None:
        for k in ("lambda_min_H0", "lambda_min_HT", "kappa_H", "lambda_min_G0", "lambda_min_GT", "kappa_G"):
            if k in gd:
                ledger.skip(f"gd.{k}", blocked)
        if isinstance(gd.get("changes"), Mapping) and "norm_60" in gd["changes"]:
            ledger.skip("gd.changes.norm_60", blocked)
        for i in range(len(gd.get("checkpoints") or [])):
            for k in ("lambda_min_H", "lambda_min_G"):
                ledger.skip(f"gd.checkpoints[{i}].{k}", blocked)
        _compare_rest(gd, rep, X, pr, n_star, ledger, amb, blocked=True)
        return
    lam0 = lambda_min_H(X, z0, rep.A0)
    lamT = lambda_min_H(X, rep.z_T, rep.AT)
    ledger.check_at("gd.lambda_min_H0", lam0, rtol=rt)
    ledger.check_at("gd.lambda_min_HT", lamT, rtol=rt)
    ledger.check_at("gd.kappa_H", lamT / lam0 if lam0 > 0 else None, rtol=rt)
    mine = {"H0": lam0, "HT": lamT}
    if pr["eta_z"] > 0:
        F0 = np.maximum(rep.W0 @ X, 0.0)
        FT = np.maximum(rep.W_T @ X, 0.0)
        g0, gT = lambda_min_G(F0), lambda_min_G(FT)
        ledger.check_at("gd.lambda_min_G0", g0, rtol=rt)
        ledger.check_at("gd.lambda_min_GT", gT, rtol=rt)
        ledger.check_at("gd.kappa_G", gT / g0 if g0 > 0 else None, rtol=rt)
        mine.update(G0=g0, GT=gT)
    _check_spectral(gd, pr, ledger, mine)
    _compare_rest(gd, rep, X, pr, n_star, ledger, amb)


def _compare_rest(gd: Mapping[str, Any], rep: Replay, X: np.ndarray, pr: Mapping[str, Any], n_star: int,
                  ledger: Any, amb: int, blocked: bool = False) -> None:
    """Singular points, the change graph D and the checkpoints against the replay (``amb``: the
    activations within rounding of 0 that D may count either way; ``blocked``: without the
    eigenvalues, which the caller skipped)."""
    rt = RTOL_REPLAY
    ledger.check_at("gd.singular_points", rep.singular_points)
    ledger.check_at("gd.singular_steps", list(rep.singular_steps))
    want = changes_of(rep, X, pr["n"], n_star, blocked)
    for k, v in want.items():
        path = f"gd.changes.{k}"
        if amb and k == "J":
            ledger.vouch(path)
            ledger.note(f"{path}: not compared, {amb} activation(s) were within rounding of 0")
        elif isinstance(v, int):
            ledger.check_at(path, v, atol=amb, rtol=0.0)
        else:
            ledger.check_at(path, v, rtol=rt, atol=1e-12)
    cps = gd.get("checkpoints") or []
    for i, c in enumerate(rep.checkpoints):
        keys = ("t", "error", "lambda_min_H", "lambda_min_G", "D", "W_distance", "z_distance")
        for k, v in zip(keys, c):
            if blocked and k.startswith("lambda_min"):
                continue
            ledger.check_at(f"gd.checkpoints[{i}].{k}", v, rtol=rt, atol=amb if k == "D" else 1e-12)
    if len(cps) != len(rep.checkpoints):
        ledger.fail("gd.checkpoints", f"{len(cps)} checkpoints", f"{len(rep.checkpoints)}")

