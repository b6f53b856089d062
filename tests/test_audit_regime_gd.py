"""The audit kernel's own regime (qrcheck/audit/regime.py) and reference GD
(qrcheck/audit/replay.py) against verify's, and the tampers they catch."""

from __future__ import annotations

import base64
import copy
import itertools
import json

import numpy as np
import pytest

from qrcheck import regime as verify_regime
from qrcheck.audit import regime, replay
from qrcheck.audit.ledger import Ledger
from qrcheck.verify import VerifyConfig, verify


def _run(**kw):
    out = verify(VerifyConfig(**kw))
    cert = out.certificate
    cert = json.loads(json.dumps(cert.to_json() if hasattr(cert, "to_json") else cert))
    d = out.draw
    return cert, {"X": d.X, "W0": d.W0, "z0": d.z0, "y": d.y}, out


def _statuses(cert):
    return {eq: p["status"] for eq, p in cert["properties"].items()}


def _audit(cert, arrays, *, replay_gd=True, max_steps=replay.DEFAULT_REPLAY_STEPS):
    led = Ledger(cert)
    ch = cert["gd"].get("changes") if isinstance(cert.get("gd"), dict) else None
    n_star = ch.get("n_star") if isinstance(ch, dict) else None
    replay.check_gd(cert, arrays, led, replay_gd, max_steps, n_star=n_star)
    regime.check(cert, led, _statuses(cert), arrays=arrays)
    return led


def _paths(led):
    return {m.path for m in led.mismatches}


GRID = list(itertools.product((10, 100), (40, 2000), (10, 300), (1e-3, 1e-9, 0.0), (0.0, 1e-10, 1e-3)))


@pytest.mark.parametrize("n,S,m,eta_w,eta_z", [g for g in GRID if g[3] + g[4] > 0])
def test_classification_matches_verify(n, S, m, eta_w, eta_z):
    mine = regime.classify(n, S, m, eta_w, eta_z)
    theirs = verify_regime.classify(n, S, m, eta_w, eta_z)
    assert mine.case == theirs.case
    assert mine.applicable == tuple(theirs.applicable)
    assert mine.theorem_applies == theirs.theorem_applies
    assert mine.rates_within_15 == theirs.rates_ok
    for c in mine.conds:
        t = theirs.condition(c.key)
        assert (c.holds, c.sense) == (t.holds, str(t.sense))
        assert c.bound == pytest.approx(t.bound, rel=1e-12)
        assert c.slack == pytest.approx(t.slack, rel=1e-12) or (np.isinf(c.slack) and c.slack == t.slack)
    # the dependency map of the certificate's version, gating under every violated set
    rows = regime.CASES
    for violated in ({"22"}, {"29"}, {"30"}, set()):
        want = verify_regime.required_properties("regime", theirs, [str(e) for e in range(19, 31)], violated)
        version = 2 if _current_version() == 2 else 1
        got = regime.required_set("regime", mine, [str(e) for e in range(19, 31)], violated, version)
        assert got == tuple(want), (violated, rows)


def _current_version():
    from qrcheck.certificate.io import SCHEMA_ID
    from qrcheck.audit.thresholds import VERSION_OF_SCHEMA
    return VERSION_OF_SCHEMA.get(SCHEMA_ID, 2)


def test_item7_case16_with_ratio17_needs_29():
    # (16) and (17) both apply: Appendix D's (59) takes (35), hence (48), (37) and (29)
    reg = regime.classify(100, 10 ** 6, 20, 1e-3, 1e-3)
    assert {"16", "17"} <= set(reg.applicable)
    assert "29" in regime.case_requirements("16", reg, 2)
    assert "29" not in regime.case_requirements("16", regime.classify(100, 10 ** 6, 20, 1e-3, 0.0), 2)
    assert "29" not in regime.case_requirements("16", reg, 1)


@pytest.mark.parametrize("kw", [
    dict(n=20, S=40, m=10, force=True),
    dict(n=20, S=40, m=10, eta_z=1e-3, force=True, track_every=100),
    dict(n=10, S=30, m=12, eta_w=0.5, force=True),           # safety valve
    dict(n=10, S=30, m=12, max_steps=7, force=True),
    dict(n=10, S=30, m=12, no_gd=True),
])
def test_replay_and_regime_match_verify(kw):
    cert, arrays, out = _run(**kw)
    led = _audit(cert, arrays)
    # requirements under schema 2 follow issue 10 item 7; verify may still write the older map
    assert [str(m) for m in led.mismatches if m.path != "regime.requirements"] == []
    assert led.cannots == []
    assert cert["verdict"].endswith(regime.verdict_suffix(cert))
    if out.gd is not None:
        rep = replay.reference_gd(arrays["X"], arrays["W0"], arrays["z0"], arrays["y"],
                                  eta_w=cert["parameters"]["eta_w"], eta_z=cert["parameters"]["eta_z"],
                                  tol=cert["parameters"]["tol"], max_steps=cert["parameters"]["max_steps"],
                                  n_star=cert["gd"]["changes"]["n_star"])
        assert (rep.T, rep.status, int(rep.changed.sum())) == (out.gd.T, out.gd.status, out.gd.D)
        lam0 = replay.lambda_min_H(arrays["X"], arrays["z0"], rep.A0)
        lamT = replay.lambda_min_H(arrays["X"], rep.z_T, rep.AT)
        assert lamT / lam0 == pytest.approx(out.gd.kappa_H, rel=1e-9)


@pytest.fixture(scope="module")
def honest():
    cert, arrays, _ = _run(n=20, S=40, m=10, force=True)
    return cert, arrays


def _f32(values):
    a = np.asarray(values, dtype="<f4")
    return {"encoding": "base64", "dtype": "<f4", "length": int(a.size),
            "data": base64.b64encode(a.tobytes()).decode("ascii")}


@pytest.mark.parametrize("tamper,where,replay_gd", [
    (lambda c: c["gd"]["error_trajectory"].__setitem__(3, c["gd"]["error_trajectory"][3] * 0.999),
     "gd.error_trajectory[3]", False),
    (lambda c: c["gd"]["error_trajectory"].__setitem__(5, "x"), "gd.error_trajectory[5]", False),
    (lambda c: c["gd"].__setitem__("error_trajectory_f32", _f32(np.zeros(c["gd"]["T"] + 1))),
     "gd.error_trajectory_f32", False),
    (lambda c: c["gd"].__setitem__("T", c["gd"]["T"] - 1), ("gd.T", "gd.error_trajectory"), False),
    (lambda c: c["gd"].__setitem__("status", "max_steps"), "gd.status", False),
    (lambda c: c["gd"].__setitem__("kappa_H", c["gd"]["kappa_H"] * 1.01), "gd.kappa_H", False),
    (lambda c: c["gd"]["changes"].__setitem__("max_data_degree", c["gd"]["changes"]["max_data_degree"] + 1),
     "gd.changes.max_data_degree", True),
    (lambda c: c["gd"]["changes"].__setitem__("J", list(reversed(c["gd"]["changes"]["J"]))),
     "gd.changes.J", True),
    (lambda c: c["gd"]["changes"].__setitem__("s_high", c["gd"]["changes"]["s_high"] + 1), "gd.changes.s_high", True),
    (lambda c: c["gd"]["changes"].__setitem__("norm_60", c["gd"]["changes"]["norm_60"] * 1.001),
     "gd.changes.norm_60", True),
    (lambda c: c["gd"].__setitem__("singular_points", 3), ("gd.singular_points", "gd.singular_steps"), False),
    (lambda c: c["gd"].__setitem__("singular_points", 3), "gd.singular_points", True),
    (lambda c: c["gd"].__setitem__("D", c["gd"]["D"] + 1), "gd.D", True),
    (lambda c: c["gd"].__setitem__("W_distance", c["gd"]["W_distance"] * 0.99), "gd.W_distance", True),
    (lambda c: c["regime"]["bounds"]["60"].__setitem__("holds", True), "regime.bounds.60.holds", False),
    (lambda c: c["regime"]["bounds"]["32"].__setitem__("observed", 1.0), "regime.bounds.32.observed", False),
    (lambda c: c["regime"].__setitem__("rates_within_15", True), "regime.rates_within_15", False),
    (lambda c: c["regime"].__setitem__("applicable_cases", ["16", "17"]), "regime.applicable_cases", False),
    (lambda c: c["regime"]["figures"].__setitem__("kappa_W", 0.1), "regime.figures.kappa_W", False),
    (lambda c: c.__setitem__("required", ["20"]), "required", False),
    (lambda c: c["parameters"].pop("require"), None, False),   # the default, regime: still checked
])
def test_tampers_are_caught(honest, tamper, where, replay_gd):
    cert, arrays = honest
    bad = copy.deepcopy(cert)
    tamper(bad)
    led = _audit(bad, arrays, replay_gd=replay_gd)
    paths = _paths(led) - {"regime.requirements"}
    if where is None:
        assert paths == set()
    else:
        assert set([where] if isinstance(where, str) else where) & paths, [str(m) for m in led.mismatches]


def test_replay_step_limit_is_named(honest):
    cert, arrays = honest
    led = _audit(cert, arrays, max_steps=10)
    assert led.cannots and "10" in str(led.cannots[0]) and led.exit_code == 3


def test_mutated_gd_update_in_verify_is_caught(monkeypatch):
    import qrcheck.verify as V

    real = V.run_gd

    def bent(X, W0, z0, y, cfg, *a, **kw):             # one GD update with a 1% larger step
        from dataclasses import replace
        return real(X, W0, z0, y, replace(cfg, eta_w=cfg.eta_w * 1.01), *a, **kw)

    monkeypatch.setattr(V, "run_gd", bent)
    cert, arrays, _ = _run(n=20, S=40, m=10, force=True)
    led = _audit(cert, arrays)
    assert {"gd.T", "gd.error_trajectory"} & _paths(led) or "gd.final_error" in _paths(led)


@pytest.mark.parametrize("key,value", [("T", "x"), ("changes", 5), ("checkpoints", "a"), ("error_trajectory", None),
                                       ("error_trajectory_f32", 5), ("spectral", {"H0": 3}), ("ran", "yes"),
                                       ("singular_steps", {"a": 1}), ("T", 10 ** 12)])
def test_hostile_gd_values_are_mismatches_not_crashes(honest, key, value):
    cert, arrays = honest
    bad = copy.deepcopy(cert)
    bad["gd"][key] = value
    led = _audit(bad, arrays)
    assert led.exit_code in (1, 3) and (led.mismatches or led.cannots)


def test_mutated_case_choice_in_verify_is_caught(monkeypatch):
    import qrcheck.regime as R
    import qrcheck.verify as V

    monkeypatch.setattr(V, "required_properties",
                        lambda require, case, eqs, violated=frozenset(): R.case_requirements("18"))
    cert, arrays, _ = _run(n=20, S=40, m=10, force=True)       # case (16), but gated as (18)
    led = _audit(cert, arrays)
    assert "required" in _paths(led)


def test_schema1_certificate_regime_and_replay():
    from pathlib import Path

    from qrcheck.draw import make_draw

    cert = json.loads((Path(__file__).parent / "data" / "schema1_small.json").read_text())
    p = cert["parameters"]
    d = make_draw(n=p["n"], S=p["S"], m=p["m"], seed=p["seed"], z_dist=p["z_dist"], labels=p["labels"])
    led = _audit(cert, {"X": d.X, "W0": d.W0, "z0": d.z0, "y": d.y})
    assert [str(m) for m in led.mismatches] == [] and led.cannots == []


def test_overflowing_divergence_audits_clean():
    cert, arrays, _ = _run(n=10, S=30, m=12, eta_w=1e300, force=True)     # ||e_1|| ~ 1e302, distances inf
    led = _audit(cert, arrays)
    assert cert["gd"]["status"] == "diverged" and [str(m) for m in led.mismatches] == []
