"""Theorem 2.3's regime: conditions (15)-(18) with log-slack, the case, the dependency map and
gating, and the predicted-vs-observed report (issue 4)."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from qrcheck.cli import app
from qrcheck.gd import GDConfig, run_gd
from qrcheck.regime import (BASE, FOR_36, FOR_37, FOR_69, Sense, case_requirements, choose_case,
                            classify, log_slack, report, required_properties)
from qrcheck.verify import VerifyConfig, verify

runner = CliRunner()


ALL = [str(k) for k in range(19, 31)]


def test_conditions_are_the_papers_with_one_factor_of_L():
    n, S, m, ew, ez = 100, 500, 300, 1e-3, 2e-4
    c = classify(n, S, m, ew, ez)
    L = math.log(n * S)
    expect = {"15_w_S": (ew, 1 / (S ** 2 * L)), "15_w_nm": (ew, n / (m * S ** 2 * L)),
              "15_z": (ez, 1 / (m * S ** 2 * L)), "m_S": (m, S / L), "m_small": (m, n * S ** 0.25 / L),
              "ratio_16": (ez / ew, S / (m * L)), "ratio_17": (ez / ew, L * m * m / (n * S)),
              "ratio_18": (ez / ew, L * (1 + m / n))}
    assert {k.key for k in c.hypotheses} == set(expect) == set(c.conditions)
    for k, (value, bound) in expect.items():
        cond = c.condition(k)
        assert cond.value == pytest.approx(value, rel=1e-15) and cond.bound == pytest.approx(bound, rel=1e-12)
        ratio = bound / value if cond.sense is Sense.LE else value / bound
        assert cond.slack == pytest.approx(math.log(ratio) / math.log(L), rel=1e-12)
        assert cond.holds == (cond.slack >= 0)


def test_log_slack_extremes():
    L = 10.0
    assert log_slack(0.0, 1.0, Sense.LE, L) == math.inf
    assert log_slack(math.inf, 1.0, Sense.LE, L) == -math.inf
    assert log_slack(0.0, 1.0, Sense.GE, L) == -math.inf
    assert log_slack(100.0, 1.0, Sense.GE, L) == pytest.approx(2.0)
    assert log_slack(1.0, 1.0, Sense.LE, L) == 0.0


def test_the_papers_own_runs_are_outside_the_theorem():
    c = classify(100, 500, 300, 1e-3, 0.0)
    assert not c.theorem_applies and not c.rates_ok and c.applicable == () and c.case == "16"
    assert c.condition("15_w_S").slack < -3            # eta_w lacks more than three factors of L
    text = c.explanation()
    assert "rates outside (15)" in text and "not guaranteed" in text


@pytest.mark.parametrize("n,S,m,ew,ez,applicable", [
    (100, 10 ** 6, 10, 1e-14, 0.0, ("16",)),
    (100, 10 ** 6, 10, 1e-15, 1e-15, ("16", "17")),
    (100, 10 ** 6, 10, 1e-19, 1e-15, ("17", "18")),
    (10, 10 ** 6, 100, 1e-19, 5e-16, ("18",)),
])
def test_each_case_is_reached(n, S, m, ew, ez, applicable):
    c = classify(n, S, m, ew, ez)
    assert c.applicable == applicable and c.case == applicable[0] and c.theorem_applies
    assert "hypotheses hold" in c.explanation()


def test_dependency_map():
    assert set(BASE) == {"20", "23", "25", "26", "27"}
    assert set(FOR_36) == {"24", "28", "30"} and set(FOR_69) == {"21", "22"} and set(FOR_37) == {"29"}
    assert case_requirements("16") == ("20", "21", "22", "23", "24", "25", "26", "27", "28", "30")
    assert case_requirements("17") == ("20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30")
    assert case_requirements("18") == ("20", "23", "25", "26", "27", "29")
    for case in ("16", "17", "18"):
        assert "19" not in case_requirements(case)     # (19) serves only Appendices B, C


def test_case_16_needs_29_when_eta_z_over_eta_w_is_large():
    """Issue 10 item 7: (16) and (17) both apply; Appendix D's (59) uses (35), hence (37), (29)."""
    c = classify(100, 10 ** 6, 10, 1e-19, 1e-19)
    assert c.applicable == ("16", "17") and c.ratio_17
    assert "29" in c.requirements("16") and "29" in c.required
    assert "29" in required_properties("regime", c, ALL, {"29"})
    assert case_requirements("16", ratio_17=True) == case_requirements("17")
    assert c.to_json()["requirements"]["16"] == list(case_requirements("17"))


def test_gating_picks_an_applicable_case_whose_properties_hold():
    c = classify(100, 10 ** 6, 10, 1e-19, 1e-15)       # (17) and (18) both apply
    assert choose_case(c, set()) == "17"
    assert choose_case(c, {"30"}) == "18"              # (18)'s proof needs no (30)
    assert choose_case(c, {"29"}) == "17"              # both need (29): reported case
    assert required_properties("regime", c, ALL, {"30"}) == case_requirements("18")
    assert required_properties("all", c, ALL, {"30"}) == tuple(ALL)
    assert required_properties("none", c, ALL, {"30"}) == ()
    c16 = classify(100, 500, 300, 1e-3, 0.0)
    assert "29" not in required_properties("regime", c16, ALL, {"29"})


def _profile(tmp_path, eq, C):
    """The paper profile with (eq)'s constant set to C, and (22) relaxed (small n violates it)."""
    p = tmp_path / "p.toml"
    p.write_text(f'name = "strict{eq}"\nbase = "paper"\n[threshold."{eq}"]\nC = {C}\n'
                 '[threshold."22"]\nC = 0.01\n')
    return str(p)


def test_violated_29_does_not_block_gd_when_eta_z_is_zero(tmp_path):
    prof = _profile(tmp_path, "29", 1e9)                # lambda_min(G0) >= 1e9 S: violated
    out = verify(VerifyConfig(n=8, S=30, m=6, eta_w=5e-3, max_steps=3000, profile=prof))
    cert = out.certificate
    assert cert["properties"]["29"]["status"] == "violated"
    assert "29" not in cert["required"] and cert["gd"]["ran"] and cert["gd"]["certified"]
    strict = verify(VerifyConfig(n=8, S=30, m=6, eta_w=5e-3, max_steps=3000, profile=prof, require="all"))
    gd = strict.certificate["gd"]
    assert not gd["ran"] and gd["status"] == "not_run" and "(29)" in gd["reason"] and strict.exit_code == 1
    forced = verify(VerifyConfig(n=8, S=30, m=6, eta_w=5e-3, max_steps=3000, profile=prof, require="all",
                                 force=True))
    gd = forced.certificate["gd"]
    assert gd["ran"] and not gd["certified"] and gd["reason"].startswith("--force") and forced.exit_code == 1


def test_report_puts_observed_next_to_predicted():
    rng = np.random.default_rng(3)
    n, S, m = 10, 80, 12
    X = rng.standard_normal((n, m))
    X /= np.linalg.norm(X, axis=0)
    W0, z0, y = rng.standard_normal((S, n)), rng.choice([-1.0, 1.0], S), rng.normal(0, math.sqrt(S), m)
    g = run_gd(X, W0, z0, y, GDConfig(eta_w=2e-3, track_every=5))
    c = classify(n, S, m, 2e-3, 0.0)
    rep = report(c, g, y_norm=float(np.linalg.norm(y)))
    L = math.log(n * S)
    b = {x.key: x for x in rep.bounds}
    assert b["32"].observed == g.W_distance and b["32"].bound == pytest.approx(L * math.sqrt(m))
    assert b["32"].premise == c.condition("m_small").holds
    assert b["36"].observed == min([g.lambda_min_HT] + [k.lambda_min_H for k in g.checkpoints])
    assert b["45"].observed == pytest.approx(math.log(g.errors[0] / g.errors[-1]) / g.T)
    assert b["45"].bound == pytest.approx(2e-3 * S / L)
    assert b["62"].observed == g.changes.s_high
    assert b["62"].bound == pytest.approx(L * S ** (2 / 3) * m ** (1 / 3) / n ** (1 / 3))
    assert b["37"].observed is None                    # eta_z = 0: G plays no role
    assert b["y"].observed == pytest.approx(np.linalg.norm(y))
    fig = dict(rep.figures)
    assert fig["kappa_W"] == pytest.approx(g.W_distance / math.sqrt(m))
    assert fig["kappa_D"] == pytest.approx(g.D / (m * S))
    assert fig["kappa_D_predicted"] == pytest.approx((m / (n * S)) ** (1 / 3))
    js = json.loads(json.dumps(rep.to_json(), allow_nan=True))
    assert js["case"] == c.case and set(js["bounds"]) == set(b)


def test_certificate_regime_section(tmp_path):
    out = verify(VerifyConfig(n=8, S=30, m=6, eta_w=5e-3, max_steps=3000, require="none"))
    reg = out.certificate["regime"]
    assert reg["case"] == "16" and reg["theorem_applies"] is False and reg["rates_within_15"] is False
    assert reg["conditions"]["15_w_S"]["holds"] is False and reg["conditions"]["15_w_S"]["log_slack"] < 0
    assert reg["bounds"]["32"]["observed"] == out.certificate["gd"]["W_distance"]
    assert "outside Theorem 2.3" in out.certificate["verdict"]


def test_regime_command():
    r = runner.invoke(app, ["regime", "--n", "100", "--S", "500", "--m", "300"])
    assert r.exit_code == 0 and "case (16)" in r.output and "not guaranteed" in " ".join(r.output.split())
    r = runner.invoke(app, ["regime", "--n", "10", "--S", "1000000", "--m", "100", "--eta-w", "1e-19",
                            "--eta-z", "5e-16"])
    assert r.exit_code == 0 and "case (18)" in r.output
    r = runner.invoke(app, ["regime", "--eta-w", "0", "--eta-z", "0"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
