"""Reviewer-grade reports (issue 14): the 80-column table with the baseline column and diagnostics
footer, show's sections, valid markdown, progress lines off a terminal, figures in three formats,
verify --dataset / --baseline end to end."""

import json
import re

import numpy as np
import pytest
from rich.console import Console

from qrcheck import render
from qrcheck.verify import VerifyConfig, verify


@pytest.fixture(scope="module")
def cert():
    out = verify(VerifyConfig(n=20, S=40, m=10, seed=3, no_gd=False, eta_w=1e-3, baseline=2, track_every=5,
                              max_steps=20))
    return out.certificate.to_json()


def _text(renderable, width=80):
    con = Console(width=width, record=True, color_system=None)
    con.print(renderable)
    return con.export_text()


def test_every_certificate_carries_diagnostics_and_the_baseline(cert):
    d = cert["diagnostics"]
    assert d["X"]["rank"] == 10 and d["H0"]["stable_step"] == pytest.approx(2 / d["H0"]["lambda_max"])
    assert d["gd_stop"]["words"] and cert["gd"]["ran"]
    b = cert["baseline"]
    assert b["K"] == 2 and len(b["seeds"]) == 2 and set(b["properties"]) == set(cert["properties"])
    assert cert["parameters"]["baseline"] == 2 and "dataset" not in cert["parameters"]


def test_table_at_80_columns_wraps_names_between_words(cert):
    text = _text(render.certificate_table(cert))
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    words = {w for r in cert["properties"].values() for w in render.display_name(r["name"]).split()}
    words |= {w for r in cert["properties"].values() for w in render.display_name(r["status"]).split()}
    body = text.split("\n\n")[1] if "\n\n" in text else text
    tokens = set(re.findall(r"[\w.^*]+", body))
    missing = [w for w in words if w not in tokens]
    assert not missing, f"words broken across lines: {missing}"
    flat = " ".join(text.split())
    assert "vs random" in flat and "stable step" in flat and "X: rank 10" in flat


def test_show_sections_every_parameter_and_reason(cert):
    text = "\n".join(_text(t, 100) for t in render.detail_tables(cert))
    for k in ("eta_w", "eta_z", "labels", "tol", "z_dist", "max_steps", "baseline seeds"):
        assert k in text
    assert "required properties:" in text and "kernel diagnostics" in text and "Theorem 2.3" in text
    assert "checkpoints (--track-every)" in text and "random baseline" in text
    md = render.certificate_markdown(cert)
    longest = max((r.get("details") or {}).get("reason", r["method"]) for r in cert["properties"].values())
    assert render._md(longest) in md                      # nothing truncated in markdown


def test_markdown_tables_are_valid(cert):
    md = render.certificate_markdown(cert) + render._md_table(["|D|", "||W_T - W_0||_F"], [("1", "2")])[0]
    for block in re.split(r"\n(?!\|)", md):
        rows = [ln for ln in block.splitlines() if ln.startswith("|")]
        cells = [len(re.findall(r"(?<!\\)\|", ln)) for ln in rows]
        assert len(set(cells)) <= 1, block[:200]
    assert "\\|D\\|" in render._md_table(["|D|"], [])[0]


def test_line_progress_off_a_terminal():
    now = [0.0]
    out = []
    lp = render.LineProgress(out.append, interval=5.0, clock=lambda: now[0])
    assert not lp.gd(0, 100.0) and not lp.line("too early")        # silent in the first 5 s
    now[0] = 1.0
    assert not lp.gd(100, 90.0)
    now[0] = 6.0
    assert lp.gd(600, 50.0) and len(out) == 1
    assert "t=600" in out[-1] and "100 steps/s" in out[-1] and "-50%" in out[-1]
    assert lp.line("forced", force=True) and out[-1] == "forced"


def test_figures_in_three_formats(tmp_path, cert, monkeypatch):
    pytest.importorskip("matplotlib")
    from qrcheck import plots

    p = plots.save_checkpoints(cert, tmp_path / "cp.png")
    assert all(p.with_suffix(s).stat().st_size > 0 for s in (".png", ".pdf", ".svg"))
    monkeypatch.setattr(plots, "FORMATS", ("png",))        # the 12-panel figure: one format is enough here
    monkeypatch.setattr(plots, "DPI", 50)
    pts = [{"S": 40, "m": m, "constants": {"19": 0.5 * m, "20": 1.0}, "baseline": {"19": [0.1, 0.2]}} for m in (10, 20)]
    f = plots.draw_constants(pts, tmp_path, {"n": 20, "eta_w": 1e-3, "runs": 2})
    assert f.name == plots.CONSTANTS_FIGURE and f.stat().st_size > 0


def test_cli_dataset_baseline_end_to_end(tmp_path):
    pytest.importorskip("sklearn")
    from typer.testing import CliRunner

    from qrcheck.cli import app

    out = tmp_path / "c.json"
    r = CliRunner().invoke(app, ["verify", "--dataset", "iris", "--S", "20", "--m", "30", "--baseline", "2",
                                 "--no-gd", "--center", "--labels", "dataset", "--out", str(out)])
    assert r.exit_code in (0, 1), r.output
    c = json.loads(out.read_text())
    assert c["parameters"]["dataset"] == "iris" and c["parameters"]["center"] is True
    assert c["dataset"]["center"] and len(c["dataset"]["indices"]) == 30 and c["dataset"]["package"] == "scikit-learn"
    assert c["inputs"]["X"]["source"] == "derived" and c["inputs"]["y"]["source"] == "derived"
    assert c["arrays"]["file"] and (tmp_path / c["arrays"]["file"]).exists()       # embedded for audit
    assert np.isclose(np.linalg.norm(np.load(tmp_path / c["arrays"]["file"])["y"]), np.sqrt(30 * 20))
    bad = CliRunner().invoke(app, ["verify", "--dataset", "iris", "--n", "5"])
    assert bad.exit_code == 2 and "--dataset" in bad.output


def test_python_api_takes_dataset_center_and_baseline():
    pytest.importorskip("sklearn")
    import qrcheck

    c = qrcheck.verify(dataset="iris", S=20, m=30, center=True, baseline=2, no_gd=True)
    assert c.parameters.dataset == "iris" and c.parameters.baseline == 2 and c.inputs["X"].source == "derived"
    assert c.to_json()["baseline"]["K"] == 2 and c.to_json()["dataset"]["center"] is True
    from qrcheck.baseline import Baseline

    assert c.baseline["K"] == 2 and c.dataset["name"] == "iris" and c.diagnostics["X"]["n"] == 4
    assert Baseline.from_json(c.baseline).K == 2
    with pytest.raises(qrcheck.InputError, match="center needs dataset"):
        qrcheck.verify(n=5, S=5, m=5, center=True, no_gd=True)
