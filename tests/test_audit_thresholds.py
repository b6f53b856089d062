"""The audit kernel's own thresholds (qrcheck/audit/thresholds.py) against what verify writes,
version notices, spoofed and custom profiles, and the Appendix C bounds."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qrcheck.audit import thresholds as th
from qrcheck.draw import make_draw
from qrcheck.verify import VerifyConfig, verify

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-8


def _run(**kw):
    out = verify(VerifyConfig(no_gd=True, **kw))
    cert = out.certificate
    cert = json.loads(json.dumps(cert.to_json() if hasattr(cert, "to_json") else cert))
    d = out.draw
    return cert, {"X": d.X, "W0": d.W0, "z0": d.z0, "y": d.y}


def _close(a, b, rtol=RTOL):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)


def _enclosures(cert):
    p = cert["properties"]["19"]
    return {"19": (p.get("lower"), p.get("upper"))} if p.get("upper") is not None else {}


def _differences(cert, arrays):
    ex = th.expected(cert, arrays, _enclosures(cert))
    bad = []
    for eq, e in ex.items():
        p = cert["properties"][eq]
        if not _close(p.get("threshold"), e.threshold):
            bad.append((eq, "threshold", p.get("threshold"), e.threshold))
        rule = p.get("rule") or {}
        for k in ("C", "p", "g"):
            if k in rule and not _close(rule[k], getattr(e, k)):
                bad.append((eq, k, rule[k], getattr(e, k)))
        det = p.get("details") or {}
        for k in ("n_star", "S_star", "zeta0"):
            if k in det and not _close(det[k], e.extras.get(k), 1e-12):
                bad.append((eq, k, det[k], e.extras.get(k)))
        if e.vacuous and p["status"] != "vacuous":
            bad.append((eq, "vacuous", p["status"], "vacuous"))
    return bad


@pytest.mark.parametrize("profile,kw", [
    ("paper", dict(n=20, S=40, m=10)),
    ("paper", dict(n=30, S=40, m=10, z_dist="gaussian", seed=3)),
    ("sharp", dict(n=20, S=40, m=10)),
    ("sharp", dict(n=12, S=60, m=30, seed=1)),
    ("sharp", dict(n=20, S=100, m=10, z_dist="gaussian")),
    ("sharp", dict(n=8, S=800, m=4)),
])
def test_thresholds_equal_verify(profile, kw):
    cert, arrays = _run(profile=profile, **kw)
    assert _differences(cert, arrays) == []
    assert th.profile_mismatches(cert) == []


def test_schema1_certificate_gets_version_notice_not_mismatch():
    # certificates/small.json as qrcheck wrote it under schema 1 (commit f5a44e1)
    cert = json.loads((ROOT / "tests" / "data" / "schema1_small.json").read_text())
    assert cert["schema"] == "qrcheck.certificate/1"
    p = cert["parameters"]
    d = make_draw(n=p["n"], S=p["S"], m=p["m"], seed=p["seed"], z_dist=p["z_dist"], labels=p["labels"])
    assert th.formulas_version(cert) == 1
    assert "version 1" in th.version_notice(cert)
    assert _differences(cert, {"X": d.X, "W0": d.W0, "z0": d.z0, "y": d.y}) == []


def test_spoofed_builtin_profile_is_audited_as_the_builtin():
    cert, arrays = _run(profile="paper", n=20, S=40, m=10)
    want = {eq: e.threshold for eq, e in th.expected(cert, arrays, _enclosures(cert)).items()}
    bad = copy.deepcopy(cert)
    prof = bad["provenance"]["profile"]
    prof["source"] = "weak.toml"
    prof["threshold"]["26"] = {"C": 100.0, "p": 1}
    prof["zeta0_min"] = {"C": 1e-9, "p": 0}
    prof["kernel_floor"] = 10.0
    keys = {k for k, _, _ in th.profile_mismatches(bad)}
    assert {"provenance.profile.threshold.26", "provenance.profile.zeta0_min",
            "provenance.profile.source", "provenance.profile.kernel_floor"} <= keys
    got = {eq: e.threshold for eq, e in th.expected(bad, arrays, _enclosures(bad)).items()}
    assert got == want                       # the built-in's constants, not the listed ones
    # renamed in parameters only: still the built-in (name of either place)
    bad["parameters"]["profile"] = "paper"
    bad["provenance"]["profile"]["name"] = "mine"
    assert th.profile_table(bad)[2] is True


def test_custom_toml_profiles_recomputed_from_their_constants(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('name = "mine"\nbase = "paper"\nkernel_floor = 0.05\n[threshold."19"]\nC = 0.5\np = 0.5\n'
                 '[threshold."26"]\nC = 3.0\np = 0\n')
    cert, arrays = _run(profile=str(f), n=20, S=40, m=10)
    assert cert["provenance"]["profile"]["name"] == "mine"
    assert th.profile_table(cert)[2] is False
    assert _differences(cert, arrays) == []
    g = tmp_path / "tight.toml"
    g.write_text('name = "tight"\nbase = "sharp"\ndelta = 1e-6\n[threshold."23"]\nC = 5.0\n')
    cert, arrays = _run(profile=str(g), n=20, S=60, m=10)
    assert _differences(cert, arrays) == []
    h = tmp_path / "exist.toml"
    h.write_text('name = "exist"\nbase = "paper"\n[n_star]\nC = 0.3\np = 1\n[S_star]\nC = 2.0\np = 0.5\n'
                 '[premise_30]\nC = 3.0\np = 0\n[zeta0_min]\nC = 0.5\np = 0\n')
    cert, arrays = _run(profile=str(h), n=12, S=60, m=30, z_dist="gaussian")
    assert _differences(cert, arrays) == []
    # an unknown tail formula cannot be audited
    cert["provenance"]["profile"]["threshold"]["19"] = {"tail": "trust me"}
    with pytest.raises(th.ProfileError):
        th.expected(cert, arrays, {})


def test_tail_rules_against_direct_numerics():
    from scipy import integrate, stats

    # (19): union bound over pairs with the exact density (1 - t^2)^((n-3)/2) of <x, y>
    n, m, delta = 12, 30, 1e-3 / 11
    t = th.sharp_19(n, m, delta)
    dens = lambda u: (1 - u * u) ** ((n - 3) / 2)  # noqa: E731
    tail = 2 * integrate.quad(dens, t, 1)[0] / integrate.quad(dens, -1, 1)[0]
    assert tail * m * (m - 1) / 2 == pytest.approx(delta, rel=1e-6)
    # (22), (26): quantiles
    assert th.sharp_22(n, 60, delta) ** 2 == pytest.approx(stats.chi2.ppf(delta / 60, n), rel=1e-12)
    assert 2 * 60 * 30 * stats.norm.sf(th._gauss_isf(delta / (2 * 60 * 30))) == pytest.approx(delta, rel=1e-9)
    # matrix Chernoff: d [e^-eps / (1-eps)^(1-eps)]^(mu/R) = delta at the returned (1 - eps) mu
    mu, R, d = 500.0, 3.0, 30
    u = th.chernoff(mu, R, d, delta) / mu
    eps = 1 - u
    assert d * (np.exp(-eps) / u ** u) ** (mu / R) == pytest.approx(delta, rel=1e-9)
    assert th.chernoff(1.0, 3.0, d, delta) == 0.0


def test_hadamard_beta_is_a_lower_bound_and_matches_verify(rng):
    from qrcheck import kernels

    for n, m in ((20, 10), (10, 40)):
        X = rng.standard_normal((n, m))
        X /= np.linalg.norm(X, axis=0)
        G = X.T @ X
        gamma = np.max(np.abs(G - np.diag(np.diag(G))))
        Hw, Hz = th.limit_kernels(X)
        assert th.hadamard_beta("w", gamma, m) <= np.linalg.eigvalsh(Hw)[0]
        assert th.hadamard_beta("z", gamma, m) <= np.linalg.eigvalsh(Hz)[0]
        np.testing.assert_allclose(Hw, kernels.H_w(X), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(Hz, kernels.H_z(X), rtol=1e-12, atol=1e-15)
        if hasattr(kernels, "hadamard_series_bound"):
            for kind in "wz":
                assert th.hadamard_beta(kind, gamma, m) == pytest.approx(
                    kernels.hadamard_series_bound(kind, gamma, m), rel=1e-9)
    assert th.hadamard_beta("z", 1.0, 5) == 0.0 and th.hadamard_beta("w", 0.3, 1) == 0.5


def test_kernel_modules_import_nothing_of_the_verify_side():
    code = ("import sys; import qrcheck.audit.thresholds, qrcheck.audit.regime, qrcheck.audit.replay; "
            "bad = [m for m in sys.modules if m.startswith('qrcheck.') and not m.startswith("
            "('qrcheck.audit', 'qrcheck.certificate'))]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_thresholds_that_can_never_bind_are_vacuous(tmp_path):
    f = tmp_path / "extreme.toml"
    f.write_text('name = "extreme"\nbase = "paper"\n'
                 + "".join(f'[threshold."{eq}"]\nC = 1e300\np = 0\n' for eq in ("23", "26", "27"))
                 + "".join(f'[threshold."{eq}"]\nC = 1e-300\np = 0\n' for eq in ("22", "29")))
    cert, arrays = _run(profile=str(f), n=20, S=40, m=10)
    ex = th.expected(cert, arrays, _enclosures(cert))
    for eq in ("22", "23", "26", "27", "29"):
        assert ex[eq].vacuous and cert["properties"][eq]["status"] == "vacuous", eq
    assert _differences(cert, arrays) == []


def test_mutated_scale_g_in_verify_is_caught(monkeypatch):
    import qrcheck.properties.p27 as p27

    cls = type(p27.CHECKER)
    real = cls.g
    monkeypatch.setattr(cls, "g", lambda self, ctx: 1.5 * real(self, ctx))   # (27)'s S^1/2 scaled
    cert, arrays = _run(profile="paper", n=20, S=40, m=10)
    bad = {(eq, what) for eq, what, *_ in _differences(cert, arrays)}
    assert ("27", "threshold") in bad and ("27", "g") in bad


@pytest.mark.parametrize("profile", ["paper", "sharp"])
def test_degenerate_foreign_data_keeps_the_floor(profile, foreign_arrays):
    arr, paths = foreign_arrays(7, 20, 200, 12, z0="gaussian")
    X = arr["X"]
    X[:, 1] = X[:, 0] + 1e-7 * np.arange(20) / 20           # two nearly identical data points
    X[:, 1] /= np.linalg.norm(X[:, 1])
    np.save(paths["X"], X)
    cert, arrays = _run(profile=profile, n=None, S=None, m=None, X=str(paths["X"]), W0=str(paths["W0"]),
                        z0=str(paths["z0"]))
    assert _differences(cert, arrays) == []
    ex = th.expected(cert, arrays, _enclosures(cert))
    if th.formulas_version(cert) >= 2:
        assert ex["29"].extras["beta_z"] < ex["29"].extras["kappa0"]          # the bar rests on kappa_0
        assert ex["29"].threshold == pytest.approx(0.5 * 200 * ex["29"].extras["kappa0"], rel=1e-12)
