"""The audit's own Theorem 2.3: hypotheses (15)-(18) with log-slack, the case, the dependency map,
the required set, and the re-derivation of a certificate's ``regime`` section (trusted kernel:
numpy and the stdlib only; written from the paper's Section 2.4, 3.2, Appendices A, D-F and
docs/regime.md, not from the verify side).

Every hidden polylog is one factor of ``L = ln(nS)``: ``x <= o~(g)`` is ``x <= g/L``, ``x <= O~(g)``
is ``x <= L g``, ``x >= omega~(g)`` is ``x >= L g``, ``x >= Omega~(g)`` is ``x >= g/L``. The
log-slack of ``value <sense> bound`` is ``log_L(bound/value)`` (``<=``) or ``log_L(value/bound)``
(``>=``); JSON writes an infinite slack as null.

Which properties the deterministic proof uses (the citations of (19)-(30) in Section 3.2 and
Appendices A, D, E, F):

- always: (20) ``||X^J||`` ((38)-(40), (61)-(62), (66), (68), App. F), (23) (App. E (65), App. F
  (74)), (25) (App. A), (26) (App. E, ``||F_s||_F``), (27) (``||e_0||`` before (43));
- (36) ``lambda_min(H_t) >= Omega~(S)`` (Appendix D) uses (24), (28), (30); (69) (Appendix F) uses
  (21), (22); both are used when ``m <= o~(n S^1/4)``: (46) and (32), (33) and, in Appendix E,
  ``eta_bar_w = eta_w`` in cases (16), (17);
- (37) ``lambda_min(G_t) >= Omega~(S)`` uses (29); it is used when
  ``eta_z/eta_w >= omega~(m^2/(nS))``: (47), (48) and so (34), (35), and Appendix D's (59) takes
  (35) whenever that ratio holds, also in case (16) (issue 10, item 7).

Formulas versions (as :mod:`.thresholds`): version 1 requires the groups of the case gating picks
(the first applicable case without a violated required property, else the reported case):
(16) -> (36), (69); (17) -> (36), (69), (37); (18) -> (37). Version 2 requires, in every case,
what every route the proof takes under the hypotheses that hold uses: (36), (69) when
``m <= o~(n S^1/4)`` holds in a case (16) or (17) route, and (37) whenever
``eta_z/eta_w >= omega~(m^2/(nS))`` holds or the case is (18).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .thresholds import formulas_version

BASE = ("20", "23", "25", "26", "27")
USES = {"36": ("24", "28", "30"), "69": ("21", "22"), "37": ("29",)}
CASES = ("16", "17", "18")


def _eq_key(eq: str) -> tuple:
    return (int(eq), "") if str(eq).isdigit() else (10 ** 9, str(eq))


# ---- conditions ---------------------------------------------------------------------------------
def log_slack(value: float, bound: float, sense: str, L: float) -> float:
    """log_L(bound/value) for "<=", log_L(value/bound) for ">=" (+-inf at the extremes)."""
    big, small = (bound, value) if sense == "<=" else (value, bound)
    if big == small:
        return 0.0
    if small <= 0 or math.isinf(big):
        return math.inf if big > 0 else -math.inf
    if big <= 0 or math.isinf(small):
        return -math.inf
    return math.log(big / small) / math.log(L)


@dataclass(frozen=True)
class Cond:
    """One hypothesis: ``value <sense> bound`` (with its one factor of L)."""

    key: str
    statement: str
    equation: str
    value: float
    bound: float
    sense: str
    L: float

    @property
    def holds(self) -> bool:
        return self.value <= self.bound if self.sense == "<=" else self.value >= self.bound

    @property
    def slack(self) -> float:
        return log_slack(self.value, self.bound, self.sense, self.L)


@dataclass(frozen=True)
class Regime:
    """Theorem 2.3's hypotheses at (n, S, m, eta_w, eta_z)."""

    n: int
    S: int
    m: int
    eta_w: float
    eta_z: float
    L: float
    conds: tuple[Cond, ...]

    def c(self, key: str) -> Cond:
        for x in self.conds:
            if x.key == key:
                return x
        raise KeyError(key)

    def case_holds(self, case: str) -> bool:
        if case == "16":
            return self.c("m_small").holds and self.c("ratio_16").holds
        if case == "17":
            return self.c("m_small").holds and self.c("ratio_17").holds
        return self.c("ratio_18").holds

    @property
    def applicable(self) -> tuple[str, ...]:
        return tuple(k for k in CASES if self.case_holds(k))

    @property
    def case(self) -> str:
        """The first applicable case; else the one the rate ratio points to."""
        if self.applicable:
            return self.applicable[0]
        if self.c("ratio_18").holds:
            return "18"
        if self.c("ratio_17").holds and self.eta_z > 0:
            return "17"
        return "16"

    @property
    def rates_within_15(self) -> bool:
        return all(self.c(k).holds for k in ("15_w_S", "15_w_nm", "15_z"))

    @property
    def theorem_applies(self) -> bool:
        return self.rates_within_15 and self.c("m_S").holds and bool(self.applicable)

    def suffix(self) -> str:
        """The verdict's " (outside Theorem 2.3: ...)" suffix, "" when the theorem applies."""
        if self.theorem_applies:
            return ""
        why = [w for w, bad in (("rates outside (15)", not self.rates_within_15),
                                ("m > o~(S)", not self.c("m_S").holds),
                                ("no case (16)-(18) holds", not self.applicable)) if bad]
        return f" (outside Theorem 2.3: {'; '.join(why)}; nearest case ({self.case}))"


def classify(n: int, S: int, m: int, eta_w: float, eta_z: float) -> Regime:
    """(15)-(18) and m <= o~(S) at these sizes and rates, one factor of L = ln(nS) each."""
    L = math.log(n * S)
    q = math.inf if eta_w == 0 else eta_z / eta_w
    rows = (
        ("15_w_S", "eta_w <= o~(1/S^2)", "15", eta_w, 1.0 / (S * S) / L, "<="),
        ("15_w_nm", "eta_w <= o~(n/(m S^2))", "15", eta_w, n / (m * S * S) / L, "<="),
        ("15_z", "eta_z <= o~(1/(m S^2))", "15", eta_z, 1.0 / (m * S * S) / L, "<="),
        ("m_S", "m <= o~(S)", "Thm 2.3", m, S / L, "<="),
        ("m_small", "m <= o~(n S^1/4)", "16, 17", m, n * S ** 0.25 / L, "<="),
        ("ratio_16", "eta_z/eta_w <= o~(S/m)", "16", q, S / m / L, "<="),
        ("ratio_17", "eta_z/eta_w >= omega~(m^2/(nS))", "17", q, L * (m * m) / (n * S), ">="),
        ("ratio_18", "eta_z/eta_w >= omega~(1 + m/n)", "18", q, L * (1 + m / n), ">="),
    )
    return Regime(n, S, m, float(eta_w), float(eta_z), L,
                  tuple(Cond(k, st, eq, float(v), float(b), s, L) for k, st, eq, v, b, s in rows))


# ---- the dependency map ---------------------------------------------------------------------------
def uses(case: str, reg: Regime, version: int = 2) -> tuple[str, ...]:
    """The intermediate claims (36), (69), (37) the proof uses in ``case``."""
    if version < 2:
        return {"16": ("36", "69"), "17": ("36", "69", "37"), "18": ("37",)}[case]
    out = []
    if case in ("16", "17"):
        out += ["36", "69"]
    if case in ("17", "18") or reg.c("ratio_17").holds:
        out.append("37")
    return tuple(out)


def case_requirements(case: str, reg: Regime, version: int = 2) -> tuple[str, ...]:
    """The properties the deterministic part uses in ``case``, sorted by equation."""
    eqs = set(BASE)
    for step in uses(case, reg, version):
        eqs.update(USES[step])
    return tuple(sorted(eqs, key=int))


def gating_case(reg: Regime, violated: set[str], version: int = 2) -> str:
    """The first applicable case none of whose required properties is violated, else the case."""
    for k in reg.applicable:
        if not set(case_requirements(k, reg, version)) & violated:
            return k
    return reg.case


def required_set(require: str, reg: Regime, eqs: list[str], violated: set[str],
                 version: int = 2) -> tuple[str, ...]:
    """The properties whose violation blocks GD and fails the run under ``--require``."""
    if require == "all":
        return tuple(sorted(eqs, key=_eq_key))
    if require == "none":
        return ()
    return case_requirements(gating_case(reg, violated, version), reg, version)


# ---- the certificate's regime section ----------------------------------------------------------------
def _params(cert: Mapping[str, Any]) -> tuple[int, int, int, float, float]:
    p = cert.get("parameters") or {}
    vals = []
    for k in ("n", "S", "m"):
        v = p.get(k)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"parameters.{k} must be a positive integer, got {v!r}")
        vals.append(v)
    for k in ("eta_w", "eta_z"):
        v = p.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"parameters.{k} must be a finite number >= 0, got {v!r}")
        vals.append(float(v))
    return tuple(vals)  # type: ignore[return-value]


def regime_of(cert: Mapping[str, Any]) -> Regime:
    """The regime of the certificate's parameters (raises ValueError on unusable parameters)."""
    return classify(*_params(cert))


def verdict_suffix(cert: Mapping[str, Any]) -> str:
    """The verdict's " (outside Theorem 2.3: ...)" suffix for this certificate ("" inside)."""
    return regime_of(cert).suffix()


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _dict(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, dict) else {}


def _trajectory(gd: Mapping[str, Any]) -> tuple[dict[int, float], dict[int, float]] | None:
    """(exact, approx): ||e_t|| by t from the float64 JSON list and from the float32 copy."""
    import base64

    T = gd.get("T")
    if isinstance(T, bool) or not isinstance(T, int) or T < 0 or T > 10 ** 9:
        return None
    stride = max(1, math.ceil(T / 1000))           # the record's stride (replay checks the claimed one)
    listed = gd.get("error_trajectory")
    exact: dict[int, float] = {}
    count = T // stride + 1 + (1 if T % stride else 0)
    if isinstance(listed, list) and len(listed) == count:
        ts = list(range(0, T + 1, stride))
        if T % stride:
            ts.append(T)
        if all(_num(v) is not None for v in listed):
            exact = {t: float(v) for t, v in zip(ts, listed)}
    approx: dict[int, float] = {}
    f32 = gd.get("error_trajectory_f32")
    try:
        if len(f32["data"]) <= 8 * (T + 2):
            a = np.frombuffer(base64.b64decode(f32["data"], validate=True), dtype="<f4")
            if a.size == T + 1:
                approx = {t: float(v) for t, v in enumerate(a)}
    except Exception:  # noqa: BLE001 - a malformed copy is replay's finding, not regime's
        pass
    return exact, approx


def bounds(reg: Regime, gd: Mapping[str, Any] | None, y_norm: float | None,
           e0: float | None) -> dict[str, dict[str, Any]]:
    """The proof's bounds beside the observations (docs/regime.md), as the certificate lists them.

    gd : the certificate's GD record when GD ran (its numbers, checked by :mod:`.replay`), else None.
    """
    n, S, m, L = reg.n, reg.S, reg.m, reg.L
    small, big = reg.c("m_small").holds, reg.c("ratio_17").holds
    q = math.inf if reg.eta_w == 0 else reg.eta_z / reg.eta_w
    ran = gd is not None
    ch = _dict((gd or {}).get("changes"))
    traj = _trajectory(gd) if ran else None
    rate = None
    if traj is not None:
        exact, _ = traj
        T = gd.get("T")
        if T and 0 in exact and T in exact and exact[0] > 0 and exact[T] > 0:
            rate = math.log(exact[0] / exact[T]) / T
    lam_H = None
    if ran:
        cps = gd.get("checkpoints") if isinstance(gd.get("checkpoints"), list) else []
        vals = [_num(gd.get("lambda_min_HT"))] + [_num(_dict(c).get("lambda_min_H")) for c in cps]
        lam_H = None if any(v is None for v in vals) else min(vals)

    def obs(key: str) -> float | None:
        """A GD number; the distances are null in JSON only when they overflowed (inf)."""
        if not ran:
            return None
        v = _num(gd.get(key))
        return math.inf if v is None and key in ("W_distance", "z_distance") and gd.get(key) is None else v

    def chv(key: str) -> float | None:
        return _num(ch.get(key)) if ran else None

    rows = [
        ("y", "||y|| <= O~(m^1/2 S^1/2)", "Thm 2.3", L * math.sqrt(m * S), "<=", True, y_norm),
        ("e0", "||e_0|| <= O~(m^1/2 S^1/2)", "3.2, (27)", L * math.sqrt(m * S), "<=", True,
         e0 if ran else None),
        ("32", "||W_T-W_0||_F < O~(m^1/2)", "32", L * math.sqrt(m), "<=", small, obs("W_distance")),
        ("33", "||z_T-z_0|| < O~((eta_z/eta_w)^1/2 m^1/2)", "33",
         L * math.sqrt(q * m) if q < math.inf else math.inf, "<=", small, obs("z_distance")),
        ("34", "||W_T-W_0||_F < O~((eta_w/eta_z)^1/2 m^1/2)", "34",
         L * math.sqrt(m / q) if q > 0 else math.inf, "<=", big, obs("W_distance")),
        ("35", "||z_T-z_0|| < O~(m^1/2)", "35", L * math.sqrt(m), "<=", big, obs("z_distance")),
        ("36", "min_t lambda_min(H_t) >= Omega~(S)", "36", S / L, ">=", small, lam_H),
        ("37", "lambda_min(G_T) >= Omega~(S)", "37", S / L, ">=", big, obs("lambda_min_GT")),
        ("45", "rate ln(e_0/e_T)/T >= Omega~(eta_w S)", "45", reg.eta_w * S / L, ">=", small, rate),
        ("47", "rate ln(e_0/e_T)/T >= Omega~(eta_z S)", "47", reg.eta_z * S / L, ">=", big, rate),
        ("60", "||(A_T-A_0) * X|| <= o~(S^1/2)", "60", math.sqrt(S) / L, "<=", small, chv("norm_60")),
        ("D_J", "max_J |D^j| <= o~(S)", "App. D", S / L, "<=", small, chv("max_data_degree")),
        ("62", "s = min_J |D^j| <= O~(S^2/3 m^1/3 n^-1/3)", "62",
         L * S ** (2 / 3) * m ** (1 / 3) / n ** (1 / 3), "<=", small and m >= n, chv("s_high")),
    ]
    out = {}
    for key, st, eq, b, sense, premise, o in rows:
        holds = None if o is None else (o <= b if sense == "<=" else o >= b)
        slack = None if o is None else log_slack(o, b, sense, L)
        out[key] = {"statement": st, "equation": eq, "bound": b, "sense": sense, "premise": bool(premise),
                    "observed": o, "holds": holds,
                    "log_slack": None if slack is None or not math.isfinite(slack) else slack}
    return out


def figures(reg: Regime, gd: Mapping[str, Any] | None) -> dict[str, Any]:
    """Section 4's control quantities from the GD record (None where GD did not run)."""
    n, S, m = reg.n, reg.S, reg.m
    out: dict[str, Any] = {"kappa_D_predicted": (m / (n * S)) ** (1 / 3)}
    ran = gd is not None
    ch = _dict((gd or {}).get("changes"))
    g = (lambda k: _num(gd.get(k))) if ran else (lambda k: None)
    W, D, lamT = g("W_distance"), g("D"), g("lambda_min_HT")
    out["kappa_W"] = None if W is None else W / math.sqrt(m)
    out["kappa_D"] = None if D is None else D / (m * S)
    out["kappa_H"] = g("kappa_H")
    out["eta_w_lambda_min_HT"] = None if lamT is None else reg.eta_w * lamT
    co = _num(ch.get("co_Gamma")) if ran else None
    out["co_Gamma"] = None if co is None else int(co)
    out["Gamma"] = None if co is None else S - int(co)
    for k in ("max_step_co_Gamma", "n_star"):
        v = _num(ch.get(k)) if ran else None
        out[k] = None if v is None else int(v)
    return out


def tail_rate(gd: Mapping[str, Any]) -> tuple[float | None, float]:
    """(tail_rate, absolute tolerance): the mean decay rate over the last quarter of the steps,
    from the exact list where it holds the start point, else from the float32 copy."""
    traj = _trajectory(gd)
    T = gd.get("T")
    if traj is None or not isinstance(T, int):
        return None, 0.0
    exact, approx = traj
    s = (3 * T) // 4
    if T - s <= 0:
        return None, 0.0
    end = exact.get(T, approx.get(T))
    if s in exact:
        start, tol = exact[s], 0.0
    elif s in approx:
        start, tol = approx[s], 2.4e-7 / (T - s)
    else:
        return None, 0.0
    if end is None or start <= 0 or end <= 0:
        return None, tol
    return math.log(start / end) / (T - s), tol


def check(cert: Mapping[str, Any], ledger: Any, statuses: Mapping[str, str], *,
          arrays: Mapping[str, np.ndarray] | None = None) -> tuple[str, ...]:
    """Re-derive the certificate's ``regime`` section, ``required`` and GD's gating fields.

    statuses : eq -> the status the audit itself derived (its violated ones drive the gating).
    arrays : the verified {"X", "W0", "z0", "y"} when available: ||y|| and ||e_0|| are then
        recomputed from them (else taken from the GD record, which replay checks).
    Returns the required set (``--require`` from ``parameters.require``, default ``regime``).
    """
    version = formulas_version(cert)
    with ledger.guard("parameters"):
        reg = regime_of(cert)
    if "reg" not in locals():
        return ()
    p = cert.get("parameters") or {}
    require = p.get("require", "regime")
    force = p.get("force", False)
    no_gd = p.get("no_gd", False)
    if require not in ("regime", "all", "none"):
        ledger.fail("parameters.require", require, "regime | all | none", "unknown --require")
        require = "regime"
    for key, val in (("force", force), ("no_gd", no_gd)):
        if not isinstance(val, bool):
            ledger.fail(f"parameters.{key}", val, "true | false", "must be a boolean")
    force, no_gd = force is True, no_gd is True
    for key in ("require", "force", "no_gd"):
        if key in p:
            ledger.vouch(f"parameters.{key}")

    R = "regime"
    ledger.check_at(f"{R}.L", reg.L)
    ledger.check_at(f"{R}.case", reg.case)
    ledger.check_at(f"{R}.applicable_cases", list(reg.applicable))
    ledger.check_at(f"{R}.theorem_applies", reg.theorem_applies)
    ledger.check_at(f"{R}.rates_within_15", reg.rates_within_15)
    for c in reg.conds:
        base = f"{R}.conditions.{c.key}"
        ledger.check_at(f"{base}.statement", c.statement)
        ledger.check_at(f"{base}.equation", c.equation)
        ledger.check_at(f"{base}.value", c.value)
        ledger.check_at(f"{base}.bound", c.bound)
        ledger.check_at(f"{base}.sense", c.sense)
        ledger.check_at(f"{base}.holds", c.holds)
        s = c.slack
        ledger.check_at(f"{base}.log_slack", s if math.isfinite(s) else None)
    claimed_conds = ledger.claim(f"{R}.conditions")
    if isinstance(claimed_conds, dict):
        for k in claimed_conds:
            if k not in {c.key for c in reg.conds}:
                ledger.fail(f"{R}.conditions.{k}", claimed_conds[k], "(no such hypothesis)")
    ledger.check_at(f"{R}.requirements", {k: list(case_requirements(k, reg, version)) for k in CASES})

    eqs = [str(k) for k in statuses]
    violated = {eq for eq, st in statuses.items() if str(getattr(st, "value", st)) == "violated"}
    required = required_set(require, reg, eqs, violated, version)
    ledger.check_at("required", list(required))

    # the gating of gradient descent (docs/regime.md)
    gd = cert.get("gd") if isinstance(cert.get("gd"), dict) else {}
    blocking = [eq for eq in sorted(statuses, key=_eq_key) if eq in required and eq in violated]
    ran_expected = not no_gd and (not blocking or force)
    ledger.check_at("gd.ran", ran_expected)
    if no_gd:
        reason = "--no-gd"
    elif blocking and not force:
        reason = ("required propert" + ("y" if len(blocking) == 1 else "ies") + " violated: "
                  + ", ".join(f"({e})" for e in blocking))
    elif blocking:
        reason = "--force: run despite violated required properties " + ", ".join(blocking)
    elif require == "none":
        reason = "--require none: no property required"
    else:
        reason = (f"every property required by --require {require} holds"
                  + (f" (case ({gating_case(reg, violated, version)}))" if require == "regime" else ""))
    ledger.check_at("gd.reason", reason)
    ledger.check_at("gd.certified", not blocking)
    if not ran_expected:
        ledger.check_at("gd.status", "not_run")

    ran = gd.get("ran") is True
    y_norm = e0 = None
    if arrays is not None:
        y = np.asarray(arrays["y"], dtype=np.float64)
        y_norm = float(np.linalg.norm(y))
        P0 = np.asarray(arrays["W0"], dtype=np.float64) @ np.asarray(arrays["X"], dtype=np.float64)
        e0 = float(np.linalg.norm(np.maximum(P0, 0.0).T @ np.asarray(arrays["z0"], dtype=np.float64) - y))
    else:
        y_norm = _num(ledger.claim(f"{R}.bounds.y.observed"))  # not re-derivable without y
        e0 = _num(gd.get("initial_error")) if ran else None
    if ran:
        ledger.check_at("gd.initial_error", e0, rtol=1e-9)
    want = bounds(reg, gd if ran else None, y_norm, e0)
    for key, row in want.items():
        for field_, val in row.items():
            path = f"{R}.bounds.{key}.{field_}"
            if arrays is None and key == "y" and field_ in ("observed", "holds", "log_slack"):
                ledger.cannot(path, "||y|| needs the arrays", "give the arrays (or the seed's) to the audit")
                continue
            ledger.check_at(path, val, rtol=1e-9)
    claimed_b = ledger.claim(f"{R}.bounds")
    if isinstance(claimed_b, dict):
        for k in claimed_b:
            if k not in want:
                ledger.fail(f"{R}.bounds.{k}", claimed_b[k], "(no such bound)")
    fig = figures(reg, gd if ran else None)
    for k, v in fig.items():
        ledger.check_at(f"{R}.figures.{k}", v, rtol=1e-9)
    tr, tol = tail_rate(gd) if ran else (None, 0.0)
    ledger.check_at(f"{R}.figures.tail_rate", tr, rtol=1e-9, atol=tol)
    claimed_f = ledger.claim(f"{R}.figures")
    if isinstance(claimed_f, dict):
        for k in claimed_f:
            if k not in fig and k != "tail_rate":
                ledger.fail(f"{R}.figures.{k}", claimed_f[k], "(no such figure)")
    return required
