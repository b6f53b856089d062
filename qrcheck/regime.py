"""Theorem 2.3's regime: its conditions (15)-(18) with explicit log-slack, the case that applies,
the bounds the proof predicts next to what a run observed, and which quasirandom properties the
deterministic part (Section 3.2, Appendices A, D-F) uses in each case (docs/regime.md).

Every o~ / O~ / Omega~ / omega~ is made explicit with ONE factor of L = ln(nS):
  x <= o~(g)  ->  x <= g / L        x <= O~(g)  ->  x <= L g
  x >= omega~(g) -> x >= L g        x >= Omega~(g) -> x >= g / L
The log-slack of a condition or bound is log_L(bound / value) for an upper bound and
log_L(value / bound) for a lower bound: it holds (with its one factor of L) iff the slack is >= 0,
and the slack says how many further factors of L it has to spare (> 0) or lacks (< 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .results import Sense

if TYPE_CHECKING:  # pragma: no cover
    from .gd import GDResult

# ---- the dependency map (docs/regime.md) ------------------------------------------------------
# every case: (20) ||X^J|| bounds (Section 3.2, App. D-F), (23) entries small (App. E (65), F),
# (25) theta_0 regular (App. A), (26) |W0 X| small (App. E, ||F_s||), (27) ||f0|| (||e_0||, (43)).
BASE = ("20", "23", "25", "26", "27")
# (36) lambda_min(H_t) >= Omega~(S), Appendix D: Gamma_0 and zeta_0 of (24), (28) in (61), (30).
FOR_36 = ("24", "28", "30")
# (69) ||(B_t - B_tau) * X|| <= o~(S^1/2), Appendix F: (21) dual sigma_min, (22) rows of W0 large.
FOR_69 = ("21", "22")
# (37) lambda_min(G_t) >= Omega~(S), Section 3.2: (29).
FOR_37 = ("29",)
# (36) and (69) are used in cases (16), (17) (m <= o~(n S^1/4)); (37) in cases (17), (18), and in
# case (16) too whenever eta_z/eta_w >= omega~(m^2/(nS)) holds: Appendix D's proof of (59) then goes
# through (35), i.e. (48), (37) and so (29) (issue 10 item 7: every route the case relies on).
CASE_USES = {"16": ("36", "69"), "17": ("36", "69", "37"), "18": ("37",)}
GROUPS = {"36": FOR_36, "69": FOR_69, "37": FOR_37}
CASES = ("16", "17", "18")


def case_uses(case: str, ratio_17: bool = False) -> tuple[str, ...]:
    """The intermediate claims (36), (69), (37) the proof uses in ``case``; ``ratio_17``: whether
    eta_z/eta_w >= omega~(m^2/(nS)) holds (then (59) in Appendix D uses (35), hence (37))."""
    out = list(CASE_USES[case])
    if ratio_17 and "37" not in out:
        out.append("37")
    return tuple(out)


def case_requirements(case: str, ratio_17: bool = False) -> tuple[str, ...]:
    """The properties the deterministic part uses in case (16), (17) or (18), sorted; with
    ``ratio_17`` (eta_z/eta_w >= omega~(m^2/(nS)) holds) case (16) also needs (29)."""
    eqs = set(BASE)
    for step in case_uses(case, ratio_17):
        eqs.update(GROUPS[step])
    return tuple(sorted(eqs, key=int))


def log_slack(value: float, bound: float, sense: Sense, L: float) -> float:
    """log_L(bound / value) for <=, log_L(value / bound) for >= (+-inf at the extremes)."""
    hi, lo = (bound, value) if sense is Sense.LE else (value, bound)
    if hi == lo:
        return 0.0
    if lo <= 0 or math.isinf(hi):
        return math.inf if hi > 0 else -math.inf
    if hi <= 0 or math.isinf(lo):
        return -math.inf
    ratio = hi / lo                                     # may overflow to inf or underflow to 0
    return math.log(ratio) / math.log(L) if ratio > 0 else -math.inf


def _json_slack(x: float) -> float | None:
    """Slack for JSON: a finite float, or null when it is infinite (JSON has no infinities; the
    sign is then that of ``holds``: e.g. eta_z = 0 against an upper bound on eta_z)."""
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Condition:
    """One hypothesis of Theorem 2.3 with its explicit factor of L.

    key : short name; equation : where the paper states it; value <sense> bound must hold.
    """

    key: str
    statement: str
    equation: str
    value: float
    bound: float
    sense: Sense
    L: float

    @property
    def slack(self) -> float:
        return log_slack(self.value, self.bound, self.sense, self.L)

    @property
    def holds(self) -> bool:
        return self.value <= self.bound if self.sense is Sense.LE else self.value >= self.bound

    def to_json(self) -> dict:
        return {"statement": self.statement, "equation": self.equation, "holds": self.holds,
                "value": self.value, "bound": self.bound, "sense": self.sense.value,
                "log_slack": _json_slack(self.slack)}


@dataclass(frozen=True)
class Case:
    """Theorem 2.3's hypotheses for (n, S, m, eta_w, eta_z).

    hypotheses : every hypothesis, in the order (15) x3, m <= o~(S), then those of (16)-(18);
        :attr:`conditions` is their JSON form (the certificate's ``regime.conditions``).
    applicable : the cases among (16), (17), (18) whose conditions hold.
    case : the case the run is reported under: the first applicable one, or when none applies
        the one the learning-rate ratio points to ("nearest"). Gating may pick another applicable
        case (:func:`choose_case`).
    theorem_applies : (15), m <= o~(S) and one of (16)-(18) hold.
    """

    n: int
    S: int
    m: int
    eta_w: float
    eta_z: float
    L: float
    hypotheses: tuple[Condition, ...]
    applicable: tuple[str, ...]
    case: str

    def condition(self, key: str) -> Condition:
        return next(c for c in self.hypotheses if c.key == key)

    @property
    def conditions(self) -> dict:
        """JSON form of the hypotheses, keyed by :attr:`Condition.key`."""
        return {c.key: c.to_json() for c in self.hypotheses}

    @property
    def rates_ok(self) -> bool:
        """(15) holds (with its factors of L)."""
        return all(self.condition(k).holds for k in ("15_w_S", "15_w_nm", "15_z"))

    @property
    def theorem_applies(self) -> bool:
        return self.rates_ok and self.condition("m_S").holds and bool(self.applicable)

    @property
    def ratio_17(self) -> bool:
        """eta_z/eta_w >= omega~(m^2/(nS)) holds: (37), hence (29), is used whatever the case."""
        return self.condition("ratio_17").holds

    def requirements(self, case: str) -> tuple[str, ...]:
        """What the deterministic part uses in ``case`` at these rates (:func:`case_requirements`)."""
        return case_requirements(case, self.ratio_17)

    @property
    def required(self) -> tuple[str, ...]:
        return self.requirements(self.case)

    def failing(self) -> tuple[Condition, ...]:
        """The hypotheses that fail, those of the cases (16)-(18) only when no case applies."""
        own = ("15_w_S", "15_w_nm", "15_z", "m_S")
        out = [c for c in self.hypotheses if c.key in own and not c.holds]
        if not self.applicable:
            out += [c for c in self.hypotheses if c.key not in own and not c.holds]
        return tuple(out)

    def explanation(self) -> str:
        """One plain sentence: does Theorem 2.3 cover these sizes and rates, and if not, why."""
        if self.theorem_applies:
            return (f"Theorem 2.3's hypotheses hold in case ({self.case}) with one factor of L = {self.L:.3g} "
                    f"per o~/omega~ (the theorem is asymptotic: this places the sizes and rates in its "
                    f"regime; its hidden constants are not checked).")
        parts = []
        for c in self.failing():
            s = c.slack
            lack = "infinitely many" if math.isinf(s) else f"{-s:.2f}"
            parts.append(f"{c.statement} fails ({c.value:.3g} vs {c.bound:.3g}: lacks {lack} factors of L)")
        where = "rates outside (15): " if not self.rates_ok else ""
        return (f"Theorem 2.3 does not cover this run ({where}{'; '.join(parts)}); any convergence is "
                f"observed, not guaranteed. Reported under the nearest case ({self.case}).")

    def to_json(self) -> dict:
        return {"case": self.case, "applicable_cases": list(self.applicable),
                "theorem_applies": self.theorem_applies, "rates_within_15": self.rates_ok,
                "L": self.L, "conditions": self.conditions,
                "explanation": self.explanation(),
                "requirements": {k: list(self.requirements(k)) for k in CASES}}


def classify(n: int, S: int, m: int, eta_w: float, eta_z: float) -> Case:
    """Evaluate (15)-(18) and m <= o~(S) for (n, S, m, eta_w, eta_z), one factor of L each."""
    L = math.log(n * S)
    ratio = math.inf if eta_w == 0 else eta_z / eta_w
    C = lambda key, st, eq, v, b, s: Condition(key, st, eq, float(v), float(b), s, L)  # noqa: E731
    conds = (
        C("15_w_S", "eta_w <= o~(1/S^2)", "15", eta_w, 1 / (S * S * L), Sense.LE),
        C("15_w_nm", "eta_w <= o~(n/(m S^2))", "15", eta_w, n / (m * S * S * L), Sense.LE),
        C("15_z", "eta_z <= o~(1/(m S^2))", "15", eta_z, 1 / (m * S * S * L), Sense.LE),
        C("m_S", "m <= o~(S)", "Thm 2.3", m, S / L, Sense.LE),
        C("m_small", "m <= o~(n S^1/4)", "16, 17", m, n * S ** 0.25 / L, Sense.LE),
        C("ratio_16", "eta_z/eta_w <= o~(S/m)", "16", ratio, S / (m * L), Sense.LE),
        C("ratio_17", "eta_z/eta_w >= omega~(m^2/(nS))", "17", ratio, L * m * m / (n * S), Sense.GE),
        C("ratio_18", "eta_z/eta_w >= omega~(1 + m/n)", "18", ratio, L * (1 + m / n), Sense.GE),
    )
    h = {c.key: c.holds for c in conds}
    ok = {"16": h["m_small"] and h["ratio_16"], "17": h["m_small"] and h["ratio_17"], "18": h["ratio_18"]}
    applicable = tuple(k for k in CASES if ok[k])
    if applicable:
        case = applicable[0]
    elif h["ratio_18"]:
        case = "18"
    elif h["ratio_17"] and eta_z > 0:
        case = "17"
    else:
        case = "16"
    return Case(n, S, m, float(eta_w), float(eta_z), L, conds, applicable, case)


def choose_case(case: Case, violated: set[str] | frozenset[str]) -> str:
    """The case gating uses: the first applicable case none of whose required properties is
    violated (the proof of that case goes through); else ``case.case``."""
    for k in case.applicable:
        if not set(case.requirements(k)) & set(violated):
            return k
    return case.case


def required_properties(require: str, case: Case, all_eqs: list[str],
                        violated: set[str] | frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The properties whose violation blocks GD and fails the run: ``all``, ``regime`` (those the
    deterministic part uses in the case :func:`choose_case` picks) or ``none``."""
    if require == "all":
        return tuple(all_eqs)
    if require == "none":
        return ()
    return case.requirements(choose_case(case, violated))


# ---- predicted next to observed --------------------------------------------------------------
@dataclass(frozen=True)
class Bound:
    """A bound of the proof next to the run's observed value.

    premise : whether the proof asserts it for these sizes and rates (its case condition holds).
    observed : None when GD did not run (or the quantity is not defined, e.g. G with eta_z = 0).
    """

    key: str
    statement: str
    equation: str
    bound: float
    sense: Sense
    premise: bool
    observed: float | None
    L: float

    @property
    def slack(self) -> float | None:
        return None if self.observed is None else log_slack(self.observed, self.bound, self.sense, self.L)

    @property
    def holds(self) -> bool | None:
        if self.observed is None:
            return None
        return self.observed <= self.bound if self.sense is Sense.LE else self.observed >= self.bound

    def to_json(self) -> dict:
        s = self.slack
        return {"statement": self.statement, "equation": self.equation, "bound": self.bound,
                "sense": self.sense.value, "premise": self.premise, "observed": self.observed,
                "holds": self.holds, "log_slack": None if s is None else _json_slack(s)}


@dataclass(frozen=True)
class RegimeReport:
    """The regime of a run: Theorem 2.3's hypotheses, and the proof's bounds next to observations.

    figures : the paper's Section 4 control quantities: kappa_W = ||W_T - W_0||_F / m^1/2
    (Figure 3), kappa_D = |D| / (mS) and its prediction (m/(nS))^1/3 ((62) divided by S, Figure 2).
    """

    case: Case
    bounds: tuple[Bound, ...]
    figures: tuple[tuple[str, float | None], ...]

    def to_json(self) -> dict:
        out = self.case.to_json()
        out["bounds"] = {b.key: b.to_json() for b in self.bounds}
        out["figures"] = dict(self.figures)
        return out


def _rate(errors, start: int) -> float | None:
    """Mean per-step decay rate ln(||e_start|| / ||e_T||) / (T - start)."""
    T = len(errors) - 1
    if T - start <= 0 or not (0 < errors[start] < math.inf and 0 < errors[-1] < math.inf):
        return None                                     # nothing to measure, or overflowed (diverged)
    ratio = errors[start] / errors[-1]
    return math.log(ratio) / (T - start) if 0 < ratio < math.inf else None


def report(case: Case, gd: "GDResult | None" = None, *, y_norm: float | None = None) -> RegimeReport:
    """Predicted bounds (32)-(37), (45), (47), (60), (62), Appendix D's max |D^j| and the
    premise on ||y||, each with one factor of L, next to ``gd``'s observations (when it ran)."""
    n, S, m, L = case.n, case.S, case.m, case.L
    ew, ez = case.eta_w, case.eta_z
    small = case.condition("m_small").holds                 # premise of (32), (33), (36), (45)
    big_ratio = case.condition("ratio_17").holds            # premise of (34), (35), (37), (47)
    r = math.inf if ew == 0 else ez / ew
    g = gd
    ch = g.changes if g is not None else None
    lam_H_min = None
    if g is not None:
        lam_H_min = min([g.lambda_min_HT] + [c.lambda_min_H for c in g.checkpoints])
    lam_G = None if g is None or g.lambda_min_GT is None else g.lambda_min_GT
    errs = None if g is None else g.errors
    B = lambda key, st, eq, bound, sense, premise, observed: Bound(  # noqa: E731
        key, st, eq, float(bound), sense, bool(premise),
        None if observed is None else float(observed), L)
    bounds = [
        B("y", "||y|| <= O~(m^1/2 S^1/2)", "Thm 2.3", L * math.sqrt(m * S), Sense.LE, True, y_norm),
        B("e0", "||e_0|| <= O~(m^1/2 S^1/2)", "3.2, (27)", L * math.sqrt(m * S), Sense.LE, True,
          g.errors[0] if g else None),
        B("32", "||W_T-W_0||_F < O~(m^1/2)", "32", L * math.sqrt(m), Sense.LE, small,
          g.W_distance if g else None),
        B("33", "||z_T-z_0|| < O~((eta_z/eta_w)^1/2 m^1/2)", "33", L * math.sqrt(r * m) if r < math.inf
          else math.inf, Sense.LE, small, g.z_distance if g else None),
        B("34", "||W_T-W_0||_F < O~((eta_w/eta_z)^1/2 m^1/2)", "34",
          L * math.sqrt(m / r) if r > 0 else math.inf, Sense.LE, big_ratio, g.W_distance if g else None),
        B("35", "||z_T-z_0|| < O~(m^1/2)", "35", L * math.sqrt(m), Sense.LE, big_ratio,
          g.z_distance if g else None),
        B("36", "min_t lambda_min(H_t) >= Omega~(S)", "36", S / L, Sense.GE, small, lam_H_min),
        B("37", "lambda_min(G_T) >= Omega~(S)", "37", S / L, Sense.GE, big_ratio, lam_G),
        B("45", "rate ln(e_0/e_T)/T >= Omega~(eta_w S)", "45", ew * S / L, Sense.GE, small,
          _rate(errs, 0) if errs is not None else None),
        B("47", "rate ln(e_0/e_T)/T >= Omega~(eta_z S)", "47", ez * S / L, Sense.GE, big_ratio,
          _rate(errs, 0) if errs is not None else None),
        B("60", "||(A_T-A_0) * X|| <= o~(S^1/2)", "60", math.sqrt(S) / L, Sense.LE, small,
          ch.norm_60 if ch else None),
        B("D_J", "max_J |D^j| <= o~(S)", "App. D", S / L, Sense.LE, small,
          ch.max_data_degree if ch else None),
        B("62", "s = min_J |D^j| <= O~(S^2/3 m^1/3 n^-1/3)", "62",
          L * S ** (2 / 3) * m ** (1 / 3) / n ** (1 / 3), Sense.LE, small and m >= n,
          ch.s_high if ch else None),
    ]
    figures = (
        ("kappa_W", None if g is None else g.W_distance / math.sqrt(m)),
        ("kappa_D", None if g is None else g.D / (m * S)),
        ("kappa_D_predicted", (m / (n * S)) ** (1 / 3)),
        ("kappa_H", None if g is None else g.kappa_H),
        ("tail_rate", None if errs is None else _rate(errs, (3 * (len(errs) - 1)) // 4)),
        ("eta_w_lambda_min_HT", None if g is None else ew * g.lambda_min_HT),
        ("Gamma", None if ch is None else S - ch.co_Gamma),
        ("co_Gamma", None if ch is None else ch.co_Gamma),
        ("max_step_co_Gamma", None if ch is None else ch.max_step_co_Gamma),
        ("n_star", None if ch is None else ch.n_star),
    )
    return RegimeReport(case, tuple(bounds), figures)
