"""The certificate: schema (both copies, Draft 2020-12), canonical serialisation, provenance, the embedded
arrays file and the safe reader."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from qrcheck import certificate as C
from qrcheck import __version__
from qrcheck.profiles import PAPER
from qrcheck.verify import VerifyConfig, verify

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_STATUSES = {"certified", "passed", "violated", "undecided", "vacuous", "not_applicable"}


@pytest.fixture(scope="module")
def outcome():
    return verify(VerifyConfig(n=30, S=40, m=10, max_steps=2000), command=["qrcheck", "verify", "test"])


def test_the_two_schema_copies_are_identical_and_a_valid_draft_2020_12_schema():
    shipped = ROOT / "qrcheck" / "schema" / C.SCHEMA_FILE
    readable = ROOT / "certificates" / "schema" / C.SCHEMA_FILE
    assert shipped.read_bytes() == readable.read_bytes(), "edit certificates/schema/ and copy it to qrcheck/schema/"
    s = json.loads(readable.read_text())
    Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert C.schema() == s


def test_schema_requires_every_contract_key():
    s = C.schema()
    assert set(s["required"]) >= {"schema", "parameters", "inputs", "properties", "gd", "verdict"}
    assert s["properties"]["schema"] == {"const": "qrcheck.certificate/2"}
    assert set(s["properties"]["parameters"]["required"]) == {"n", "S", "m", "seed", "eta_w", "eta_z", "profile",
                                                               "z_dist", "labels", "tol"}
    assert set(s["properties"]["inputs"]["required"]) == {"X", "W0", "z0", "y"}
    assert set(s["$defs"]["input"]["required"]) == {"sha256", "shape", "dtype", "source"}
    assert s["properties"]["properties"]["required"] == [str(k) for k in range(19, 31)]
    prop = s["$defs"]["property"]
    assert set(prop["required"]) == {"status", "statistic", "threshold", "method"}
    assert set(prop["properties"]["status"]["enum"]) == CONTRACT_STATUSES
    assert set(s["$defs"]["gd"]["required"]) == {"ran", "status", "T", "final_error", "kappa_H", "D", "W_distance",
                                                 "z_distance", "wall_seconds", "seconds_per_step"}


def test_verify_certificate_is_schema_valid_and_extra_keys_are_allowed(outcome):
    cert = json.loads(C.dumps(outcome.certificate))
    assert C.schema_issues(cert) == []
    cert["gd"]["a_new_tracking_field"] = [1, 2]
    cert["properties"]["20"]["details"]["search_detail"] = {"x": 1}
    cert["regime"]["extra"] = True
    cert["something_new"] = "ok"
    assert C.schema_issues(cert) == []


@pytest.mark.parametrize("path,value", [
    (("properties", "22", "status"), "fine"),
    (("properties", "19", "statistic"), "NaN"),
    (("parameters", "n"), 0),
    (("parameters", "n"), True),
    (("inputs", "X", "sha256"), "abc"),
    (("inputs", "y", "source"), "web"),
    (("gd", "status"), "converged?"),
    (("schema",), "qrcheck.certificate/9"),
])
def test_schema_rejects_broken_certificates(outcome, path, value):
    cert = json.loads(C.dumps(outcome.certificate))
    node = cert
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    issues = C.schema_issues(cert)
    assert issues and issues[0].path.startswith(".".join(path[:2]) if len(path) > 1 else path[0])


def test_schema_requires_all_twelve_properties_and_gd_consistency(outcome):
    cert = json.loads(C.dumps(outcome.certificate))
    del cert["properties"]["25"]
    assert any("25" in i.message for i in C.schema_issues(cert))
    cert = json.loads(C.dumps(outcome.certificate))
    cert["gd"]["ran"] = False  # a run that did not run cannot have converged
    assert C.schema_issues(cert)


def test_same_run_is_byte_identical_apart_from_created_and_timings(outcome):
    again = verify(VerifyConfig(n=30, S=40, m=10, max_steps=2000), command=["qrcheck", "verify", "test"])
    a, b = C.dumps(outcome.certificate), C.dumps(again.certificate)
    assert C.dumps(C.strip_volatile(json.loads(a))) == C.dumps(C.strip_volatile(json.loads(b)))
    la, lb = a.splitlines(), b.splitlines()
    assert len(la) == len(lb)
    assert sum(x != y for x, y in zip(la, lb)) >= 2  # created and the timings differ, nothing else (above)
    assert outcome.certificate["gd"]["ran"]  # the timing fields exist in this run


def test_canonical_form_sorted_keys_round_trip_floats_no_nan(outcome):
    text = C.dumps(outcome.certificate)
    cert = json.loads(text)
    assert list(cert) == sorted(cert)
    assert list(cert["properties"]["29"]) == sorted(cert["properties"]["29"])
    for r in outcome.results:  # every float survives the text bit for bit
        if r.statistic is not None:
            assert cert["properties"][r.eq]["statistic"] == r.statistic
    assert C.dumps(cert) == text  # canonical: re-serialising changes nothing
    assert C.dumps({"a": float("nan"), "b": np.float64(np.inf), "c": np.int64(3)}) == '{\n "a": null,\n "b": null,\n "c": 3\n}\n'


def test_provenance_is_complete(outcome):
    pv = outcome.certificate["provenance"]
    assert pv["qrcheck"] == __version__
    assert pv["numpy"] == np.__version__
    for k in ("python", "scipy", "platform"):
        assert isinstance(pv[k], str) and pv[k]
    assert set(pv["blas"]) >= {"name", "version"}
    assert pv["command"] == ["qrcheck", "verify", "test"]
    assert pv["profile"] == PAPER.to_dict()
    assert pv["search_effort"] == {"subset_samples": 64, "restarts": 4, "iterations": 30, "time_budget": None,
                                  "work": 2000.0}
    assert pv["random_stream"] == C.random_stream_fingerprint()
    assert outcome.certificate["created"].endswith("+00:00")


def test_random_stream_fingerprint_is_the_digest_of_qrcheck_sampling():
    rng = np.random.SeedSequence(0).spawn(4)
    gX, gW, gz, gy = (np.random.default_rng(s) for s in rng)
    X = gX.standard_normal((3, 4))
    X /= np.sqrt((X ** 2).sum(axis=0))
    parts = [X, gW.standard_normal((4, 3)), gz.choice([-1.0, 1.0], size=4), gz.standard_normal(4),
             gy.normal(0.0, 2.0, size=4)]
    h = hashlib.sha256()
    for a in parts:
        h.update(np.asarray(a, dtype="<f8").tobytes())
    assert C.random_stream_fingerprint() == h.hexdigest()


def test_write_certificate_validates_and_writes_nothing_when_invalid(outcome, tmp_path):
    out = tmp_path / "c.json"
    written = C.write_certificate(out, outcome.certificate)
    assert json.loads(out.read_text()) == json.loads(C.dumps(written))
    bad = json.loads(C.dumps(outcome.certificate))
    bad["properties"]["19"]["status"] = "probably"
    with pytest.raises(C.CertificateError, match="properties.19.status"):
        C.write_certificate(tmp_path / "bad.json", bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_embedded_arrays_are_deterministic_and_digested(outcome, tmp_path):
    arrays = outcome.draw.arrays()
    a = C.write_certificate(tmp_path / "a.json", outcome.certificate, arrays)
    b = C.write_certificate(tmp_path / "b.json", outcome.certificate, arrays)
    npz = tmp_path / "a.arrays.npz"
    assert a["arrays"] == {"file": "a.arrays.npz", "sha256": hashlib.sha256(npz.read_bytes()).hexdigest()}
    assert a["arrays"]["sha256"] == b["arrays"]["sha256"]  # same arrays, same bytes
    with np.load(npz, allow_pickle=False) as z:  # a plain .npz any numpy reads
        for k, v in arrays.items():
            assert np.array_equal(z[k], v)
    shapes = {k: v.shape for k, v in arrays.items()}
    loaded = C.load_npz(npz, shapes)
    assert all(np.array_equal(loaded[k], arrays[k]) for k in arrays)
    assert json.loads((tmp_path / "a.json").read_text())["arrays"] == a["arrays"]


def test_load_npz_refuses_wrong_shapes_names_and_pickles_before_reading(tmp_path):
    p = tmp_path / "x.npz"
    np.savez(p, X=np.zeros((3, 4)))
    with pytest.raises(C.InputError, match="shape"):
        C.load_npz(p, {"X": (4, 3)})
    with pytest.raises(C.InputError, match="unexpected entry"):
        C.load_npz(p, {"W0": (3, 4)})
    q = tmp_path / "obj.npz"
    np.savez(q, X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(C.InputError, match="numeric"):
        C.load_npz(q, {"X": (1,)})
    r = tmp_path / "junk.npz"
    r.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(C.InputError):
        C.load_npz(r, {"X": (1,)})


@pytest.mark.parametrize("text,match", [
    ('{"schema": "qrcheck.certificate/1", "parameters": {', "not valid JSON"),
    ("not json at all", "not valid JSON"),
    ("[1, 2, 3]", "not an object"),
    ('{"schema": "something else"}', "not a certificate"),
    ('{"schema": "qrcheck.certificate/1", "x": NaN}', "not valid JSON"),
    ("[" * 100000 + "]" * 100000, "not"),
])
def test_read_certificate_rejects_what_is_not_a_certificate(tmp_path, text, match):
    p = tmp_path / "c.json"
    p.write_text(text)
    with pytest.raises(C.CertificateError, match=match):
        C.read_certificate(p)


def test_read_certificate_refuses_missing_and_huge_files(tmp_path, monkeypatch):
    with pytest.raises(C.CertificateError, match="cannot read"):
        C.read_certificate(tmp_path / "nope.json")
    p = tmp_path / "big.json"
    p.write_text('{"schema": "qrcheck.certificate/1"}' + " " * 100)
    monkeypatch.setattr(C.io, "MAX_CERTIFICATE_BYTES", 64)
    with pytest.raises(C.CertificateError, match="larger than"):
        C.read_certificate(p)


def test_written_files_get_ordinary_permissions(outcome, tmp_path):
    import os
    umask = os.umask(0o022)
    try:
        C.write_certificate(tmp_path / "p.json", outcome.certificate, outcome.draw.arrays())
    finally:
        os.umask(umask)
    assert (tmp_path / "p.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "p.arrays.npz").stat().st_mode & 0o777 == 0o644


def test_parse_rejects_duplicate_keys_and_non_finite_constants():
    with pytest.raises(C.CertificateError, match="duplicate key 'a'"):
        C.parse('{"a": 1, "b": {"c": 2}, "a": 3}')
    with pytest.raises(C.CertificateError, match="duplicate key 'c'"):
        C.parse('{"b": {"c": 2, "c": 2}}')
    for const in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(C.CertificateError):
            C.parse('{"a": %s}' % const)
    assert C.parse('{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}


def test_io_imports_nothing_else_of_qrcheck():
    import subprocess
    import sys

    code = ("import sys, qrcheck.certificate.io; "
            "print(sorted(m for m in sys.modules if m.startswith('qrcheck')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert eval(out) == ["qrcheck", "qrcheck.certificate", "qrcheck.certificate.io"]


def test_typed_certificate_round_trips_and_is_a_read_only_view_of_its_json(outcome):
    from qrcheck.certificate import Certificate, GDRecord, Parameters

    c = outcome.certificate
    d = json.loads(C.dumps(c.to_json()))
    again = Certificate.from_json(d)
    assert again == c and again.to_json() == d
    assert c["gd"]["status"] == c.gd.status.value == "converged" and dict(c)["verdict"] == c.verdict.text
    assert c.properties["29"].status.value == d["properties"]["29"]["status"]
    assert c.exit_code == 0 and c.verdict.passed and c.parameters == Parameters.from_json(d["parameters"])
    with pytest.raises(Exception):
        c.properties["29"].details["x"] = 1
    nr = GDRecord.not_run("--no-gd", certified=True)
    assert GDRecord.from_json(nr.to_json()) == nr and not nr.ran and nr.T is None


def test_example_certificates_round_trip_key_for_key():
    from qrcheck.certificate import Certificate

    paths = sorted((ROOT / "certificates").glob("*.json"))
    assert paths
    for p in paths:
        d = json.loads(p.read_text())
        assert Certificate.from_json(d).to_json() == d, p.name


def test_certificate_write_embeds_arrays_atomically(outcome, tmp_path):
    from qrcheck.certificate import Certificate

    out = tmp_path / "c.json"
    written = outcome.certificate.write(out, embed_arrays=True)
    assert written.arrays.file == "c.arrays.npz" and (tmp_path / "c.arrays.npz").is_file()
    assert Certificate.read(out) == written
    loaded = C.load_npz(tmp_path / "c.arrays.npz", {k: tuple(v.shape) for k, v in written.inputs.items()})
    assert all(C.sha256_of(loaded[k]) == written.inputs[k].sha256 for k in loaded)
