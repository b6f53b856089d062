"""``qrcheck audit`` and ``qrcheck show``: honest certificates audit clean, every single-field tamper is
caught (exit 1), unreadable input exits 2, arrays that cannot be regenerated are reported as such, and no
input, however hostile, produces a traceback."""

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import qrcheck.audit as A
from qrcheck.certificate import dumps, write_certificate, write_npz_atomic
from qrcheck.cli import app
from qrcheck.verify import VerifyConfig, verify

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def run(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


def make_cert(tmp, name="c.json", **kw):
    """A certificate written the way the CLI writes it; returns (path, outcome)."""
    o = verify(VerifyConfig(**kw), command=["qrcheck", "verify", "test"])
    path = Path(tmp) / name
    write_certificate(path, o.certificate)
    return path, o


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """n=30, S=40, m=10: GD converges; (22)-(29) certified, (30) certified by a searched bound."""
    path, o = make_cert(tmp_path_factory.mktemp("small"), n=30, S=40, m=10, max_steps=5000)
    cert = json.loads(path.read_text())
    assert cert["gd"]["status"] == "converged" and cert["properties"]["30"]["status"] == "certified"
    assert cert["properties"]["30"]["method"].startswith("search")
    return path, cert, o


def test_honest_certificate_audits_clean_with_and_without_replay(small):
    path, cert, _ = small
    r = run("audit", path)
    assert r.exit_code == 0, r.output
    assert "clean" in r.output
    rep = A.audit(path, replay_gd=True)
    assert rep.outcome is A.Outcome.CLEAN and rep.gd_replayed and rep.mismatches == ()
    assert rep.checks > 150 and rep.arrays_from == "regenerated from the seed"
    assert run("audit", path, "--replay-gd").exit_code == 0


def _set(path):
    def f(c, v):
        node = c
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = v(node[path[-1]]) if callable(v) else v
    return f


def _other_gamma0_index(c):
    removed = set(c["properties"]["30"]["witness"]["removed"])
    return next(i for i in c["properties"]["24"]["details"]["Gamma0"] if i not in removed)


TAMPERS = {
    # name: (mutation, property expected among the mismatch rows)
    "statistic (26)": (lambda c: _set(("properties", "26", "statistic"))(c, lambda v: v * 1.001), "26"),
    "threshold (27)": (lambda c: _set(("properties", "27", "threshold"))(c, lambda v: v * 1.01), "27"),
    "status certified->violated (23)": (lambda c: _set(("properties", "23", "status"))(c, "violated"), "23"),
    "status exact->passed (22)": (lambda c: _set(("properties", "22", "status"))(c, "passed"), "22"),
    "status certified->passed (30)": (lambda c: _set(("properties", "30", "status"))(c, "passed"), "30"),
    "status certified->violated (29)": (lambda c: _set(("properties", "29", "status"))(c, "violated"), "29"),
    "status vacuous->certified (19)": (lambda c: _set(("properties", "19", "status"))(c, "certified"), "19"),
    "proved bound (30)": (lambda c: _set(("properties", "30", "lower"))(c, lambda v: v + 1.0), "30"),
    "proved bound per k (20)": (lambda c: _set(("properties", "20", "upper"))(c, lambda v: v * 0.9), "20"),
    "witness index (26)": (lambda c: _set(("properties", "26", "witness", "nu"))(c, lambda v: (v + 1) % 40), "26"),
    "witness pair (19)": (lambda c: _set(("properties", "19", "witness", "pair"))(c, [0, 1]), "19"),
    "witness removal (30)": (lambda c: c["properties"]["30"]["witness"]["removed"].__setitem__(0, _other_gamma0_index(c)), "30"),
    "witness R (28)": (lambda c: _set(("properties", "28", "witness", "R"))(c, lambda v: v * 1.5), "28"),
    "witness out of range (25)": (lambda c: _set(("properties", "25", "witness", "j"))(c, 10**40), "25"),
    "per-k lower (20)": (lambda c: _set(("properties", "20", "details", "per_k", 3, "lower"))(c, lambda v: v + 0.1), "20"),
    "details.zeta0 (24)": (lambda c: _set(("properties", "24", "details", "zeta0"))(c, 2.0), "24"),
    "digest W0": (lambda c: _set(("inputs", "W0", "sha256"))(c, lambda v: ("0" if v[0] != "0" else "1") + v[1:]), "inputs"),
    "parameter seed": (lambda c: _set(("parameters", "seed"))(c, lambda v: v + 1), "inputs"),
    "parameter n": (lambda c: _set(("parameters", "n"))(c, 31), "inputs"),
    "parameter eta_z": (lambda c: _set(("parameters", "eta_z"))(c, 1.0), "regime"),
    "GD T": (lambda c: _set(("gd", "T"))(c, lambda v: v + 1), "gd"),
    "GD D": (lambda c: _set(("gd", "D"))(c, lambda v: v + 3), "gd"),
    "GD W_distance": (lambda c: _set(("gd", "W_distance"))(c, lambda v: v * 1.001), "gd"),
    "GD kappa_H": (lambda c: _set(("gd", "kappa_H"))(c, lambda v: v * 1.01), "gd"),
    "GD status": (lambda c: _set(("gd", "status"))(c, "max_steps"), "gd"),
    "GD not run": (lambda c: c["gd"].update(ran=False, status="not_run"), "gd"),
    "dropped property (24)": (lambda c: c["properties"].pop("24"), "schema"),
    "required set": (lambda c: c["required"].remove("22"), "required"),
    "verdict": (lambda c: _set(("verdict",))(c, "fail: made up"), "verdict"),
    "profile constant": (lambda c: _set(("provenance", "profile", "threshold", "26", "C"))(c, 2.0), "provenance"),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_each_single_field_tamper_is_caught(small, tmp_path, name):
    _, cert, _ = small
    mutate, prop = TAMPERS[name]
    bad = copy.deepcopy(cert)
    mutate(bad)
    p = tmp_path / "tampered.json"
    p.write_text(json.dumps(bad))
    r = run("audit", p, "--replay-gd")
    assert r.exit_code == 1, r.output
    rep = A.audit(p, replay_gd=True)
    assert rep.outcome is A.Outcome.MISMATCH
    assert prop in {m.prop for m in rep.mismatches}, rep.mismatches


@pytest.mark.parametrize("text", [
    "", "{", '{"schema": "qrcheck.certificate/1", "parameters": {"n": 3', "this is not json", "[]", "null", "42",
    '{"schema": "qrcheck.certificate/2"}', '{"schema": "qrcheck.certificate/1", "x": NaN}', "[" * 50000,
])
def test_unreadable_or_not_a_certificate_exits_2(tmp_path, text):
    p = tmp_path / "c.json"
    p.write_text(text)
    r = run("audit", p)
    assert r.exit_code == 2, r.output
    assert r.output.count("\n") <= 2  # one line


def test_truncated_certificate_and_missing_file_exit_2(small, tmp_path):
    text = small[0].read_text()
    for cut in (len(text) // 3, len(text) - 3):
        p = tmp_path / "t.json"
        p.write_text(text[:cut])
        assert run("audit", p).exit_code == 2
    assert run("audit", tmp_path / "nope.json").exit_code == 2
    assert run("audit", tmp_path).exit_code == 2  # a folder


def test_a_changed_random_stream_is_not_tampering(small, tmp_path, monkeypatch):
    path, cert, o = small
    npz = tmp_path / "arrays.npz"
    write_npz_atomic(npz, o.draw.arrays())
    real = A.streams
    monkeypatch.setattr(A, "streams", lambda seed: real(seed + 12345))  # numpy samples differently here
    monkeypatch.setattr(A, "random_stream_fingerprint", lambda: "0" * 64)
    rep = A.audit(path)
    assert rep.outcome is A.Outcome.INCOMPLETE and rep.mismatches == ()
    assert any("random stream changed" in u and "--arrays" in u for u in rep.unverified)
    r = run("audit", path)
    assert r.exit_code == 3 and "random stream changed" in r.output
    rep = A.audit(path, arrays=npz, replay_gd=True)  # the remedy
    assert rep.outcome is A.Outcome.CLEAN and rep.gd_replayed
    # a certificate that is not self-consistent is still caught without arrays
    bad = copy.deepcopy(cert)
    bad["properties"]["23"]["status"] = "violated"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    assert A.audit(p).outcome is A.Outcome.MISMATCH


def test_arrays_from_files_need_the_embedded_npz(tmp_path, foreign_arrays):
    _, paths = foreign_arrays(7, 12, 50, 8)
    args = [a for k, p in paths.items() for a in (f"--{k}", p)]
    out = tmp_path / "f.json"
    r = run("verify", *args, "--max-steps", "300", "--embed-arrays", "--out", out)
    assert r.exit_code in (0, 1), r.output
    cert = json.loads(out.read_text())
    assert cert["arrays"]["file"] == "f.arrays.npz" and cert["inputs"]["X"]["source"] == "file"
    rep = A.audit(out, replay_gd=True)
    assert rep.outcome is A.Outcome.CLEAN and rep.arrays_from == "embedded f.arrays.npz"
    moved = tmp_path / "elsewhere.npz"
    (tmp_path / "f.arrays.npz").rename(moved)
    r = run("audit", out)
    assert r.exit_code == 3 and "came from files" in r.output and "--arrays" in r.output
    assert run("audit", out, "--arrays", moved).exit_code == 0
    other = dict(np.load(moved))
    other["W0"] = other["W0"] * 1.0001
    write_npz_atomic(tmp_path / "f.arrays.npz", other)  # not the certified arrays
    rep = A.audit(out)
    assert rep.outcome is A.Outcome.MISMATCH and any("arrays.sha256" in m.field for m in rep.mismatches)
    assert run("audit", out, "--arrays", tmp_path / "X.npy").exit_code == 2  # not an .npz of arrays


def test_huge_sizes_are_refused_before_allocating(small, tmp_path):
    bad = copy.deepcopy(small[1])
    big = 10**7
    bad["parameters"].update(n=big, S=big, m=big)
    bad["inputs"]["X"]["shape"], bad["inputs"]["W0"]["shape"] = [big, big], [big, big]
    bad["inputs"]["z0"]["shape"], bad["inputs"]["y"]["shape"] = [big], [big]
    p = tmp_path / "big.json"
    p.write_text(json.dumps(bad))
    rep = A.audit(p, replay_gd=True)
    assert any("GiB" in u for u in rep.unverified)
    assert rep.outcome is A.Outcome.MISMATCH  # the regime and shapes no longer match the rest
    assert run("audit", p).exit_code == 1


def test_audit_never_imports_what_a_certificate_names(small, tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "qrcheck_evil.py").write_text(f"open({str(marker)!r}, 'w').close()\nCHECKER = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    bad = copy.deepcopy(small[1])
    bad["parameters"]["profile"] = "qrcheck_evil"
    bad["provenance"]["profile"]["name"] = "qrcheck_evil"
    bad["provenance"]["profile"]["source"] = str(tmp_path / "qrcheck_evil.py")
    bad["properties"]["qrcheck_evil"] = {"status": "certified", "statistic": 1.0, "threshold": 2.0,
                                         "method": "qrcheck_evil:CHECKER", "witness": {"module": "qrcheck_evil"}}
    p = tmp_path / "evil.json"
    p.write_text(json.dumps(bad))
    rep = A.audit(p)
    assert not marker.exists() and "qrcheck_evil" not in sys.modules
    assert rep.outcome is A.Outcome.INCOMPLETE  # the custom profile's content is audited; the plugin claim cannot be
    assert any("no checker" in u for u in rep.unverified)


@pytest.mark.parametrize("kw", [dict(eta_w=2e-4), dict(max_steps=50), dict(eta_w=0.5), dict(no_gd=True)],
                         ids=["long-strided-trajectory", "max_steps", "diverged", "no-gd"])
def test_every_gd_outcome_audits_clean(tmp_path, kw):
    path, o = make_cert(tmp_path, n=30, S=40, m=10, **kw)
    assert run("audit", path, "--replay-gd").exit_code == 0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 12), S=st.integers(2, 40), m=st.integers(1, 12), seed=st.integers(0, 2**32),
       labels=st.sampled_from(["gaussian", "low", "high", "local"]), z_dist=st.sampled_from(["rademacher", "gaussian"]))
def test_round_trip_verify_then_audit_is_clean(tmp_path, n, S, m, seed, labels, z_dist):
    path, _ = make_cert(tmp_path, n=n, S=S, m=m, seed=seed, labels=labels, z_dist=z_dist, max_steps=300)
    r = run("audit", path, "--replay-gd")
    assert r.exit_code == 0, r.output


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["NaN", "Infinity", "[/]", "[bold]", 10**400, -0.0, 1e308, "../../etc"]),
    lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=6), ch, max_size=4), max_leaves=12)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, prefix + (i,))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path, _ = make_cert(tmp_path_factory.mktemp("tiny"), n=8, S=12, m=5, max_steps=200)
    cert = json.loads(path.read_text())
    return cert, [p for p in _paths(cert) if p]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_certificates_never_crash_the_audit(tiny, tmp_path, data):
    cert, paths = tiny
    bad = copy.deepcopy(cert)
    path = data.draw(st.sampled_from(paths))
    op = data.draw(st.sampled_from(["replace", "delete", "add", "nest"]))
    parent = bad
    for k in path[:-1]:
        parent = parent[k]
    last = path[-1]
    if op == "replace":
        parent[last] = data.draw(JUNK)
    elif op == "delete":
        parent.pop(last) if isinstance(parent, dict) else parent.pop(last)
    elif op == "add" and isinstance(parent[last], dict):
        parent[last][data.draw(st.text(max_size=8))] = data.draw(JUNK)
    else:
        deep = data.draw(JUNK)
        for _ in range(data.draw(st.integers(1, 300))):
            deep = [deep]
        parent[last] = deep
    p = tmp_path / "h.json"
    p.write_text(json.dumps(bad))
    r = run("audit", p, "--replay-gd")
    assert r.exit_code in (0, 1, 2, 3), r.output
    for fmt in ("table", "markdown"):
        assert run("show", p, "--format", fmt).exit_code in (0, 2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1), noise=st.binary(max_size=40))
def test_truncated_and_garbled_files_exit_2(tiny, tmp_path, cut, noise):
    text = dumps(tiny[0]).encode()
    p = tmp_path / "g.json"
    p.write_bytes(text[: int(cut * (len(text) - 2))] + noise)
    r = run("audit", p)
    assert r.exit_code == 2, r.output


def test_example_certificates_audit_clean():
    """The committed examples (certificates/*.json); regenerate them with certificates/regenerate.py."""
    found = {p.stem: p for p in (ROOT / "certificates").glob("*.json")}
    assert {"design-card", "small"} <= set(found)
    for name, p in sorted(found.items()):
        r = run("audit", p, *(["--replay-gd"] if name == "small" else []))
        assert r.exit_code == 0, (name, r.output)
    dc = json.loads(found["design-card"].read_text())["parameters"]
    assert (dc["n"], dc["S"], dc["m"], dc["seed"], dc["profile"]) == (100, 500, 300, 0, "paper")


def test_show_renders_table_and_markdown(small, tmp_path):
    path, cert, _ = small
    r = run("show", path)
    assert r.exit_code == 0
    for word in ("regularity", "gradient descent", "provenance", cert["inputs"]["X"]["sha256"][:12]):
        assert word in r.output
    r = run("show", path, "--format", "markdown")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    rows = [ln for ln in lines if ln.startswith("| (")]
    assert [ln.split("|")[1].strip().rstrip("*") for ln in rows] == [f"({k})" for k in range(19, 31)]
    assert f"**Verdict:** {cert['verdict']}" in r.output
    assert run("show", path, "--format", "html").exit_code == 2


def test_show_is_safe_on_hostile_strings_and_refuses_non_certificates(small, tmp_path):
    bad = copy.deepcopy(small[1])
    bad["verdict"] = "[bold]pass[/"
    bad["properties"]["19"]["name"] = "[/] | x"
    bad["properties"]["20"]["empirical_constant"] = "NaN"
    bad["properties"]["21"]["statistic"] = 10**400
    p = tmp_path / "h.json"
    p.write_text(json.dumps(bad))
    assert run("show", p).exit_code == 0
    r = run("show", p, "--format", "markdown")
    assert r.exit_code == 0 and "\\| x" in r.output
    p.write_text("{")
    assert run("show", p).exit_code == 2
    del bad["gd"]
    p.write_text(json.dumps(bad))
    assert run("show", p).exit_code == 2


def test_labels_computed_with_blas_that_do_not_reproduce_are_not_tampering(tmp_path, monkeypatch):
    """y = f0 - e0 (labels low/high/local) depends on the BLAS's rounding: when only y's digest fails,
    the properties are still audited and the outcome says what could not be reproduced."""
    path, _ = make_cert(tmp_path, n=30, S=40, m=10, labels="high", max_steps=2000)
    assert A.audit(path, replay_gd=True).outcome is A.Outcome.CLEAN
    real = A.labels_from
    monkeypatch.setattr(A, "labels_from", lambda *a: real(*a) * (1 + 1e-15) + 1e-12)  # other last bits
    rep = A.audit(path, replay_gd=True)
    assert rep.outcome is A.Outcome.INCOMPLETE and rep.mismatches == () and not rep.gd_replayed
    assert any("computed with BLAS" in u for u in rep.unverified)
    assert rep.checks > 150  # every property was still re-derived


def test_console_entry_point_prints_one_line_and_no_traceback(small, tmp_path):
    import subprocess

    p = tmp_path / "t.json"
    p.write_text(small[0].read_text()[:500])
    r = subprocess.run([sys.executable, "-m", "qrcheck", "audit", str(p)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
    assert r.stderr.strip().startswith("error: not valid JSON") and len(r.stderr.strip().splitlines()) == 1
