"""The independent audit kernel (issue 11): honest certificates audit clean, every exploit of the
tamper catalogue is caught with the mismatch named (exit 1, or 2 for a file that is not a
certificate), broken verify-side logic (mutation tests) is flagged, the kernel imports nothing of the
verify side, and no hostile input crashes it or reaches the terminal raw."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import qrcheck
from qrcheck.audit import arrays as audit_arrays
from qrcheck.audit.kernel import Outcome, audit
from qrcheck.audit.ledger import MISSING, Ledger, agree, join
from qrcheck.audit.text import safe, show
from qrcheck.certificate.io import write_npz_atomic

ROOT = Path(__file__).resolve().parents[1]


# ---- fixtures ---------------------------------------------------------------------------------
def _verify(**kw):
    return qrcheck.verify(**kw)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """n=30, S=40, m=10 (seed 0): every required property holds and GD converges."""
    d = tmp_path_factory.mktemp("good")
    c = _verify(n=30, S=40, m=10, seed=0, max_steps=5000)
    path = d / "good.json"
    c.write(path, embed_arrays=True)
    cert = json.loads(path.read_text())
    assert cert["gd"]["ran"] and cert["gd"]["status"] == "converged"
    return path, cert


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """n=20, S=40, m=10 (seed 1): (22) is violated, so GD does not run and the verdict fails."""
    d = tmp_path_factory.mktemp("bad")
    c = _verify(n=20, S=40, m=10, seed=1)
    path = d / "bad.json"
    c.write(path)
    cert = json.loads(path.read_text())
    assert cert["properties"]["22"]["status"] == "violated" and not cert["gd"]["ran"]
    return path, cert


def write(tmp_path: Path, cert: dict, name: str = "t.json") -> Path:
    """Write ``cert`` canonically; its embedded arrays go with it only when the .npz is beside it."""
    p = tmp_path / name
    emb = cert.get("arrays")
    if isinstance(emb, dict) and not (tmp_path / str(emb.get("file"))).is_file():
        cert = {k: v for k, v in cert.items() if k != "arrays"}
    p.write_text(json.dumps(cert, sort_keys=True, indent=1), encoding="ascii")  # \uXXXX: lone surrogates too
    return p


def paths(report) -> set[str]:
    return {m.path for m in report.mismatches}


def caught(report, prefix: str, base=None) -> bool:
    """Exit 1 with a mismatch whose path starts with ``prefix`` (and, given ``base``, one the
    untampered audit did not have)."""
    hit = {p for p in paths(report) if p.startswith(prefix)}
    if base is not None:
        hit -= paths(base)
    return report.exit_code == 1 and bool(hit)


@pytest.fixture(scope="module")
def base_good(good):
    return audit(good[0])


@pytest.fixture(scope="module")
def base_bad(bad):
    return audit(bad[0])


# ---- honest certificates ----------------------------------------------------------------------
def test_honest_certificates_audit_clean(good, bad, base_good, base_bad):
    assert base_good.exit_code == 0, [str(m) for m in base_good.mismatches]
    assert base_bad.exit_code == 0, [str(m) for m in base_bad.mismatches]
    rep = audit(good[0], replay_gd=True)
    assert rep.exit_code == 0 and rep.gd_replayed, [str(m) for m in rep.mismatches]
    assert rep.schema == "qrcheck.certificate/2" and any("read a qrcheck.certificate/2" in n for n in rep.notes)


@pytest.mark.parametrize("name,replay", [("small.json", True), ("design-card.json", False)])
def test_example_certificates_audit_clean(name, replay):
    rep = audit(ROOT / "certificates" / name, replay_gd=replay)
    assert rep.exit_code == 0, [str(m) for m in rep.mismatches]


def test_every_key_is_vouched_or_documented(good, base_good):
    """Coverage: an honest certificate audited with --replay-gd leaves no key neither re-derived nor
    documented; without the replay, the GD numbers it would re-derive are listed as not checked."""
    rep = audit(good[0], replay_gd=True)
    assert rep.unvouched == (), rep.unvouched
    assert "gd.D" in base_good.unvouched
    reasons = dict(rep.not_vouched)
    assert "created" in reasons and "gd.wall_seconds" in reasons


def test_in_memory_certificate_and_arrays(good):
    """A parsed dict (or a Certificate) is audited like its file; arrays can be given in memory."""
    path, cert = good
    assert audit(cert).exit_code in (0, 3)
    arr = dict(np.load(path.with_name("good.arrays.npz")))
    assert audit(cert, arrays=arr).exit_code == 0


def test_audit_imports_nothing_of_the_verify_side(good):
    code = ("import sys, qrcheck; r = qrcheck.audit(sys.argv[1]); "
            "import qrcheck.audit.kernel as k; r2 = k.audit(sys.argv[1], replay_gd=True); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('qrcheck'))))")
    out = subprocess.run([sys.executable, "-c", code, str(good[0])], capture_output=True, text=True, check=True)
    loaded = out.stdout.split()
    # the certificate I/O layer, and qrcheck.system (stdlib: the memory available) which both sides use
    allowed = {"qrcheck", "qrcheck.certificate", "qrcheck.certificate.io", "qrcheck.system"}
    bad = [m for m in loaded if m not in allowed and not m.startswith("qrcheck.audit")]
    assert not bad, bad
    assert "qrcheck.audit.kernel" in loaded


# ---- the tamper catalogue (issue 11) ---------------------------------------------------------------
def test_profile_spoofing_is_the_builtin(tmp_path, bad, base_bad):
    """A profile named like a built-in is the built-in, whatever ``source`` says."""
    t = copy.deepcopy(bad[1])
    t["provenance"]["profile"]["source"] = "custom.toml"
    t["provenance"]["profile"]["threshold"]["22"]["C"] = 0.1
    t["properties"]["22"]["threshold"] *= 0.1 / (2 ** -0.5)
    t["properties"]["22"]["status"] = "certified"
    r = audit(write(tmp_path, t))
    assert caught(r, "provenance.profile.threshold", base_bad)
    assert caught(r, "properties.22.threshold", base_bad) and caught(r, "properties.22.status", base_bad)


@pytest.mark.parametrize("key", ["require", "force", "no_gd"])
def test_deleting_gating_parameters_takes_the_defaults(tmp_path, bad, base_bad, key):
    """Deleting parameters.require/force/no_gd never skips the gating checks."""
    t = copy.deepcopy(bad[1])
    t["parameters"].pop(key)
    t["required"] = []
    t["parameters"]["no_gd"] = True
    if key == "no_gd":
        t["parameters"].pop("no_gd")
    t["verdict"] = "pass: every required property holds; gradient descent not run"
    r = audit(write(tmp_path, t))
    assert r.exit_code == 1
    assert caught(r, "required", base_bad) or caught(r, "verdict", base_bad)


def test_seed_swap_with_embedded_arrays(tmp_path, good):
    """Arrays marked sampled must equal what the seed regenerates, even with an .npz."""
    t = copy.deepcopy(good[1])
    other = audit_arrays.regenerate(6, 30, 40, 10, "rademacher", "gaussian")
    npz = tmp_path / "t.arrays.npz"
    t["arrays"] = {"file": npz.name, "sha256": write_npz_atomic(npz, other)}
    for k, a in other.items():
        t["inputs"][k]["sha256"] = audit_arrays.digest(a)
    r = audit(write(tmp_path, t))
    assert caught(r, "inputs.X.sha256") and caught(r, "inputs.W0.sha256")


def test_seed_swap_with_consistent_digests(tmp_path, good):
    t = copy.deepcopy(good[1])
    t["parameters"]["seed"] = 6
    assert caught(audit(write(tmp_path, t)), "inputs.")


def _gd_tamper(t, path, value):
    node = t
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value(node[int(last)])
    else:
        node[last] = value(node[last])


UNCHECKED_CLAIMS = [
    ("regime.bounds.32.holds", lambda v: not v if isinstance(v, bool) else False),
    ("regime.bounds.32.observed", lambda v: (v or 1.0) * 1.5),
    ("regime.rates_within_15", lambda v: not v),
    ("regime.applicable_cases", lambda v: ["18"]),
    ("gd.changes.max_neuron_degree", lambda v: v + 1),
    ("gd.changes.max_data_degree", lambda v: v + 1),
    ("gd.changes.J", lambda v: (v or []) + [0] if isinstance(v, list) else 999),
    ("gd.changes.s_low", lambda v: (v or 0) + 1),
    ("gd.changes.norm_60", lambda v: (v or 1.0) * 1.5),
    ("gd.singular_points", lambda v: (v or 0) + 1 if not isinstance(v, list) else v + [{"t": 1}]),
    ("gd.error_trajectory.3", lambda v: v * 0.999),
    ("gd.error_trajectory.3", lambda v: "x"),
    ("verdict", lambda v: v.split(" (outside")[0]),
    ("properties.20.details.per_k.0.vacuous", lambda v: not v),
    ("properties.20.details.per_k.0.exact", lambda v: not v),
    ("properties.21.details.n_star_interval.lower", lambda v: (v or 0) + 1),
    ("properties.21.details.n_star_interval.fail_at", lambda v: (v or 0) + 1),
    ("properties.30.details.S_star_interval.proof_at", lambda v: (v or 0) + 5),
    ("properties.30.details.S_star_interval.fail_value", lambda v: (v or 0.0) + 1.0),
    ("properties.30.details.S_star_interval.upper", lambda v: (v or 0) + 1),
]


@pytest.mark.parametrize("where,change", UNCHECKED_CLAIMS, ids=[f"{w}-{i}" for i, (w, _) in enumerate(UNCHECKED_CLAIMS)])
def test_formerly_unchecked_claims_are_checked(tmp_path, good, base_good, where, change):
    t = copy.deepcopy(good[1])
    _gd_tamper(t, where, change)
    r = audit(write(tmp_path, t), replay_gd=where.startswith("gd."))
    prefix = where.split(".")[0] if where.startswith("verdict") else ".".join(
        w if not w.isdigit() or i < 2 else f"[{w}]" for i, w in enumerate(where.split("."))).replace(".[", "[")
    prefix = prefix.rsplit("[", 1)[0] if where.startswith("gd.error_trajectory") else prefix
    assert r.exit_code == 1, (where, [str(m) for m in r.mismatches])
    assert any(p.startswith(prefix.split("[")[0]) for p in paths(r) - paths(base_good)), (prefix, paths(r))


def test_f32_trajectory_zeroed(tmp_path, good, base_good):
    t = copy.deepcopy(good[1])
    f32 = t["gd"]["error_trajectory_f32"]
    raw = base64.b64decode(f32["data"])
    f32["data"] = base64.b64encode(bytes(len(raw))).decode()
    assert caught(audit(write(tmp_path, t)), "gd.error_trajectory_f32", base_good)


def test_labels_change_is_a_mismatch_not_exit_3(tmp_path, good):
    """Changing parameters.labels alone: y differs entirely with the same stream and BLAS: exit 1."""
    t = copy.deepcopy(good[1])
    t["parameters"]["labels"] = "low"
    t.pop("arrays", None)
    r = audit(write(tmp_path, t))
    assert caught(r, "inputs.y.sha256")


def test_source_file_over_fabricated_statistics(tmp_path, good):
    """``source: file`` on an array the seed regenerates does not shield fabricated statistics."""
    t = copy.deepcopy(good[1])
    t.pop("arrays", None)
    t["inputs"]["X"]["source"] = "file"
    t["properties"]["26"]["statistic"] *= 0.5
    r = audit(write(tmp_path, t))
    assert caught(r, "properties.26")


def test_unknown_extra_property_is_not_vouched_and_does_not_shield(tmp_path, good):
    t = copy.deepcopy(good[1])
    t["properties"]["99"] = {"status": "certified", "statistic": 1.0, "threshold": 2.0, "method": "plugin"}
    t["properties"]["26"]["statistic"] *= 0.5
    r = audit(write(tmp_path, t))
    assert caught(r, "properties.26.statistic")
    assert any("properties.99" in u for u in r.unvouched) or any("99" in n for n in r.notes)


def test_fabricated_gd_numbers_are_replayed(tmp_path, good, base_good):
    t = copy.deepcopy(good[1])
    t["gd"]["final_error"] *= 0.5
    t["gd"]["W_distance"] *= 1.1
    r = audit(write(tmp_path, t), replay_gd=True)
    assert caught(r, "gd.", base_good)


@pytest.mark.parametrize("field", ["statistic", "threshold", "status", "lower", "upper"])
@pytest.mark.parametrize("eq", ["22", "26", "29", "30"])
def test_single_field_tampers(tmp_path, good, base_good, eq, field):
    t = copy.deepcopy(good[1])
    c = t["properties"][eq]
    if field == "status":
        c["status"] = "passed" if c["status"] != "passed" else "violated"
    elif c.get(field) is None:
        pytest.skip(f"({eq}) has no {field}")
    else:
        # a bound made tighter than the audit can prove (a weaker one is still a true bound)
        c[field] = c[field] * 0.99 if field == "upper" else c[field] * 1.01 + 1e-9
    assert caught(audit(write(tmp_path, t)), f"properties.{eq}", base_good)


def test_witness_moved(tmp_path, good, base_good):
    t = copy.deepcopy(good[1])
    w = t["properties"]["26"]["witness"]
    w["nu"] = (w["nu"] + 1) % 40
    assert caught(audit(write(tmp_path, t)), "properties.26.witness", base_good)


def test_missing_required_key_is_a_mismatch(tmp_path, good, base_good):
    t = copy.deepcopy(good[1])
    del t["properties"]["24"]["details"]["zeta0"]
    r = audit(write(tmp_path, t))
    assert r.exit_code == 1 and ({p for p in paths(r) if "24" in p} - paths(base_good))


# ---- files that are not certificates (exit 2) --------------------------------------------------
def test_duplicate_keys_are_exit_2(tmp_path, good):
    text = good[0].read_text()
    dup = text.replace('"verdict":', '"verdict": "pass: x",\n "verdict":', 1)
    p = tmp_path / "dup.json"
    p.write_text(dup)
    r = audit(p)
    assert r.exit_code == 2 and "duplicate" in r.error and "\n" not in r.error


def test_work_bound_is_exit_2_before_allocating(tmp_path, good):
    t = copy.deepcopy(good[1])
    t["parameters"].update(n=10**6, S=10**6, m=10**6)
    r = audit(write(tmp_path, t))
    assert r.exit_code in (1, 2)
    if r.exit_code == 2:
        assert "GiB" in r.error and "\n" not in r.error


def test_work_bound_message(monkeypatch, tmp_path, good):
    monkeypatch.setattr(audit_arrays, "available_bytes", lambda: 1000)
    r = audit(good[0])
    assert r.exit_code == 2 and "needs about" in r.error and "\n" not in r.error


# ---- hostile strings -------------------------------------------------------------------------------
EVIL = "\x1b]0;pwned\x07\x1b[31mred\u202eevil\u2066x\x9b"


def test_control_characters_and_bidi_are_escaped(tmp_path, good):
    t = copy.deepcopy(good[1])
    t["verdict"] = EVIL
    t["provenance"]["platform"] = EVIL
    t["properties"]["26"]["witness"]["nu"] = EVIL
    r = audit(write(tmp_path, t))
    assert r.exit_code == 1
    for text in [str(m) for m in r.mismatches] + list(r.notes) + list(r.unvouched):
        assert not any(ch in text for ch in "\x1b\x07\u202e\u2066\x9b"), repr(text)
    from qrcheck.cli import app

    out = CliRunner().invoke(app, ["audit", str(write(tmp_path, t))])
    assert out.exit_code == 1 and "\x1b]" not in out.output and "\u202e" not in out.output


def test_lone_surrogates_never_crash(tmp_path, good):
    text = good[0].read_text()
    text = text.replace('"verdict": "', '"verdict": "\\ud800', 1)
    text = text.replace('"platform": "', '"platform": "\\udfff', 1)
    p = tmp_path / "sur.json"
    p.write_text(text, encoding="utf-8")
    r = audit(p)
    assert r.exit_code == 1 and any(m.path == "verdict" for m in r.mismatches)
    assert all("\\ud800" in m.claimed or "ud800" not in m.claimed for m in r.mismatches)
    out = CliRunner().invoke(qrcheck_cli(), ["audit", str(p)])
    assert out.exit_code == 1 and "Traceback" not in out.output


def qrcheck_cli():
    from qrcheck.cli import app

    return app


def test_safe_and_show():
    assert safe("a\x1bb\u202ec\ud800") == "a\\x1bb\\u202ec\\ud800"
    assert show("x" * 100, 10) == '"xxxxxx...'
    assert show(None) == "null" and show(True) == "true" and show(1.5) == "1.5"


# ---- exit 3 only when re-derivation is truly impossible --------------------------------------------
def test_forged_stream_fingerprint_does_not_downgrade_to_exit_3(tmp_path, good):
    """A seed swap with a forged random_stream: the same numpy has one stream, so exit 1."""
    t = copy.deepcopy(good[1])
    t["parameters"]["seed"] = 6
    t["provenance"]["random_stream"] = "0" * 64
    r = audit(write(tmp_path, t))
    assert caught(r, "provenance.random_stream") and caught(r, "inputs.X.sha256")


def test_changed_random_stream_is_exit_3(tmp_path, good, monkeypatch):
    t = copy.deepcopy(good[1])
    t.pop("arrays", None)
    t["provenance"]["numpy"] = "0.0.0"  # written by another numpy
    monkeypatch.setattr(audit_arrays, "fingerprint", lambda: "0" * 64)
    real = audit_arrays._streams
    monkeypatch.setattr(audit_arrays, "_streams", lambda seed: real(seed + 1))
    r = audit(write(tmp_path, t))
    assert r.exit_code == 3 and any("random stream" in c.why for c in r.cannot)


def test_changed_random_stream_with_the_npz_audits_the_rest(good, monkeypatch):
    """With the .npz, a changed stream only leaves "the seed gives these arrays" unconfirmed: the
    properties are audited on the .npz arrays (a fabricated statistic is still exit 1)."""
    monkeypatch.setattr(audit_arrays, "fingerprint", lambda: "0" * 64)
    real = audit_arrays._streams
    monkeypatch.setattr(audit_arrays, "_streams", lambda seed: real(seed + 1))
    t = copy.deepcopy(good[1])
    t["provenance"]["numpy"] = "0.0.0"
    r = audit(write(good[0].parent, t, name="other_numpy.json"))
    assert r.exit_code == 3 and r.statuses and any("cannot be confirmed" in c.why for c in r.cannot)


def test_file_arrays_without_npz_are_exit_3(tmp_path, good):
    t = copy.deepcopy(good[1])
    t.pop("arrays", None)
    t["inputs"]["W0"]["source"] = "file"
    t["inputs"]["W0"]["sha256"] = "0" * 64
    r = audit(write(tmp_path, t))
    assert r.exit_code == 3 and any("--embed-arrays" in c.fix for c in r.cannot)


def test_replay_step_limit_is_named(good):
    r = audit(good[0], replay_gd=True, max_replay_steps=10)
    text = " ".join([str(m) for m in r.mismatches] + [str(c) for c in r.cannot] + list(r.notes))
    assert "10" in text and r.exit_code in (1, 3)


# ---- older certificates ----------------------------------------------------------------------------
def test_real_schema_1_certificate_audits_clean_with_a_version_notice():
    """certificates/small.json as qrcheck wrote it under schema /1 (commit bf2b326): read, reported
    as /1, audited with the version-1 formulas (a notice, not a tamper verdict), clean."""
    r = audit(ROOT / "tests" / "data" / "schema1_small.json", replay_gd=True)
    assert r.exit_code == 0, [str(m) for m in r.mismatches]
    assert r.schema == "qrcheck.certificate/1" and any("formulas of version 1" in n for n in r.notes)


def test_schema_1_certificate_is_read_and_reported(tmp_path, good):
    t = copy.deepcopy(good[1])
    t["schema"] = "qrcheck.certificate/1"
    r = audit(write(tmp_path, t))
    assert r.schema == "qrcheck.certificate/1"
    assert any("qrcheck.certificate/1" in n for n in r.notes)
    assert any("version 1" in n for n in r.notes)  # the formulas notice, not a tamper verdict only


# ---- plugins -----------------------------------------------------------------------------------
def test_plugin_entry_point_recomputes_a_third_party_property(tmp_path, good, monkeypatch):
    import importlib.metadata as md

    calls = []

    def auditor(record, arrays, ledger, path):
        calls.append(path)
        ledger.check(join(path, "statistic"), record["statistic"], float(np.max(np.abs(arrays["z0"]))))
        ledger.vouch(path)

    class EP:
        name = "99"

        def load(self):
            return auditor

    real = md.entry_points
    monkeypatch.setattr(md, "entry_points", lambda **kw: [EP()] if kw.get("group") == "qrcheck.audit" else real(**kw))
    t = copy.deepcopy(good[1])
    t["properties"]["99"] = {"status": "certified", "statistic": 1.0, "threshold": 2.0, "method": "plugin"}
    r = audit(write(tmp_path, t))
    assert calls == ["properties.99"] and r.exit_code == 0, [str(m) for m in r.mismatches]
    t["properties"]["99"]["statistic"] = 3.0
    assert caught(audit(write(tmp_path, t)), "properties.99.statistic")


# ---- the ledger ---------------------------------------------------------------------------------------
def test_ledger_rules():
    assert agree(1, 1) and not agree(1, 2) and agree(1.0, 1.0 + 1e-12) and not agree(1.0, 1.1)
    assert not agree(True, 1) and not agree("1", 1) and not agree(MISSING, None) and agree(None, float("nan"))
    assert agree({"a": [1, 2.0], "b": 3}, {"a": [1, 2.0]}) and not agree({"a": [1]}, {"a": [1, 2]})
    led = Ledger({"a": {"b": [1, 2], "c.d": 3, "e": {}}, "created": "now"})
    assert led.check_at("a.b", [1, 2]) and led.claim(join("a", "c.d")) == 3
    assert led.unvouched() == ['a["c.d"]'] and dict(led.not_vouched())["created"]
    led.cannot("x", "why", "fix")
    assert led.exit_code == 3
    led.fail("a.b", 1, 2, "because")
    assert led.exit_code == 1 and led.mismatches[0].why == "because"
    with led.guard("z"):
        raise ValueError("boom\x1b")
    assert "\x1b" not in str(led.mismatches[-1])
    # a subtree none of whose claims was re-derived is reported once; documented keys stay documented
    led2 = Ledger({"properties": {"19": {"statistic": 1, "reason": "r", "details": {}}, "20": {"status": "x"}},
                   "q": 1})
    led2.vouch("properties.20.status")
    assert led2.unvouched() == ["properties.19", "q"]
    assert led2.not_vouched() == [("properties.19.reason", "free text")]


# ---- mutation tests: break verify-side logic, audit must flag the certificate -------------------
def _mutated_certificate(tmp_path, **kw):
    c = qrcheck.verify(n=30, S=40, m=10, seed=0, max_steps=5000, **kw)
    p = tmp_path / "mut.json"
    c.write(p)
    return p


def test_mutation_status_rule(tmp_path, monkeypatch):
    """A status rule that never certifies: audit reports the wrong statuses."""
    import qrcheck.properties as props
    from qrcheck.results import Status

    real = props.decide

    def broken(*a, **k):
        s = real(*a, **k)
        return Status.PASSED if s is Status.CERTIFIED else s

    monkeypatch.setattr(props, "decide", broken)
    r = audit(_mutated_certificate(tmp_path))
    assert r.exit_code == 1 and any(p.endswith(".status") for p in paths(r))


def test_mutation_sense_holds(tmp_path, monkeypatch):
    """The issue's example: the status rule for <= broken (value <= 10 x threshold), so verify
    certifies (26) at a statistic above its threshold; audit reports the wrong status."""
    import qrcheck.properties as props
    from qrcheck.results import Sense

    real = props.decide

    def broken(sense, threshold, **kw):
        return real(sense, 10 * threshold if sense is Sense.LE else threshold, **kw)

    monkeypatch.setattr(props, "decide", broken)
    p = _mutated_certificate(tmp_path, profile=_weak_26_profile(tmp_path))
    cert = json.loads(p.read_text())
    assert cert["properties"]["26"]["status"] == "certified"
    assert cert["properties"]["26"]["statistic"] > cert["properties"]["26"]["threshold"]
    r = audit(p)
    assert r.exit_code == 1 and "properties.26.status" in paths(r)


def _weak_26_profile(tmp_path):
    """A custom profile (built from paper's constants) whose (26) threshold is 0.3x the statistic."""
    import tomllib  # noqa: F401 - python >= 3.11

    from qrcheck.profiles import BUILTIN

    d = BUILTIN["paper"].to_dict()
    lines = ['name = "weak26"', 'description = "test"']
    for k, v in d.items():
        if k in ("name", "description", "source", "delta_split"):
            continue
        if isinstance(v, dict) and k == "threshold":
            for eq, r in v.items():
                if isinstance(r, dict) and "C" in r:
                    C = 0.05 if eq == "26" else r["C"]
                    lines.append(f'threshold.{eq} = {{ C = {C}, p = {r["p"]} }}')
        elif isinstance(v, dict) and "C" in v:
            lines.append(f'{k} = {{ C = {v["C"]}, p = {v["p"]} }}')
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            lines.append(f"{k} = {v}")
    path = tmp_path / "weak26.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_mutation_threshold_scale(tmp_path, monkeypatch):
    from qrcheck.properties import p22

    monkeypatch.setattr(p22.RowsLarge, "g", lambda self, ctx: 0.5 * ctx.n ** 0.5)
    r = audit(_mutated_certificate(tmp_path))
    assert r.exit_code == 1 and "properties.22.threshold" in paths(r)


def test_mutation_witness(tmp_path, monkeypatch):
    import dataclasses

    from qrcheck.properties import p26

    real = p26.DataOrthogonalToInit.check

    def broken(self, ctx):
        r = real(self, ctx)
        w = dict(r.witness)
        w["nu"] = (w["nu"] + 1) % ctx.S
        return dataclasses.replace(r, witness=w)

    monkeypatch.setattr(p26.DataOrthogonalToInit, "check", broken)
    r = audit(_mutated_certificate(tmp_path))
    assert r.exit_code == 1 and "properties.26.witness" in paths(r)


def test_mutation_regime_case_choice(tmp_path, monkeypatch):
    import qrcheck.regime as regime
    import qrcheck.verify as verify_mod

    monkeypatch.setattr(regime, "choose_case", lambda case, violated: "18")
    monkeypatch.setattr(verify_mod, "choose_case", lambda case, violated: "18", raising=False)
    r = audit(_mutated_certificate(tmp_path))
    assert r.exit_code == 1 and ("required" in paths(r) or any(p.startswith("gd.reason") for p in paths(r)))


def test_mutation_gd_update(tmp_path, monkeypatch):
    import dataclasses

    import qrcheck.verify as verify_mod

    real = verify_mod.run_gd

    def broken(X, W0, z0, y, cfg, *a, **k):
        return real(X, W0, z0, y, dataclasses.replace(cfg, eta_w=cfg.eta_w * 1.05), *a, **k)

    monkeypatch.setattr(verify_mod, "run_gd", broken)
    r = audit(_mutated_certificate(tmp_path), replay_gd=True)
    assert r.exit_code == 1 and any(p.startswith("gd.") for p in paths(r))


# ---- more claims: verdict counts, diagnostics; hostile junk anywhere ---------------------------------
def test_verdict_counts_are_checked(tmp_path, good, base_good):
    import re

    t = copy.deepcopy(good[1])
    hit = re.search(r"(\d+) certified", t["verdict"])
    if hit is None:
        pytest.skip("this verdict carries no counts")
    t["verdict"] = t["verdict"].replace(hit.group(0), f"{int(hit.group(1)) + 1} certified", 1)
    assert caught(audit(write(tmp_path, t)), "verdict", base_good)


@pytest.mark.parametrize("where", ["diagnostics.H0.lambda_max", "diagnostics.X.norm", "diagnostics.initial_error",
                                   "diagnostics.H0.predicted_steps"])
def test_diagnostics_are_checked(tmp_path, good, base_good, where):
    t = copy.deepcopy(good[1])
    if "diagnostics" not in t:
        pytest.skip("no diagnostics section")
    _gd_tamper(t, where, lambda v: v * 2 if isinstance(v, float) else v + 10)
    assert caught(audit(write(tmp_path, t)), where, base_good)


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list) and node and len(node) < 50:
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))
    yield path


JUNK = [None, "x", -1, [], {}, 1e308, True, "\ud800\x1b[2J", 10 ** 30, [[[]]], {"a": {"b": None}}]


def test_hostile_junk_anywhere_never_crashes(tmp_path, good):
    """Replace a (deterministically) random part of an honest certificate by junk: the audit always
    answers with an exit code and escaped text, never an exception."""
    rng = np.random.default_rng(2024)
    leaves = [p for p in _leaves(good[1]) if p and p[0] in ("parameters", "provenance", "inputs", "properties",
                                                               "regime", "required", "verdict", "diagnostics")]
    for i in range(14):
        t = copy.deepcopy(good[1])
        path = leaves[int(rng.integers(len(leaves)))]
        node = t
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = JUNK[i % len(JUNK)]
        r = audit(write(tmp_path, t, name=f"j{i}.json"))
        assert r.exit_code in (0, 1, 2, 3), path
        for m in r.mismatches:
            assert "\x1b" not in str(m) and "\ud800" not in str(m)


def test_unreadable_arrays_file_is_exit_2(tmp_path, good):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    for arg in (junk, tmp_path / "missing.npz"):
        r = audit(good[0], arrays=arg)
        assert r.exit_code == 2 and r.error.startswith("--arrays:") and "\n" not in r.error


def test_rank_deficient_21_is_rederived(tmp_path):
    """(21) on a rank-deficient X with the profile's n* > m: verify says violated (witness J = [m]);
    the audit agrees, and a certificate claiming `vacuous` there is caught."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((10, 30))
    X[-1] = 0.0  # every column in the hyperplane x_10 = 0
    X /= np.linalg.norm(X, axis=0)
    c = qrcheck.verify(X, n=10, S=20, seed=1, no_gd=True)
    r = c.properties["21"]
    assert r.status.value == "violated" and r.details["n_star"] > 30 and len(r.witness["J"]) == 30
    path = tmp_path / "rd.json"
    c.write(path, embed_arrays=True)
    assert audit(path).exit_code == 0
    t = json.loads(path.read_text())
    t["properties"]["21"].update(status="vacuous", statistic=None, lower=None, upper=None)
    t["properties"]["21"].pop("witness")
    t["verdict"] = t["verdict"].replace("fail", "pass", 1)
    assert caught(audit(write(tmp_path, t)), "properties.21")


def test_limit_kernel_values_are_audited_to_their_stated_accuracy():
    """Above m = 1000 lambda_min(H^w), lambda_min(H^z) are iterative diagnostics with a stated
    residual r: the audit accepts the value within r of its own eigvalsh, and a value moved by more
    than r, or a residual claimed huge (capped at 1e-2 relative), is a mismatch."""
    import scipy.linalg

    from qrcheck.kernels import H_w
    from qrcheck.verify import VerifyConfig, verify

    cert = verify(VerifyConfig(n=20, S=10, m=1100, seed=0, no_gd=True)).certificate.to_json()
    d = cert["properties"]["29"]["details"]
    exact = float(scipy.linalg.eigvalsh(H_w(qrcheck.draw.make_draw(n=20, S=10, m=1100, seed=0).X),
                                        subset_by_index=[0, 0])[0])
    r = d["lambda_min_Hw_residual"]
    assert r > 1e-9 and d["lambda_min_Hw"] - r <= exact <= d["lambda_min_Hw"] * (1 + 1e-12)
    assert audit(cert).exit_code == 0
    moved = copy.deepcopy(cert)                       # outside its stated accuracy
    moved["properties"]["29"]["details"]["lambda_min_Hw"] = exact + 3 * r
    inflated = copy.deepcopy(cert)                    # a huge claimed residual buys at most 1e-2 relative
    inflated["properties"]["29"]["details"]["lambda_min_Hw"] = exact * 1.05
    inflated["properties"]["29"]["details"]["lambda_min_Hw_residual"] = 1.0
    for bad in (moved, inflated):
        rep = audit(bad)
        assert rep.exit_code == 1
        assert "properties.29.details.lambda_min_Hw" in {m.path for m in rep.mismatches}
