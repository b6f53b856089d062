"""The audit above its dense limit (issue 15; docs/certificates.md, "Large m"): no m x m matrix, the
same statuses and re-derived values as the dense audit where both run, tamper still caught, and
what needs an m x m eigenvalue listed (not vouched, or not re-derivable: exit 3), never a false
clean. The blocked path is forced on small certificates by lowering ``dense_m`` and the block size."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import qrcheck
from qrcheck.audit import arrays as audit_arrays
from qrcheck.audit import stats
from qrcheck.audit.kernel import Outcome, audit
from qrcheck.audit.ledger import Ledger, Unverifiable

ROOT = Path(__file__).resolve().parents[1]
DENSE_M = 10  # forced limit: every certificate below has m = 60 > 10
BLOCK = 7 * 60  # 7 rows of X^T X per block, the last block shorter


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(stats, "BLOCK_ELEMS", BLOCK)


@pytest.fixture(scope="module")
def sharp(tmp_path_factory):
    """n=20, S=40, m=60 (m > S), profile sharp, GD forced: (19), (20) certified by their proved
    bounds (witnesses up to k = m > n), (29) violated (rank), (30) applicable."""
    c = qrcheck.verify(n=20, S=40, m=60, seed=0, max_steps=300, profile="sharp", force=True)
    p = tmp_path_factory.mktemp("large") / "sharp.json"
    c.write(p)
    return p, json.loads(p.read_text())


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """n=20, S=40, m=60, paper profile: (30) not applicable (premise false), as at m = 20,000."""
    c = qrcheck.verify(n=20, S=40, m=60, seed=0, max_steps=300)
    p = tmp_path_factory.mktemp("large") / "paper.json"
    c.write(p)
    return p, json.loads(p.read_text())


@pytest.fixture(scope="module")
def low_rank(tmp_path_factory):
    """n=5, S=6, m=60 > n S, eta_z > 0: H0 (rank <= n S) and G0 (rank <= S) are singular, so both
    lambda_min are 0 exactly, which the blocked audit vouches for by rank."""
    c = qrcheck.verify(n=5, S=6, m=60, seed=0, max_steps=300, eta_z=1e-4, force=True)
    p = tmp_path_factory.mktemp("large") / "low_rank.json"
    c.write(p)
    return p, json.loads(p.read_text())


def _q(cert, dense_m):
    p = cert["parameters"]
    a = audit_arrays.regenerate(p["seed"], p["n"], p["S"], p["m"], p["z_dist"], p["labels"])
    return stats.Quantities(a["X"], a["W0"], a["z0"], dense_m)


def _tampered(tmp_path, cert, edit):
    c = copy.deepcopy(cert)
    edit(c)
    p = tmp_path / "t.json"
    p.write_text(json.dumps(c, sort_keys=True, indent=1))
    return p


# ---- the statistics, blocked against dense ------------------------------------------------------
def test_blocked_statistics_equal_dense(sharp):
    cert = sharp[1]
    qd, qb = _q(cert, 10**9), _q(cert, DENSE_M)
    assert not qd.blocked and qb.blocked
    ed, eb = stats.exact(qd), stats.exact(qb)
    for eq in ("19", "22", "23", "25", "26", "27", "28"):
        for f in ("lo", "value", "hi"):
            assert getattr(eb[eq], f) == pytest.approx(getattr(ed[eq], f), rel=1e-13, abs=1e-300), (eq, f)
    assert eb["29"] == stats.Enclosure(0.0, 0.0, 0.0)  # rank <= S < m: exactly 0
    assert ed["29"].lo <= 0.0 <= ed["29"].hi and abs(ed["29"].value) <= qb.noise["29"]
    np.testing.assert_allclose(stats.norm2_bounds(qb), stats.norm2_bounds(qd), rtol=1e-12)
    for k in (1, 2, qd.m):
        assert stats.max_20(qb, k) == pytest.approx(stats.max_20(qd, k), rel=1e-12)
    for J in (np.arange(5), np.arange(0, 60, 2), np.arange(60)):  # k < n and k > n
        vd, vb = stats.value_20(qd, J), stats.value_20(qb, J)
        assert vb.value == pytest.approx(vd.value, rel=1e-12) and vb.lo <= vd.value <= vb.hi
    assert stats.bound_21(qb, 40) == pytest.approx(stats.bound_21(qd, 40), rel=1e-12, abs=1e-300)
    assert "G" not in qb.__dict__  # X^T X was never formed
    with pytest.raises(Unverifiable, match="m x m"):
        qb.G


def test_blocked_audit_matches_dense(sharp):
    path, cert = sharp
    dense, blocked = audit(path), audit(path, dense_m=DENSE_M)
    assert dense.outcome is Outcome.CLEAN and not dense.mismatches
    assert not blocked.mismatches and blocked.statuses == dense.statuses
    # (30) is applicable here: its witness needs lambda_min of the m x m H_K, so it is not re-derived
    # (exit 3, never a false clean), and nothing else is
    assert blocked.outcome is Outcome.INCOMPLETE
    assert [c.path for c in blocked.cannot] == ["properties.30"] and "m x m" in blocked.cannot[0].why
    skipped = dict(blocked.not_vouched)
    extra = set(skipped) - set(dict(dense.not_vouched))
    assert extra and all("m x m" in skipped[k] for k in extra)
    assert {k.split(".")[0] + "." + k.split(".")[1] for k in extra} <= {"diagnostics.H0", "diagnostics.X",
                                                                        "properties.29"}
    assert set(blocked.unvouched) - set(dense.unvouched) == {
        k for k in blocked.unvouched if k.startswith("properties.30")}


def test_paper_certificate_audits_clean_blocked(paper):
    """The shape of the m = 20,000 run: (29) by rank, (30) not applicable: clean, and the H0 /
    limit-kernel figures listed as not vouched with their reason."""
    path, cert = paper
    assert cert["properties"]["30"]["status"] == "not_applicable"
    dense, blocked = audit(path), audit(path, dense_m=DENSE_M)
    assert dense.outcome is Outcome.CLEAN and blocked.outcome is Outcome.CLEAN
    assert blocked.statuses == dense.statuses and not blocked.unvouched
    why = dict(blocked.not_vouched)
    assert "m x m" in why["properties.29.details.lambda_min_H0"]
    assert any("forms no m x m matrix" in n for n in blocked.notes)
    assert any(n.startswith(f"{len(extra)} keys not vouched for at m = 60") and "properties.29.details.{" in n
               for n in blocked.notes for extra in [set(why) - set(dict(dense.not_vouched))])


def test_rank_gives_lambda_min_of_H0_and_G0(low_rank, sharp):
    path, cert = low_rank
    qb = _q(cert, DENSE_M)
    assert stats.rank_bound_H0(qb) <= 5 * 6 < qb.m and stats.enclosure_H0(qb) == stats.Enclosure(0.0, 0.0, 0.0)
    assert stats.rank_bound_H0(_q(sharp[1], DENSE_M)) >= 60  # n S = 800 > m: the rank decides nothing
    with pytest.raises(Unverifiable, match="m x m"):
        stats.enclosure_H0(_q(sharp[1], DENSE_M))
    dense, blocked = audit(path), audit(path, dense_m=DENSE_M)
    assert dense.outcome is Outcome.CLEAN and blocked.outcome is Outcome.CLEAN
    assert blocked.statuses == dense.statuses
    skipped = dict(blocked.not_vouched)
    for k in ("properties.29.details.lambda_min_H0", "diagnostics.H0.lambda_min", "diagnostics.G0.lambda_min",
              "diagnostics.G0.lambda_max"):
        assert k not in skipped and k not in blocked.unvouched  # re-derived, exactly
    assert "m x m" in skipped["diagnostics.H0.lambda_max"]


@pytest.mark.parametrize("where, value", [
    (("properties", "29", "details", "lambda_min_H0"), 1e-3),
    (("diagnostics", "H0", "lambda_min"), 1e-3),
    (("diagnostics", "G0", "lambda_max"), lambda v: v * 1.1),
])
def test_rank_values_tamper_caught(low_rank, tmp_path, where, value):
    r = audit(_tampered(tmp_path, low_rank[1], _set(where, value)), dense_m=DENSE_M)
    assert r.outcome is Outcome.MISMATCH and any(m.path == ".".join(where) for m in r.mismatches), r.mismatches


# ---- tamper on the blocked path ------------------------------------------------------------------
def _set(path, value):
    def edit(c):
        node = c
        *head, last = path
        for k in head:
            node = node[k]
        node[last] = value(node[last]) if callable(value) else value
    return edit


@pytest.mark.parametrize("where, value, expect", [
    (("properties", "19", "statistic"), lambda v: v * 1.01, "properties.19.statistic"),
    (("properties", "19", "witness", "pair"), [0, 1], "properties.19.witness"),
    (("properties", "19", "status"), "violated", "properties.19.status"),
    (("properties", "20", "upper"), lambda v: v * 0.9, "properties.20.upper"),
    (("properties", "20", "details", "per_k", 1, "lower"), lambda v: v * 0.99, "properties.20.details.per_k[1].lower"),
    (("properties", "20", "details", "per_k", 59, "upper"), lambda v: v * 0.9, "properties.20.details.per_k[59].upper"),
    (("properties", "29", "statistic"), 1e-3, "properties.29.statistic"),
    (("properties", "29", "status"), "certified", "properties.29.status"),
    (("properties", "29", "lower"), 1e-6, "properties.29.lower"),
])
def test_tamper_caught_on_the_blocked_path(sharp, tmp_path, where, value, expect):
    r = audit(_tampered(tmp_path, sharp[1], _set(where, value)), dense_m=DENSE_M)
    assert r.outcome is Outcome.MISMATCH and any(m.path.startswith(expect) for m in r.mismatches), r.mismatches


def test_skipped_figures_are_not_silently_accepted(paper, tmp_path):
    """A wrong lambda_min_H0 above the limit is not confirmed: it stays in the not-vouched list with
    its reason, never among the checked claims."""
    r = audit(_tampered(tmp_path, paper[1], _set(("properties", "29", "details", "lambda_min_H0"), 123.0)),
              dense_m=DENSE_M)
    assert "properties.29.details.lambda_min_H0" in dict(r.not_vouched)
    assert audit(tmp_path / "t.json").outcome is Outcome.MISMATCH  # the dense audit refutes it


# ---- what the blocked audit cannot do -----------------------------------------------------------
def test_replay_above_the_limit_replays_all_but_the_eigenvalues(sharp, paper, tmp_path):
    """Above the limit --replay-gd re-derives T, the trajectory, D, the distances and the degrees
    (the loop is O(Sm)) and skips, with the reason, what needs an m x m eigenvalue; a tampered T or
    D is still caught, a tampered lambda_min(H_T) is not claimed re-verified."""
    assert sharp[1]["gd"]["ran"] and not paper[1]["gd"]["ran"]
    r = audit(sharp[0], dense_m=DENSE_M, replay_gd=True)
    # (30) is applicable on this draw, so the blocked audit is incomplete for (30) alone
    assert r.outcome is Outcome.INCOMPLETE and r.mismatches == () and r.gd_replayed
    assert [c.path for c in r.cannot] == ["properties.30"]
    skipped = dict(r.skipped)
    assert {"gd.lambda_min_H0", "gd.lambda_min_HT", "gd.kappa_H", "gd.changes.norm_60"} <= set(skipped)
    assert "m x m" in skipped["gd.lambda_min_HT"] and "gd.T" not in skipped and "gd.D" not in skipped
    dense = audit(sharp[0], replay_gd=True)
    assert dense.outcome is Outcome.CLEAN and "gd.lambda_min_HT" not in dict(dense.skipped)
    for key, bump in (("T", 1), ("D", 1)):
        bad = copy.deepcopy(sharp[1])
        bad["gd"][key] += bump
        rep = audit(bad, dense_m=DENSE_M, replay_gd=True)
        assert rep.outcome is Outcome.MISMATCH and f"gd.{key}" in {m.path for m in rep.mismatches}
    assert audit(paper[0], dense_m=DENSE_M, replay_gd=True).outcome is Outcome.CLEAN  # nothing to replay


def test_low_labels_above_the_limit_are_not_re_derivable():
    led = Ledger()
    cert = {"parameters": {"n": 4, "S": 5, "m": 12, "seed": 3, "z_dist": "rademacher", "labels": "low"},
            "inputs": {}}
    a = audit_arrays.regenerate(3, 4, 5, 12, "rademacher", "low")
    for k, v in a.items():
        cert["inputs"][k] = {"sha256": audit_arrays.digest(v), "shape": list(v.shape), "dtype": "float64",
                             "source": "sampled"}
    got = audit_arrays.obtain(cert, None, None, led, dense_m=DENSE_M)
    assert got.arrays is not None and "y" not in got.arrays
    assert [c.path for c in led.cannots] == ["inputs.y.sha256"] and not led.mismatches
    assert "y" in audit_arrays.obtain(cert, None, None, Ledger(), dense_m=None).arrays


def test_memory_estimate_is_the_blocked_one(monkeypatch):
    n, S, m = 100, 500, 20_000
    blocked = audit_arrays.work_bytes(n, S, m, stats.DENSE_M)
    assert blocked < 2 * 2**30 < 16 * 8 * m * m <= audit_arrays.work_bytes(n, S, m)
    monkeypatch.setattr(audit_arrays, "available_bytes", lambda: blocked - 1)
    assert "blocked" in audit_arrays.too_large(n, S, m, stats.DENSE_M)
    monkeypatch.setattr(audit_arrays, "available_bytes", lambda: blocked + 1)
    assert audit_arrays.too_large(n, S, m, stats.DENSE_M) is None
    assert audit_arrays.too_large(n, S, m) is not None


def test_schema1_thresholds_above_the_limit_are_not_re_derivable():
    """Version 1's (29), (30) thresholds read lambda_min of the m x m limit kernels: exit 3, no
    mismatch, never a false clean."""
    p = ROOT / "tests" / "data" / "schema1_small.json"
    r = audit(p, dense_m=3)
    assert r.outcome is Outcome.INCOMPLETE and not r.mismatches
    assert [c.path for c in r.cannot] == ["properties"] and "limit kernels" in r.cannot[0].why
    assert audit(p).outcome is Outcome.CLEAN


def test_null_limit_kernels_are_no_claim_only_when_the_certificate_says_so(paper, tmp_path):
    """Verify above its own limit writes the limit-kernel values as null with ``limit_kernels``
    saying why: no claim, listed as not vouched (also by the dense audit); a null without that
    sentence is a wrong value."""
    def null(c, why):
        for base in (c["properties"]["29"]["details"], c["diagnostics"]["X"]):
            for k in stats.LIMIT_KEYS:
                if k in base:
                    base[k] = None
            if why:
                base["limit_kernels"] = "not computed: m = 60 > dense_limit 10"

    r = audit(_tampered(tmp_path, paper[1], lambda c: null(c, True)))
    assert r.outcome is Outcome.CLEAN and not r.unvouched
    why = dict(r.not_vouched)
    assert why["properties.29.details.lambda_min_Hw"] == stats.NULL_LIMIT == why["diagnostics.X.lambda_min_Hz"]
    r = audit(_tampered(tmp_path, paper[1], lambda c: null(c, False)))
    assert r.outcome is Outcome.MISMATCH and "properties.29.details.lambda_min_Hw" in {m.path for m in r.mismatches}
