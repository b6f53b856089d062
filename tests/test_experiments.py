"""Sweeps and the paper's Section 4: local pool vs Dask, kill and resume, summary/table/figures.

Sizes are tiny (n = 10, S in {20, 40}, m in {10, 20}); GD is forced (the properties fail there), so
each run takes a fraction of a second.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qrcheck import paper as pa
from qrcheck.rates import paper_eta_w
from qrcheck import sweep as sw
from qrcheck.cli import app
from qrcheck.verify import VerifyConfig

TEMPLATE = VerifyConfig(n=10, force=True)
SEED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_86bb827d0a739c51.txt"


def small_specs(base_seed: int = 0) -> tuple[sw.RunSpec, ...]:
    return sw.plan_grid(TEMPLATE, (20, 40), (10, 20), 2, base_seed)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def without_volatile(obj):
    """A certificate without its creation time, timing fields and memory measurements."""
    from qrcheck.certificate import strip_volatile

    return strip_volatile(obj)


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local")
    report = sw.run_sweep(small_specs(), out, workers=2)
    assert (report.total, report.completed, report.failed) == (8, 8, 0)
    sw.rebuild_outputs(out)
    return out


# ---- planning -------------------------------------------------------------------------------

def test_parse_int_list_ranges_include_stop():
    assert sw.parse_int_list("100:1000:100", "m") == tuple(range(100, 1001, 100))
    assert sw.parse_int_list("30, 10,20:40:10", "m") == (10, 20, 30, 40)
    for bad in ("", "a", "10:5:1", "1:2", "0", "10:20:0"):
        with pytest.raises(sw.InputError):
            sw.parse_int_list(bad, "m")


def test_seeds_depend_only_on_the_run():
    big = {s.run_id: s.config.seed for s in sw.plan_grid(TEMPLATE, (20, 40), (10, 20, 30), 3, base_seed=5)}
    part = {s.run_id: s.config.seed for s in sw.plan_grid(TEMPLATE, (40,), (20,), 2, base_seed=5)}
    assert all(big[k] == v for k, v in part.items())  # extending the grid changes no seed
    assert len(set(big.values())) == len(big)  # distinct runs, distinct seeds
    other = {s.run_id: s.config.seed for s in sw.plan_grid(TEMPLATE, (20, 40), (10, 20, 30), 3, base_seed=6)}
    assert not set(other.values()) & set(big.values())
    assert all(0 <= v < 2**63 for v in big.values())


def test_paper_eta_w_matches_the_shipped_exceptions():
    rates = pa.paper_data()["table1"]["eta_w"]
    for S in (100, 200, 500, 1000):
        for m in range(100, 1001, 100):
            want = rates["default"]
            for e in rates["exceptions"]:
                if S == e["S"] and m >= e["m_at_least"]:
                    want = e["eta_w"]
            assert paper_eta_w(S, m) == want
    specs = pa.reproduce_plan("table1", VerifyConfig())
    assert len(specs) == 400 and len({(s.S, s.m) for s in specs}) == 40
    assert {s.config.eta_w for s in specs if s.S == 1000 and s.m >= 900} == {2e-4}
    assert all(s.config.force and s.config.labels == "gaussian" and s.n == 100 for s in specs)
    implied = {(s.S, s.m): s.config.eta_w for s in pa.reproduce_plan("table1", VerifyConfig(), reps=1, rates="implied")}
    assert {k: v for k, v in implied.items() if v != paper_eta_w(*k)} == {(1000, m): 5e-4 for m in range(100, 801, 100)}
    table2 = pa.reproduce_plan("table2", VerifyConfig())
    assert [sum(s.m == m for s in table2) for m in (1000, 2000, 3000, 4000, 5000)] == [10, 10, 6, 3, 1]
    local = pa.reproduce_plan("local", VerifyConfig())
    assert {(s.m, s.config.eta_w, s.config.labels) for s in local} == {(1000, 1e-3, "local"), (2000, 1e-4, "local")}


def test_paper_tables_match_the_paper_text():
    """Every shipped Table 1 / Table 2 row equals the row of the paper's text it cites."""
    t1, t2 = pa.paper_data()["table1"]["rows"], pa.paper_data()["table2"]["rows"]
    assert len(t1) == 40 and len(t2) == 5
    for row in t1 + t2:
        for q in sw.QUANTITIES:
            if row[q] is not None:
                assert float(row[q]["min"]) <= float(row[q]["mean"]) <= float(row[q]["max"]), (row["source"], q)
    if not SEED_TEXT.is_file():
        pytest.skip("the paper's text is not beside the repository")
    lines = SEED_TEXT.read_text(encoding="utf-8").split("\n")
    for row in t1 + t2:
        printed = re.sub(r"</?b>", "", lines[row["source"]["seed_line"] - 1])
        numbers = re.findall(r"\d+(?:\.\d+)?", printed)
        ours = [str(row["m"])] if row["source"]["table"] == "Table 2" else [str(row["S"]), str(row["m"])]
        for q in sw.QUANTITIES:
            v = row[q]
            if v is not None:
                ours += [v["min"], v["max"], v["mean"]] if v["min"] != v["max"] else [v["min"]]
        assert ours == numbers, row["source"]


def test_paper_value_range_uses_the_printed_precision():
    v = pa.PaperValue.parse({"min": "0.7", "max": "0.76", "mean": "0.73"})
    assert v.contains(0.65) and v.contains(0.7649) and not v.contains(0.6499) and not v.contains(0.7651)
    cell = sw.CellStats(S=100, m=1000, n=100, eta_w=(1e-3,), runs=10, gd_ran=10, converged=10, failed=0,
                        T=sw.Range(1700, 2000, 1948.5, 10), kappa_H=sw.Range(0.7, 0.8, 0.77, 10),
                        D=sw.Range(2e4, 3e4, 21834.4, 10), W_distance=None)
    comps = {c.quantity: c for c in pa.compare([cell], pa.paper_table("table2"))}
    # T: printed 1739-1948 -> 1948.5 is still in; kappa_H 0.77 > 0.765 out; D 21834.4 < 21834.5 out
    assert (comps["T"].in_range, comps["kappa_H"].in_range, comps["D"].in_range) == (True, False, False)
    assert comps["W_distance"].in_range is None and "no converged run" in comps["W_distance"].note
    stated = dataclasses.replace(cell, S=1000, m=300, eta_w=(1e-3,))
    note = pa.compare([stated], pa.paper_table("table1"))[0].note
    assert "imply eta_w = 0.0005" in note
    assert "imply" not in pa.compare([dataclasses.replace(stated, eta_w=(5e-4,))], pa.paper_table("table1"))[0].note


# ---- running --------------------------------------------------------------------------------

def test_local_and_dask_give_identical_results(local_sweep, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        report = sw.run_sweep(small_specs(), tmp_path, scheduler=cluster.scheduler_address)
    assert (report.completed, report.failed) == (8, 0) and report.backend.startswith("dask")
    sw.rebuild_outputs(tmp_path, figures=False)
    a, b = read_csv(local_sweep / "summary.csv"), read_csv(tmp_path / "summary.csv")
    assert len(a) == len(b) == 8
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k not in sw.TIMING_COLUMNS} == \
               {k: v for k, v in rb.items() if k not in sw.TIMING_COLUMNS}
        assert ra["gd_status"] == "converged" and int(ra["T"]) > 0
    for path in sorted((local_sweep / "runs").glob("*.json")):
        ca = json.loads(path.read_text())
        cb = json.loads((tmp_path / "runs" / path.name).read_text())
        assert without_volatile(ca) == without_volatile(cb)


def test_rerun_skips_finished_runs_and_refuses_other_parameters(local_sweep):
    before = {p.name: p.stat().st_mtime_ns for p in (local_sweep / "runs").glob("*.json")}
    report = sw.run_sweep(small_specs(), local_sweep, workers=2)
    assert (report.skipped, report.completed) == (8, 0)
    assert before == {p.name: p.stat().st_mtime_ns for p in (local_sweep / "runs").glob("*.json")}
    other = sw.plan_grid(dataclasses.replace(TEMPLATE, eta_w=2e-3), (20,), (10,), 1)
    with pytest.raises(sw.InputError, match="other parameters"):
        sw.run_sweep(other, local_sweep)


def test_failed_run_is_recorded_and_does_not_stop_the_sweep(tmp_path):
    good = sw.plan_grid(TEMPLATE, (20,), (10, 20), 2)
    bad = sw.RunSpec(7, dataclasses.replace(good[0].config, labels="no-such-labels"))
    order = []
    report = sw.run_sweep([*good, bad], tmp_path, workers=1, on_result=lambda s, r: order.append((s.rep, s.m)))
    assert (report.completed, report.failed, report.failed_ids) == (4, 1, (bad.run_id,))
    assert order == [(0, 10), (0, 20), (1, 10), (1, 20), (7, 10)]  # rep by rep
    record = json.loads((tmp_path / "runs" / f"{bad.run_id}{sw.ERROR_SUFFIX}").read_text())
    assert "InputError" in record["error"] and "no-such-labels" in record["error"]
    rows = {r["run_id"]: r for r in read_csv(sw.rebuild_outputs(tmp_path, figures=False).summary_csv)}
    assert len(rows) == 5 and "no-such-labels" in rows[bad.run_id]["error"] and rows[bad.run_id]["T"] == ""
    assert rows[good[0].run_id]["error"] == "" and rows[good[0].run_id]["gd_status"] == "converged"
    # a failed run is not finished: the next call tries it again (and records it again); so is a
    # certificate that does not parse
    broken = tmp_path / "runs" / f"{good[1].run_id}.json"
    broken.write_text(broken.read_text()[:100])
    again = sw.run_sweep([*good, bad], tmp_path, workers=1)
    assert (again.skipped, again.completed, again.failed) == (3, 1, 1)
    assert sw.load_certificate(broken)["parameters"]["seed"] == good[1].config.seed


def test_kill_and_resume(tmp_path):
    """Kill a sweep (its whole process group) once its first certificate lands; rerun; one row per run."""
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "qrcheck", "sweep", "--n", "10", "--S", "20,40", "--m", "10:30:10",
           "--reps", "4", "--force", "--workers", "1", "--no-figures", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if any((out / "runs").glob("S*.json")):
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_at_kill = {p.name: p.read_bytes() for p in (out / "runs").glob("S*.json")}
    assert 1 <= len(done_at_kill) < 24, "the sweep should have been killed part-way"
    result = CliRunner().invoke(app, cmd[3:])
    assert result.exit_code == 0, result.output
    rows = read_csv(out / "summary.csv")
    keys = [(r["S"], r["m"], r["rep"]) for r in rows]
    assert len(keys) == len(set(keys)) == 24
    assert set(keys) == {(str(S), str(m), str(rep)) for S in (20, 40) for m in (10, 20, 30) for rep in range(4)}
    assert all(r["error"] == "" and r["gd_status"] == "converged" for r in rows)
    for name, text in done_at_kill.items():  # finished runs were kept, not redone
        assert (out / "runs" / name).read_bytes() == text
    leftovers = [p.name for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


# ---- outputs --------------------------------------------------------------------------------

def test_figures_are_png_files(local_sweep):
    from matplotlib.image import imread

    from qrcheck.plots import FIGURES

    for name in FIGURES:
        path = local_sweep / "figures" / name
        assert path.stat().st_size > 1000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = imread(path)
        assert img.shape[0] > 100 and img.shape[1] > 100 and np.ptp(img[..., :3]) > 0  # not blank


def test_table_md_aggregates_summary_csv(local_sweep):
    rows = read_csv(local_sweep / "summary.csv")
    cells: dict[tuple[int, int], list[dict]] = {}
    for r in rows:
        cells.setdefault((int(r["S"]), int(r["m"])), []).append(r)
    lines = [ln for ln in (local_sweep / "table.md").read_text().splitlines() if re.match(r"\| \d", ln)]
    assert len(lines) == len(cells) == 4
    columns = ("T", "kappa_H", "D", "W_distance")
    for line in lines:
        fields = [f.strip() for f in line.strip("|").split("|")]
        S, m, runs, ran, conv = (int(fields[i]) for i in (0, 1, 3, 4, 5))
        group = [r for r in cells[(S, m)] if r["gd_status"] == "converged"]
        assert (runs, ran, conv) == (len(cells[(S, m)]), sum(r["T"] != "" for r in cells[(S, m)]), len(group))
        for col, text in zip(columns, fields[7:]):
            lo, hi, mean = (float(x) for x in re.match(r"(\S+)-(\S+); (\S+)", text).groups())
            values = [float(r[col]) for r in group]
            decimals = {"T": (0, 1), "kappa_H": (3, 3), "D": (0, 1), "W_distance": (2, 2)}[col]
            assert math.isclose(lo, min(values), abs_tol=0.5 * 10 ** -decimals[0])
            assert math.isclose(hi, max(values), abs_tol=0.5 * 10 ** -decimals[0])
            assert math.isclose(mean, statistics.mean(values), abs_tol=0.5 * 10 ** -decimals[1] + 1e-12)
    for r in rows:  # derived columns
        assert math.isclose(float(r["D_density"]), int(r["D"]) / (int(r["m"]) * int(r["S"])))
        assert math.isclose(float(r["W_per_sqrt_m"]), float(r["W_distance"]) / math.sqrt(int(r["m"])))


def test_error_trajectory_accessor(local_sweep):
    for path in (local_sweep / "runs").glob("*.json"):
        cert = json.loads(path.read_text())
        t, e = sw.error_trajectory(cert)
        assert t[0] == 0 and t[-1] == cert["gd"]["T"] and np.all(np.diff(t) > 0) and t.size == e.size
        assert e[-1] == cert["gd"]["final_error"] < 1e-3 and e[0] > e[-1]
    stride = {"gd": {"T": 7, "error_trajectory": [8.0, 4.0, 2.0, 1.0, 0.5], "error_trajectory_stride": 2}}
    t, e = sw.error_trajectory(stride)
    assert t.tolist() == [0, 2, 4, 6, 7] and e.tolist() == [8.0, 4.0, 2.0, 1.0, 0.5]
    assert sw.error_trajectory({"gd": {"ran": False}}) is None


def test_cli_sweep_rejects_bad_lists(tmp_path):
    result = CliRunner().invoke(app, ["sweep", "--S", "20", "--m", "10:5:1", "--out", str(tmp_path)])
    assert result.exit_code == 2


def test_reproduce_quick_compares_with_the_paper(tmp_path):
    """table1 --quick --reps 1: S = 100, m in {100, 200} at n = 100; each verdict is recomputed here
    from summary.csv and the paper's printed ranges."""
    result = CliRunner().invoke(app, ["reproduce", "table1", "--quick", "--reps", "1", "--workers", "2",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "summary.csv")
    assert [(r["S"], r["m"], r["eta_w"]) for r in rows] == [("100", "100", "0.001"), ("100", "200", "0.001")]
    paper = {(r["S"], r["m"]): r for r in pa.paper_data()["table1"]["rows"]}
    comps = read_csv(tmp_path / "comparison.csv")
    assert len(comps) == 8
    for c in comps:
        ours = float(next(r for r in rows if r["m"] == c["m"])[c["quantity"]])
        printed = paper[(int(c["S"]), int(c["m"]))][c["quantity"]]
        half = {k: 0.5 * 10 ** -(len(printed[k].split(".")[1]) if "." in printed[k] else 0) for k in ("min", "max")}
        inside = float(printed["min"]) - half["min"] <= ours <= float(printed["max"]) + half["max"]
        assert c["in_range"] == str(inside)
    assert "in range" in (tmp_path / "comparison.md").read_text()
    assert all((tmp_path / "figures" / f).stat().st_size > 0 for f in ("fig1_kappa_H.png", "fig3_W_distance.png"))


def test_run_and_error_records_and_the_command_derive_from_parameters(tmp_path):
    from qrcheck.certificate import Parameters

    spec = small_specs()[0]
    p = spec.parameters()
    assert isinstance(p, Parameters) and (p.n, p.S, p.m, p.seed) == (spec.n, spec.S, spec.m, spec.config.seed)
    cmd = spec.verify_command()
    assert cmd[:2] == ["qrcheck", "verify"] and cmd[cmd.index("--seed") + 1] == str(p.seed) and "--force" in cmd
    (tmp_path / "runs").mkdir()
    sw._record(tmp_path / "runs", spec, sw.RunOutcome(spec.run_id, None, "boom", None, 0.0))
    record = json.loads((tmp_path / "runs" / f"{spec.run_id}{sw.ERROR_SUFFIX}").read_text())
    assert record["parameters"] == p.to_json() and record["command"] == cmd
    assert Parameters.from_json(record["parameters"]) == p
    assert p.mismatch(p) is None and "seed" in p.mismatch(dataclasses.replace(p, seed=p.seed + 1))
