"""Theorem 2.3's regime: which of the cases (16), (17), (18) applies, and which quasirandom
properties the deterministic part (Section 3.2, Appendices A, D-F) uses in that case.

Every o~ / omega~ is made explicit with one factor of L = ln(nS):
  m <= o~(n S^{1/4})        ->  m <= n S^{1/4} / L
  eta_z/eta_w <= o~(S/m)    ->  ratio <= S / (m L)
  eta_z/eta_w >= omega~(x)  ->  ratio >= L x
The dependency map (docs/regime.md):
  all cases: (20), (21), (22), (23), (25), (26), (27)  [Section 3.2, Appendices A, E, F]
  (36) (cases (16), (17), Appendix D): (24), (28), (30)
  (37) (cases (17), (18)): (29)
(19) is used only in the probabilistic proofs of (29) and (30), never in the deterministic part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BASE = ("20", "21", "22", "23", "25", "26", "27")
FOR_36 = ("24", "28", "30")
FOR_37 = ("29",)


@dataclass(frozen=True)
class Case:
    """The case of Theorem 2.3 a run falls in.

    case : "16", "17" or "18" (the first whose conditions hold; when none holds, the one its
    learning-rate ratio selects).
    theorem_applies : whether that case's conditions hold (with explicit log factors).
    conditions : each condition's truth and log-slack (log_L of bound / value: how many factors of
    L it has to spare, negative when it lacks them).
    """

    case: str
    theorem_applies: bool
    conditions: dict

    @property
    def required(self) -> tuple[str, ...]:
        extra = {"16": FOR_36, "17": FOR_36 + FOR_37, "18": FOR_37}[self.case]
        return tuple(sorted(BASE + extra, key=int))


def _slack(bound: float, value: float, L: float) -> float | None:
    """log_L(bound / value): factors of L to spare (None when undefined)."""
    if value <= 0 or bound <= 0 or not math.isfinite(bound) or not math.isfinite(value):
        return None if value > 0 or bound <= 0 else math.inf
    return math.log(bound / value) / math.log(L)


def classify(n: int, S: int, m: int, eta_w: float, eta_z: float) -> Case:
    """Evaluate (16)-(18) for (n, S, m, eta_w, eta_z); see module docstring for the log factors."""
    L = math.log(n * S)
    ratio = math.inf if eta_w == 0 else eta_z / eta_w
    m_small = n * S ** 0.25 / L
    cond = {
        "m <= o~(n S^1/4)": {"holds": m <= m_small, "bound": m_small, "value": m,
                             "log_slack": _slack(m_small, m, L)},
        "eta_z/eta_w <= o~(S/m)": {"holds": ratio <= S / (m * L), "bound": S / (m * L), "value": ratio,
                                   "log_slack": _slack(S / (m * L), ratio, L)},
        "eta_z/eta_w >= omega~(m^2/(nS))": {"holds": ratio >= L * m * m / (n * S), "bound": L * m * m / (n * S),
                                           "value": ratio, "log_slack": _slack(ratio, L * m * m / (n * S), L)},
        "eta_z/eta_w >= omega~(1 + m/n)": {"holds": ratio >= L * (1 + m / n), "bound": L * (1 + m / n),
                                          "value": ratio, "log_slack": _slack(ratio, L * (1 + m / n), L)},
    }
    c = {k: v["holds"] for k, v in cond.items()}
    c16 = c["m <= o~(n S^1/4)"] and c["eta_z/eta_w <= o~(S/m)"]
    c17 = c["m <= o~(n S^1/4)"] and c["eta_z/eta_w >= omega~(m^2/(nS))"]
    c18 = c["eta_z/eta_w >= omega~(1 + m/n)"]
    for name, ok in (("16", c16), ("17", c17), ("18", c18)):
        if ok:
            return Case(name, True, cond)
    if c["eta_z/eta_w >= omega~(1 + m/n)"]:
        return Case("18", False, cond)
    if c["eta_z/eta_w >= omega~(m^2/(nS))"] and eta_z > 0:
        return Case("17", False, cond)
    return Case("16", False, cond)


def required_properties(require: str, case: Case, all_eqs: list[str]) -> tuple[str, ...]:
    """The properties whose violation blocks GD and fails the run: ``all``, ``regime`` or ``none``."""
    if require == "all":
        return tuple(all_eqs)
    if require == "none":
        return ()
    return case.required
