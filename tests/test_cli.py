"""The command line: verify on given arrays, exit codes, one-line errors, nothing half-written."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from qrcheck.certificate.io import strip_volatile
from qrcheck.cli import app

runner = CliRunner()
STATUSES = {"certified", "passed", "violated", "vacuous", "not_applicable"}


@pytest.fixture
def arrays(foreign_arrays):
    """Arrays qrcheck did not sample: a different generator and a Gaussian z0."""
    return foreign_arrays(2024, 15, 60, 20)


def independent_statistics(X, W0, z0, zeta0):
    """CONTRACT's statistics recomputed here; (24) counts |z0_nu| >= zeta_0, the certificate's
    ``details.zeta0`` (the profile's explicit bound)."""
    P = W0 @ X
    F = np.maximum(P, 0)
    G = np.abs(X.T @ X - np.diag(np.diag(X.T @ X)))
    a = np.sort(np.abs(P), axis=0)
    S = W0.shape[0]
    return {"19": G.max(), "22": np.sqrt((W0 ** 2).sum(axis=1)).min(),
            "23": max(np.abs(W0).max(), np.abs(z0).max()),
            "24": int((np.abs(z0) >= zeta0).sum()),
            "25": np.abs(P).min(), "26": np.abs(P).max(), "27": np.abs(F.T @ z0).max(),
            "28": (np.arange(1, S + 1)[:, None] / (S * a + 1)).max(),
            "29": np.linalg.svd(F, compute_uv=False)[-1] ** 2}


def test_verify_on_given_arrays_reproduces_statistics(arrays, tmp_path):
    arr, p = arrays
    out = tmp_path / "c.json"
    r = runner.invoke(app, ["verify", "--X", str(p["X"]), "--W0", str(p["W0"]), "--z0", str(p["z0"]),
                            "--no-gd", "--out", str(out)])
    assert r.exit_code in (0, 1), r.output
    cert = json.loads(out.read_text())
    assert sorted(cert["properties"], key=int) == [str(k) for k in range(19, 31)]
    assert all(v["status"] in STATUSES for v in cert["properties"].values())
    zeta0 = cert["properties"]["24"]["details"]["zeta0"]
    for eq, v in independent_statistics(arr["X"], arr["W0"], arr["z0"], zeta0).items():
        assert cert["properties"][eq]["statistic"] == pytest.approx(v, rel=1e-7), eq
    for k, a in arr.items():
        assert cert["inputs"][k]["sha256"] == hashlib.sha256(np.ascontiguousarray(a, "<f8").tobytes()).hexdigest()
        assert cert["inputs"][k]["source"] == "file" and cert["inputs"][k]["shape"] == list(a.shape)
    assert cert["inputs"]["y"]["source"] == "sampled"
    assert (cert["parameters"]["n"], cert["parameters"]["S"], cert["parameters"]["m"]) == (15, 60, 20)
    assert cert["gd"]["status"] == "not_run" and cert["gd"]["ran"] is False


def test_verify_runs_gd_and_exit_code_follows_verdict(tmp_path):
    out = tmp_path / "c.json"
    r = runner.invoke(app, ["verify", "--n", "20", "--S", "80", "--m", "20", "--seed", "3", "--out", str(out)])
    cert = json.loads(out.read_text())
    assert cert["gd"]["ran"] and cert["gd"]["status"] in ("converged", "diverged", "max_steps")
    assert r.exit_code == (0 if cert["verdict"].startswith("pass") else 1)


def test_same_inputs_same_certificate_apart_from_timing(tmp_path):
    texts = []
    for name in ("a.json", "b.json"):
        runner.invoke(app, ["verify", "--n", "10", "--S", "30", "--m", "12", "--out", str(tmp_path / name)])
        c = strip_volatile(json.loads((tmp_path / name).read_text()))
        texts.append(json.dumps(c, sort_keys=True))
    # only `created`, the timings and the memory peak are volatile (io.is_volatile); nothing else differs
    assert texts[0] == texts[1]
    assert "created" not in texts[0] and "seconds" not in texts[0]


def bad_X(tmp_path, kind):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 7))
    X /= np.linalg.norm(X, axis=0)
    args = []
    if kind == "nan":
        X[2, 3] = np.nan
    np.save(tmp_path / "X.npy", X)
    args = ["--X", str(tmp_path / "X.npy"), "--S", "10"]
    if kind == "shape":
        np.save(tmp_path / "W0.npy", rng.standard_normal((10, 6)))
        args += ["--W0", str(tmp_path / "W0.npy")]
    return args


@pytest.mark.parametrize("case", ["nan", "shape", "n0", "S-3", "eta", "profile", "labels"])
def test_bad_input_exits_2_one_line_no_file(tmp_path, case):
    out = tmp_path / "c.json"
    fixed = {"n0": ["--n", "0"], "S-3": ["--S", "-3"], "eta": ["--eta-w", "-1"],
             "profile": ["--profile", "nonexistent"], "labels": ["--labels", "weird"]}
    args = fixed[case] if case in fixed else bad_X(tmp_path, case)
    proc = subprocess.run([sys.executable, "-m", "qrcheck", "verify", *args, "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".c.json*"))


def test_unknown_option_is_one_line_exit_2():
    proc = subprocess.run([sys.executable, "-m", "qrcheck", "verify", "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1


def test_properties_lists_every_checker():
    r = runner.invoke(app, ["properties"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for k in range(19, 31):
        assert f"│ {k} │" in r.output


def test_table_readable_at_100_columns(tmp_path):
    r = runner.invoke(app, ["verify", "--n", "10", "--S", "30", "--m", "12", "--no-gd"], env={"COLUMNS": "100"})
    assert max(len(line) for line in r.output.splitlines()) <= 100
    for k in range(19, 31):
        assert str(k) in r.output


def test_help_and_a_usage_error_do_not_import_the_numerical_stack():
    import subprocess
    import sys

    code = ("import sys\nfrom qrcheck.cli import main\nsys.argv = ['qrcheck'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit as e:\n"
            "    print('RESULT', e.code, 'scipy' in sys.modules, 'qrcheck.verify' in sys.modules)\n")
    for args, code_ in ((["--help"], 0), (["verify", "--n", "0"], 2)):
        r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        assert f"RESULT {code_} False False" in r.stdout, (args, r.stdout[-300:], r.stderr[-300:])


def test_audit_dense_m_names_what_it_skipped(tmp_path):
    """Above --dense-m the audit forms no m x m matrix: the statuses are still re-derived (exit 0),
    and the last line says how many values were left unchecked instead of 'every claim re-verified';
    the count is the report's ``skipped``."""
    from qrcheck.audit import audit

    out = tmp_path / "c.json"
    r = runner.invoke(app, ["verify", "--n", "20", "--S", "40", "--m", "60", "--out", str(out)])
    assert r.exit_code in (0, 1), r.output
    full = runner.invoke(app, ["audit", str(out)])
    assert full.exit_code == 0 and "every claim re-verified" in full.output
    blocked = runner.invoke(app, ["audit", str(out), "--dense-m", "10"])
    report = audit(out, dense_m=10)
    assert blocked.exit_code == report.exit_code == 0
    assert len(report.skipped) > 0 and audit(out).skipped == ()
    assert "every claim re-verified" not in blocked.output
    assert f"{len(report.skipped)} value(s) no status depends on not re-derived" in " ".join(blocked.output.split())
