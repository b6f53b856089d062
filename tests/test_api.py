"""The Python API of CONTRACT ("Python API"): qrcheck.check / verify / Certificate / Status / audit /
InputError, lazily imported; in-memory arrays validated as files are and recorded as memory; the
rates of Section 4; the assertion helpers and the pytest plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import qrcheck
from qrcheck import rates
from qrcheck.certificate.io import sha256_of
from qrcheck.draw import make_draw
from qrcheck.testing import assert_holds, assert_status, assert_violated, property_row, reproduce_command

EQS = [str(e) for e in range(19, 31)]


def unit_columns(n, m, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, m))
    return X / np.linalg.norm(X, axis=0)


@pytest.fixture(scope="module")
def X():
    return unit_columns(20, 10)


@pytest.fixture(scope="module")
def report(X):
    return qrcheck.check(X, S=40, seed=1)


def run_python(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_import_is_cheap_and_names_are_lazy():
    out = run_python("""
        import sys, qrcheck
        heavy = [m for m in ("numpy", "scipy", "typer", "rich", "hypothesis") if m in sys.modules]
        print(heavy, sorted(qrcheck.__all__) == sorted(dir(qrcheck)))
        qrcheck.Status; qrcheck.rates.paper_rates(100, 100)
        print([m for m in ("numpy", "scipy") if m in sys.modules])
    """)
    assert out.split("\n")[:2] == ["[] True", "[]"]
    for name in ("check", "verify", "Certificate", "Status", "audit", "InputError", "strategies"):
        assert name in qrcheck.__all__ and getattr(qrcheck, name) is not None


def test_check_report_protocol(report):
    assert len(report) == 12 and [r.eq for r in report] == EQS and report.keys() == tuple(EQS)
    assert report["29"] is report[29] is report["(29)"]
    assert "29" in report and 31 not in report
    with pytest.raises(KeyError, match="no property"):
        report["31"]
    r = report["29"]
    for field in ("status", "statistic", "threshold", "lower", "upper", "witness", "details"):
        assert hasattr(r, field)
    assert isinstance(r.status, qrcheck.Status) and qrcheck.Status("violated") is qrcheck.Status.VIOLATED
    assert report.violated == tuple(e for e in EQS if report[e].status is qrcheck.Status.VIOLATED)
    with pytest.raises(Exception):
        report.results = ()  # frozen


def test_memory_arrays_are_recorded_with_their_digests(X, report):
    assert report.draw.sources == {"X": "memory", "W0": "sampled", "z0": "sampled", "y": "sampled"}
    assert report.inputs["X"] == {"sha256": sha256_of(X), "shape": [20, 10], "dtype": "float64", "source": "memory"}
    ref = make_draw(n=20, S=40, m=10, seed=1)
    assert np.array_equal(report.draw.W0, ref.W0)  # the arrays not given are sampled from the seed
    json.dumps(report.to_json(), allow_nan=False)


def test_check_on_arrays_equals_check_on_the_seed_and_a_subset_equals_the_full_check(X):
    ref = make_draw(n=20, S=40, m=10, seed=4)
    a = qrcheck.check(ref.X, ref.W0, ref.z0, seed=4)
    b = qrcheck.check(n=20, S=40, m=10, seed=4)
    assert [r.to_json() for r in a] == [r.to_json() for r in b]
    sub = qrcheck.check(ref.X, ref.W0, ref.z0, seed=4, properties=[30, "19"])
    assert sub.keys() == ("19", "30") and sub["30"].to_json() == a["30"].to_json()


def test_repr_html_and_rich(report):
    text = repr(report)
    assert text.startswith("qrcheck.Report(n=20, S=40, m=10, seed=1, profile='paper'")
    assert len(text.splitlines()) == 14 and "(29)" in text and "violated:" in text
    html = report._repr_html_()
    assert html.count("<tr>") == 13 and "ntk_second_layer" in html
    from rich.console import Console
    console = Console(record=True, width=140)
    console.print(report)
    assert "ntk_second_layer" in console.export_text()


BAD = [
    (dict(X=3 * unit_columns(5, 4), S=3), "X columns are not of unit norm"),
    (dict(X=np.ones(5), S=3), "--X must be a 2-d array, got shape (5,)"),
    (dict(X=unit_columns(5, 4), W0=np.ones((3, 6))), "inconsistent shapes"),
    (dict(X=unit_columns(5, 4), W0=np.ones((4, 5)), z0=np.ones(3)), "inconsistent shapes"),
    (dict(X=np.full((5, 4), np.nan), S=3), "non-finite"),
    (dict(X=np.array([["a"]]), S=3), "does not hold a real numeric array"),
    (dict(X=unit_columns(5, 4)), "--S is required"),
    (dict(X=unit_columns(5, 4), S=3, profile="nope"), "profile"),
    (dict(X=unit_columns(5, 4), S=3, properties=[31]), "no property (31)"),
]


@pytest.mark.parametrize("kw,message", BAD)
def test_bad_input_is_one_line_input_error(kw, message):
    with pytest.raises(qrcheck.InputError) as info:
        qrcheck.check(**kw)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_memory_errors_are_the_files_errors(tmp_path):
    for a in (3 * unit_columns(5, 4), np.ones(5), np.full((5, 4), np.inf)):
        np.save(tmp_path / "X.npy", a)
        with pytest.raises(qrcheck.InputError) as from_file:
            make_draw(X=tmp_path / "X.npy", n=None, S=3, m=None)
        with pytest.raises(qrcheck.InputError) as from_memory:
            qrcheck.check(a, S=3)
        assert str(from_memory.value) == str(from_file.value)


def test_verify_in_memory_and_certificate_round_trip(tmp_path, X):
    y = np.random.default_rng(3).normal(0, np.sqrt(40), 10)
    cert = qrcheck.verify(X, S=40, y=y, seed=1, no_gd=True, profile="sharp")
    assert isinstance(cert, qrcheck.Certificate)
    assert cert.inputs["X"].source == "memory" and cert.inputs["X"].sha256 == sha256_of(X)
    assert cert.inputs["y"].source == "memory" and cert.inputs["W0"].source == "sampled"
    assert cert.parameters.profile == "sharp" and cert.gd.status == "not_run"
    assert qrcheck.Certificate.from_json(cert.to_json()) == cert
    assert cert.exit_code in (0, 1) and cert.verdict.text.startswith(("pass:", "fail:"))
    written = cert.write(tmp_path / "c.json", embed_arrays=True)
    assert written.arrays is not None and (tmp_path / written.arrays.file).is_file()
    back = qrcheck.Certificate.read(tmp_path / "c.json")
    assert back.properties["19"] == cert.properties["19"]


def test_a_certificate_written_from_python_audits_clean(tmp_path, X):
    """Acceptance: Certificate.write (in-memory arrays embedded by default) -> qrcheck audit, exit 0."""
    y = np.random.default_rng(5).normal(0, np.sqrt(40), 10)
    cert = qrcheck.verify(X, S=40, y=y, seed=2, no_gd=True)
    written = cert.write(tmp_path / "mem.json")
    assert written.arrays is not None and (tmp_path / "mem.arrays.npz").is_file()
    report = qrcheck.audit(tmp_path / "mem.json")
    assert report.exit_code == 0, report.mismatches
    res = subprocess.run([sys.executable, "-m", "qrcheck", "audit", str(tmp_path / "mem.json")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    sampled = qrcheck.verify(n=20, S=40, m=10, seed=2, no_gd=True).write(tmp_path / "s.json")
    assert sampled.arrays is None and qrcheck.audit(tmp_path / "s.json").exit_code == 0


def test_certificate_repr_html_and_rich():
    cert = qrcheck.verify(n=20, S=40, m=10, seed=1, no_gd=True)
    text = repr(cert)
    assert text.startswith("qrcheck.Certificate(n=20, S=40, m=10, seed=1, profile='paper'")
    assert "(29)" in text and "verdict: " in text and "exit code" in text and len(text.splitlines()) < 25
    assert repr(cert.properties["19"]).startswith("PropertyRecord((19) almost_orthogonality: ")
    assert cert._repr_html_().count("<tr>") == 13
    from rich.console import Console
    console = Console(record=True, width=140)
    console.print(cert)
    assert "ntk_second_layer" in console.export_text()


def test_verify_options_and_paper_rates():
    cert = qrcheck.verify(n=10, S=20, m=5, no_gd=True, paper_rates="implied")
    assert (cert.parameters.eta_w, cert.parameters.eta_z) == rates.paper_rates(20, 5, "implied")
    with pytest.raises(qrcheck.InputError, match="unknown option 'eta'"):
        qrcheck.verify(n=10, S=20, m=5, eta=1e-3)
    with pytest.raises(qrcheck.InputError, match="either --paper-rates or --eta-w"):
        qrcheck.verify(n=10, S=20, m=5, eta_w=1e-3, paper_rates="stated")
    with pytest.raises(qrcheck.InputError, match="--paper-rates must be one of stated, implied"):
        qrcheck.verify(n=10, S=20, m=5, paper_rates="typo")
    with pytest.raises(qrcheck.InputError, match="--eta-w must be a finite number"):
        qrcheck.verify(n=10, S=20, m=5, eta_w=float("nan"))


def test_verify_and_audit_stay_callable_after_their_modules_are_imported():
    import qrcheck.audit  # noqa: F401 - binds qrcheck.audit to the package
    import qrcheck.verify  # noqa: F401 - binds qrcheck.verify to the module
    assert callable(qrcheck.verify) and callable(qrcheck.audit)
    assert hasattr(qrcheck.verify, "VerifyConfig")
    cert = qrcheck.verify(n=5, S=6, m=3, no_gd=True)
    assert cert.parameters.n == 5


def test_paper_rates_rules():
    cells = [(S, m) for S in (100, 200, 500, 1000) for m in range(100, 1001, 100)]
    stated = {c: rates.paper_rates(*c) for c in cells}
    implied = {c: rates.paper_rates(*c, rule="implied") for c in cells}
    assert {v[1] for v in stated.values()} == {0.0}
    assert stated[(500, 900)][0] == 5e-4 and stated[(1000, 900)][0] == 2e-4 and stated[(1000, 800)][0] == 1e-3
    assert [c for c in cells if stated[c] != implied[c]] == [(1000, m) for m in range(100, 801, 100)]
    assert all(implied[(1000, m)][0] == 5e-4 for m in range(100, 801, 100))
    assert rates.paper_eta_w(1000, 300, "implied") == 5e-4 and rates.paper_eta_w(1000, 300) == 1e-3


# ---- assertion helpers ----------------------------------------------------------------------
def test_assertion_message_is_the_row_and_a_reproducing_command(report):
    assert_holds(report, [23, 24])
    assert_status(report, 24, qrcheck.Status.CERTIFIED)
    bad = report.violated[0]
    with pytest.raises(AssertionError) as info:
        assert_holds(report, bad)
    lines = str(info.value).splitlines()
    assert lines[0] == f"expected ({bad}) to hold (any status but violated), got:"
    assert lines[1] == property_row(report, bad) and f"({bad})" in lines[1] and "statistic" in lines[1]
    assert lines[-1].startswith("reproduce: qrcheck verify --X ") and lines[-1].endswith("--profile paper --no-gd")
    with pytest.raises(AssertionError, match=r"expected \(24\) status violated"):
        assert_violated(report, 24)


def test_reproduce_command_regenerates_sampled_and_strategy_draws():
    assert reproduce_command(qrcheck.check(n=6, S=7, m=3, seed=5)) == \
        "qrcheck verify --n 6 --S 7 --m 3 --seed 5 --profile paper --no-gd"
    pytest.importorskip("hypothesis")
    from qrcheck import strategies as qs
    d = qs.sample(6, 7, 3, seed=5)
    r = qrcheck.check(**d.kwargs, profile="sharp")
    assert reproduce_command(r) == "qrcheck verify --n 6 --S 7 --m 3 --seed 5 --profile sharp --no-gd"
    cert = qrcheck.verify(**d.verify_kwargs, no_gd=True)
    assert reproduce_command(cert).startswith("qrcheck verify --n 6 --S 7 --m 3 --seed 5 --profile paper")


def test_the_reproducing_command_reproduces(tmp_path, X):
    from qrcheck.testing import save_arrays
    r = qrcheck.check(X, S=40, seed=1)
    cmd = r.command(folder=tmp_path)
    parts = cmd.split()
    Xfile = parts[parts.index("--X") + 1]
    again = qrcheck.check(np.load(Xfile), S=int(parts[parts.index("--S") + 1]),
                          seed=int(parts[parts.index("--seed") + 1]))
    assert [a.to_json() for a in again] == [b.to_json() for b in r]
    assert save_arrays({"X": X}) == save_arrays({"X": X})  # one folder per content


def test_pytest_plugin_option_fixture_and_hypothesis_profile(tmp_path):
    (tmp_path / "test_it.py").write_text(textwrap.dedent("""
        def test_profile(qrcheck_profile):
            assert qrcheck_profile == "sharp"

        def test_hypothesis_profile():
            from hypothesis import settings
            s = settings.get_profile("qrcheck")
            assert s.derandomize and s.database is None and s.deadline is None
    """))
    res = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--qrcheck-profile", "sharp",
                          "--hypothesis-profile", "qrcheck",
                          str(tmp_path / "test_it.py")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed" in res.stdout and "qrcheck profile: sharp" in res.stdout
    from qrcheck.pytest_plugin import checked_profile
    assert checked_profile("paper") == "paper"
    with pytest.raises(pytest.fail.Exception, match="--qrcheck-profile: .*nope"):
        checked_profile("nope")


# ---- the command line: --version, -h, --paper-rates ------------------------------------------
def run_main(monkeypatch, capsys, *args):
    from qrcheck import cli
    monkeypatch.setattr(sys, "argv", ["qrcheck", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_cli_version_help_and_paper_rates(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, "--version")
    assert code == 0 and out.strip() == f"qrcheck {qrcheck.__version__}"
    code, out, _ = run_main(monkeypatch, capsys, "-h")
    assert code == 0 and "verify" in out and "--version" in out
    code, out, _ = run_main(monkeypatch, capsys, "verify", "-h")
    assert code == 0 and "--paper-rates" in out
    for extra, eta_w in ((["--paper-rates", "implied"], 5e-4), (["--paper-rates"], 1e-3)):
        cert = tmp_path / "c.json"
        code, _, err = run_main(monkeypatch, capsys, "verify", "--n", "4", "--S", "1000", "--m", "400", *extra,
                                "--no-gd", "--effort", "low", "--out", str(cert))
        assert code in (0, 1), err
        assert json.loads(cert.read_text())["parameters"]["eta_w"] == eta_w
    code, _, err = run_main(monkeypatch, capsys, "verify", "--n", "4", "--S", "5", "--m", "3", "--paper-rates",
                            "--eta-w", "1e-4", "--no-gd")
    assert code == 2 and "pass either --paper-rates or --eta-w/--eta-z" in err
    code, _, err = run_main(monkeypatch, capsys, "verify", "--n", "4", "--S", "5", "--m", "3", "--paper-rates", "typo")
    assert code == 2 and "--paper-rates must be one of stated, implied, got 'typo'" in err


@pytest.mark.parametrize("module", ["qrcheck.api", "qrcheck.rates", "qrcheck.testing", "qrcheck.strategies"])
def test_docstring_examples_run(module):
    import doctest
    import importlib
    if module == "qrcheck.strategies":
        pytest.importorskip("hypothesis")
    failed, _ = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert failed == 0
