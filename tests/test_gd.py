"""Gradient descent (12): against an independent implementation, finite differences, the stop
rules, the labels of Section 4, and the paper's Table 1 on short configurations (issue 4)."""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qrcheck import InputError, gd_kernel
from qrcheck.cli import app
from qrcheck.draw import labels_from, make_draw, streams
from qrcheck.gd import GDConfig, GDStatus, run_gd
from qrcheck.gd_report import decode_trajectory, trajectory_stride
from qrcheck.rates import paper_eta_w

runner = CliRunner()




# ---- an independent few-line implementation of (12) -----------------------------------------
def khatri_rao(B, X):
    """(B * X), Sn x m: column j is B^j (x) X^j (the Jacobian of f in W, Section 3)."""
    S, m = B.shape
    return np.einsum("sj,ij->sij", B, X).reshape(S * X.shape[0], m)


def reference_gd(X, W0, z0, y, eta_w, eta_z, tol, max_steps):
    """(12) with the explicit Jacobian: grad_W = (B * X) e, grad_z = F e; same stop rules."""
    S, n = W0.shape
    W, z = W0.copy(), z0.copy()
    A0 = W0 @ X > 0
    changed = np.zeros_like(A0)
    e = np.where(W @ X > 0, W @ X, 0.0).T @ z - y
    errs = [np.linalg.norm(e)]
    while errs[-1] >= tol and len(errs) - 1 < max_steps:
        P = W @ X
        F = np.where(P > 0, P, 0.0)
        grad_W = (khatri_rao(z[:, None] * (P > 0), X) @ e).reshape(S, n)
        W, z = W - eta_w * grad_W, z - eta_z * (F @ e)
        P = W @ X
        changed |= (P > 0) != A0
        e = np.where(P > 0, P, 0.0).T @ z - y
        errs.append(np.linalg.norm(e))
        if errs[-1] > errs[-2]:
            break
    return len(errs) - 1, np.array(errs), changed, W, z


def lambda_min_H(X, z, W):
    """lambda_min((B * X)^T (B * X)) from the explicit Khatri-Rao product."""
    K = khatri_rao(z[:, None] * (W @ X > 0), X)
    return np.linalg.eigvalsh(K.T @ K)[0]


def small_problem(seed, n=6, S=30, m=8, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m))
    X /= np.linalg.norm(X, axis=0)
    W0 = rng.standard_normal((S, n))
    z0 = rng.choice([-1.0, 1.0], S)
    y = rng.normal(0, scale * math.sqrt(S), m)
    return X, W0, z0, y


@pytest.mark.parametrize("seed,eta_w,eta_z", [(0, 5e-3, 0.0), (1, 1e-2, 0.0), (2, 5e-3, 2e-3),
                                              (3, 0.0, 5e-3), (4, 0.2, 0.0)])
def test_matches_independent_implementation(seed, eta_w, eta_z):
    X, W0, z0, y = small_problem(seed)
    cfg = GDConfig(eta_w=eta_w, eta_z=eta_z, tol=1e-3, max_steps=3000)
    r = run_gd(X, W0, z0, y, cfg)
    T, errs, changed, W, z = reference_gd(X, W0, z0, y, eta_w, eta_z, cfg.tol, cfg.max_steps)
    assert r.T == T
    assert r.D == int(changed.sum())
    assert np.array_equal(r.changed, changed)
    np.testing.assert_allclose(r.errors, errs, rtol=1e-9, atol=1e-12)
    assert r.W_distance == pytest.approx(np.linalg.norm(W - W0), rel=1e-9, abs=1e-12)
    assert r.z_distance == pytest.approx(np.linalg.norm(z - z0), rel=1e-9, abs=1e-12)
    assert r.kappa_H == pytest.approx(lambda_min_H(X, z, W) / lambda_min_H(X, z0, W0), rel=1e-8)
    expected = ("converged" if errs[-1] < cfg.tol else "diverged" if T and errs[-1] > errs[-2]
                else "max_steps")
    assert r.status == expected
    if eta_z > 0:
        G = lambda W, z: np.linalg.eigvalsh(np.maximum(W @ X, 0).T @ np.maximum(W @ X, 0))[0]  # noqa: E731
        assert r.kappa_G == pytest.approx(G(W, z) / G(W0, z0), rel=1e-8)
    else:
        assert r.kappa_G is None and r.lambda_min_G0 is None


def test_paper_run_diverges_like_reference_when_the_rate_is_too_large():
    X, W0, z0, y = small_problem(7)
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=0.2, tol=1e-3, max_steps=500))
    T, errs, *_ = reference_gd(X, W0, z0, y, 0.2, 0.0, 1e-3, 500)
    assert r.outcome is GDStatus.DIVERGED and r.T == T and r.errors[-1] > r.errors[-2]


# ---- the gradient against finite differences ---------------------------------------------------
def loss(W, z, X, y):
    """l = ||e||^2 / 2 with e = relu(W X)^T z - y (Section 2.3)."""
    return 0.5 * np.sum((np.maximum(W @ X, 0).T @ z - y) ** 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_matches_finite_differences_at_regular_points(seed):
    X, W0, z0, y = small_problem(seed, n=4, S=7, m=5)
    z0 = np.random.default_rng(seed).standard_normal(7)
    assert np.abs(W0 @ X).min() > 1e-3          # regular, and h below keeps every sign
    # one step with eta = 1 exposes the gradient: W_1 = W_0 - grad_W, z_1 = z_0 - grad_z
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=1.0, eta_z=1.0, tol=0.0, max_steps=1))
    grad_W, grad_z = W0 - r.W_T, z0 - r.z_T
    h = 1e-6
    fd_W = np.zeros_like(W0)
    for idx in np.ndindex(*W0.shape):
        E = np.zeros_like(W0)
        E[idx] = h
        fd_W[idx] = (loss(W0 + E, z0, X, y) - loss(W0 - E, z0, X, y)) / (2 * h)
    fd_z = np.array([(loss(W0, z0 + h * u, X, y) - loss(W0, z0 - h * u, X, y)) / (2 * h)
                     for u in np.eye(7)])
    np.testing.assert_allclose(grad_W, fd_W, rtol=1e-6, atol=1e-6 * np.abs(fd_W).max())
    np.testing.assert_allclose(grad_z, fd_z, rtol=1e-6, atol=1e-6 * np.abs(fd_z).max())


# ---- stop rules --------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), S=st.integers(2, 16), m=st.integers(1, 8),
       eta_w=st.floats(1e-4, 0.5), eta_z=st.sampled_from([0.0, 1e-3, 0.05]))
def test_error_never_rises_before_the_safety_valve(seed, n, S, m, eta_w, eta_z):
    X, W0, z0, y = small_problem(seed, n, S, m)
    tol = 1e-3
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=eta_w, eta_z=eta_z, tol=tol, max_steps=300))
    e = r.errors
    assert len(e) == r.T + 1
    assert np.all(np.diff(e[:-1]) <= 0)          # monotone up to the last step
    assert np.all(e[:-1] >= tol)                  # no earlier success was missed
    if r.outcome is GDStatus.DIVERGED:
        assert r.T >= 1 and not e[-1] <= e[-2]
    elif r.outcome is GDStatus.CONVERGED:
        assert e[-1] < tol and (r.T == 0 or e[-1] <= e[-2])
    else:
        assert r.T == 300 and e[-1] >= tol and e[-1] <= e[-2]


def test_eta_w_zero_keeps_W_and_eta_z_zero_keeps_z():
    X, W0, z0, y = small_problem(3)
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=0.0, eta_z=1e-2, max_steps=50))
    assert r.T > 0 and np.array_equal(r.W_T, W0) and r.D == 0 and r.W_distance == 0.0
    assert not np.array_equal(r.z_T, z0)
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=1e-2, eta_z=0.0, max_steps=50))
    assert r.T > 0 and np.array_equal(r.z_T, z0) and r.z_distance == 0.0
    assert not np.array_equal(r.W_T, W0)


def test_max_steps_and_immediate_success():
    X, W0, z0, y = small_problem(5)
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=1e-3, max_steps=3))
    assert r.outcome is GDStatus.MAX_STEPS and r.T == 3 and len(r.errors) == 4
    f0 = np.maximum(W0 @ X, 0).T @ z0
    r = run_gd(X, W0, z0, f0, GDConfig(eta_w=1e-3))
    assert r.outcome is GDStatus.CONVERGED and r.T == 0 and r.final_error < 1e-12 and r.seconds_per_step == 0.0


def test_invalid_rates_and_shapes_are_input_errors():
    X, W0, z0, y = small_problem(0)
    with pytest.raises(InputError, match="eta_w \\+ eta_z"):
        run_gd(X, W0, z0, y, GDConfig(eta_w=0.0, eta_z=0.0))
    with pytest.raises(InputError, match="inconsistent shapes"):
        run_gd(X, W0, z0, y[:-1], GDConfig())
    with pytest.raises(InputError, match="finite"):
        run_gd(X, W0, z0, y, GDConfig(eta_w=float("nan")))


def test_singular_points_are_reported():
    X, W0, z0, y = small_problem(0, n=3, S=5, m=4)
    W0 = W0.copy()
    W0[2] = 0.0                                   # a zero row: W0 X has exact zeros at t = 0
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=1e-3, max_steps=2))
    assert r.singular_points >= 4 and r.singular_steps[0] == 0


def test_bookkeeping_of_the_change_graph():
    X, W0, z0, y = small_problem(11, n=5, S=40, m=12)
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=1e-2, max_steps=2000), n_star=2)
    _, _, changed, W, _ = reference_gd(X, W0, z0, y, 1e-2, 0.0, 1e-3, 2000)
    c = r.changes
    assert np.array_equal(c.data_degrees, changed.sum(axis=0))
    assert np.array_equal(c.neuron_degrees, changed.sum(axis=1))
    deg = changed.sum(axis=0)
    assert len(c.J) == min(12, 5) and deg[c.J].min() >= np.delete(deg, c.J).max()
    assert c.s_high == deg[c.J].min() and c.s_low == np.delete(deg, c.J).max()
    assert c.co_Gamma == int((changed.sum(axis=1) > 2).sum())
    assert r.step_flips.sum() >= r.D and c.max_step_flips == r.step_flips.max()
    Delta = (W @ X > 0).astype(float) - (W0 @ X > 0)
    K = khatri_rao(Delta, X)
    assert c.norm_60 == pytest.approx(np.linalg.norm(K, 2), rel=1e-9)


def test_track_every_records_lambda_min_H_t():
    X, W0, z0, y = small_problem(2)
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=5e-3, track_every=10))
    ts = [c.t for c in r.checkpoints]
    assert ts == list(range(0, r.T + 1, 10))
    assert r.checkpoints[0].lambda_min_H == pytest.approx(r.lambda_min_H0, rel=1e-12)
    _, errs, _, _, _ = reference_gd(X, W0, z0, y, 5e-3, 0.0, 1e-3, 10)
    W10 = reference_gd(X, W0, z0, y, 5e-3, 0.0, 0.0, 10)[3]
    assert r.checkpoints[1].lambda_min_H == pytest.approx(lambda_min_H(X, z0, W10), rel=1e-8)
    assert r.checkpoints[1].W_distance == pytest.approx(np.linalg.norm(W10 - W0), rel=1e-9)


def test_json_trajectory_is_compact_and_decodes():
    X, W0, z0, y = small_problem(1)
    r = run_gd(X, W0, z0, y, GDConfig(eta_w=1e-3))
    js = r.to_json()
    assert js["T"] == r.T and js["status"] == r.status
    full = decode_trajectory(js["error_trajectory_f32"])
    np.testing.assert_allclose(full, r.errors, rtol=1e-6)
    k = js["error_trajectory_stride"]
    assert k == trajectory_stride(r.T) and len(js["error_trajectory"]) <= 1002
    t = list(range(0, r.T + 1, k)) + ([r.T] if r.T % k else [])
    np.testing.assert_array_equal(js["error_trajectory"], r.errors[t])
    assert trajectory_stride(30_000) == 30 and trajectory_stride(1000) == 1


# ---- labels (CONTRACT, Section 4) --------------------------------------------------------------
def _labels(kind, n=6, S=20, m=9, seed=4):
    d = make_draw(n=n, S=S, m=m, seed=seed, labels=kind)
    f0 = np.maximum(d.W0 @ d.X, 0).T @ d.z0
    return d, f0, f0 - d.y


def test_local_labels():
    d, f0, e0 = _labels("local")
    target = np.zeros(d.m)
    target[0] = math.sqrt(d.m * d.S)
    np.testing.assert_allclose(e0, target, rtol=0, atol=1e-12 * math.sqrt(d.m * d.S))


def test_high_labels():
    d, f0, e0 = _labels("high")
    np.testing.assert_allclose(e0, math.sqrt(d.n * d.S) * (d.X.T @ d.X[:, 0]), rtol=1e-12, atol=1e-12)


def test_low_labels_are_the_bottom_eigenvector_of_H0():
    d, f0, e0 = _labels("low")
    K = khatri_rao(d.z0[:, None] * (d.W0 @ d.X > 0), d.X)
    H0 = K.T @ K
    lam = np.linalg.eigvalsh(H0)[0]
    assert np.linalg.norm(e0) == pytest.approx(math.sqrt(d.m * d.S), rel=1e-12)
    np.testing.assert_allclose(H0 @ e0, lam * e0, atol=1e-9 * np.linalg.norm(H0, 2) * np.linalg.norm(e0))


def test_gaussian_labels_have_variance_S():
    d = make_draw(n=3, S=50, m=20_000, seed=1)
    assert d.y.mean() == pytest.approx(0, abs=4 * math.sqrt(50 / 20_000))
    assert d.y.var() == pytest.approx(50, rel=0.05)
    rng = streams(1)["y"]
    np.testing.assert_array_equal(d.y, labels_from("gaussian", rng, d.X, d.W0, d.z0))


# ---- Section 4 on short configurations ------------------------------------------------------
def paper_means(S, m, seeds, labels="gaussian"):
    rows = []
    for seed in seeds:
        d = make_draw(n=100, S=S, m=m, seed=seed, labels=labels)
        r = run_gd(d.X, d.W0, d.z0, d.y, GDConfig(eta_w=paper_eta_w(S, m)))
        assert r.outcome is GDStatus.CONVERGED
        rows.append((r.T, r.kappa_H, r.D, r.W_distance))
    return np.mean(rows, axis=0)


def within(value, lo, hi, slack=0.05):
    """Inside the paper's range over 10 draws, widened by ``slack`` (a mean of 3 draws)."""
    return lo * (1 - slack) <= value <= hi * (1 + slack)


@pytest.mark.parametrize("S,m,ranges", [
    (500, 300, ((129, 137), (0.95, 0.98), (8453, 9347), (32.96, 37.27))),
    (100, 100, ((468, 624), (0.89, 1.00), (657, 1024), (15.91, 22.86))),
])
def test_table_1_means_over_three_draws(S, m, ranges):
    means = paper_means(S, m, seeds=(0, 1, 2))
    for name, v, (lo, hi) in zip(("T", "kappa_H", "D", "W_distance"), means, ranges):
        assert within(v, lo, hi), (name, v, lo, hi)


def test_paper_eta_w():
    assert paper_eta_w(500, 300) == 1e-3 and paper_eta_w(500, 900) == 5e-4
    assert paper_eta_w(1000, 1000) == 2e-4 and paper_eta_w(1000, 800) == 1e-3 and paper_eta_w(100, 5000) == 1e-3


@pytest.mark.parametrize("m,expected", [(1000, GDStatus.CONVERGED), (2000, GDStatus.DIVERGED)])
def test_local_labels_converge_at_m_1000_and_abort_at_m_2000(m, expected):
    """Section 4, n = S = 100, local labels: m = 1000 converged 19 times out of 20, m = 2000 was
    aborted by the safety valve ||e_t|| > ||e_{t-1}|| in every attempt."""
    d = make_draw(n=100, S=100, m=m, seed=0, labels="local")
    r = run_gd(d.X, d.W0, d.z0, d.y, GDConfig(eta_w=1e-3))
    assert r.outcome is expected
    if expected is GDStatus.DIVERGED:
        assert r.errors[-1] > r.errors[-2]


@pytest.mark.parametrize("labels", ["low", "high"])
def test_low_and_high_labels_converge_at_S_100(labels):
    d = make_draw(n=100, S=100, m=200, seed=0, labels=labels)
    r = run_gd(d.X, d.W0, d.z0, d.y, GDConfig(eta_w=1e-3))
    assert r.outcome is GDStatus.CONVERGED


# ---- the command line on given arrays (acceptance) -----------------------------------------
@pytest.fixture
def given_arrays(foreign_arrays):
    return foreign_arrays(77, 12, 50, 16, z0="rademacher", y=True)


def test_cli_on_given_arrays_matches_independent_gd(given_arrays, tmp_path):
    arr, p = given_arrays
    out, graph = tmp_path / "c.json", tmp_path / "D.graphml"
    args = ["verify", *sum(([f"--{k}", str(v)] for k, v in p.items()), []), "--force", "--eta-w", "5e-3",
            "--out", str(out), "--export-graph", str(graph), "--track-every", "25"]
    r = runner.invoke(app, args)
    assert r.exit_code in (0, 1), r.output
    gd = json.loads(out.read_text())["gd"]
    T, errs, changed, W, z = reference_gd(arr["X"], arr["W0"], arr["z0"], arr["y"], 5e-3, 0.0, 1e-3, 100_000)
    assert gd["ran"] and gd["T"] == T
    assert abs(gd["D"] - int(changed.sum())) <= 2
    assert gd["W_distance"] == pytest.approx(np.linalg.norm(W - arr["W0"]), rel=1e-6)
    kappa = lambda_min_H(arr["X"], z, W) / lambda_min_H(arr["X"], arr["z0"], arr["W0"])
    assert gd["kappa_H"] == pytest.approx(kappa, rel=1e-6)
    assert gd["seconds_per_step"] > 0 and gd["wall_seconds"] >= gd["seconds_per_step"] * T
    assert [c["t"] for c in gd["checkpoints"]] == list(range(0, T + 1, 25))
    nx = pytest.importorskip("networkx")
    g = nx.read_graphml(graph)
    assert g.number_of_nodes() == 50 + 16 and g.number_of_edges() == gd["D"]
    assert {d["bipartite"] for _, d in g.nodes(data=True)} == {0, 1}


def test_export_graph_without_networkx_is_one_line(given_arrays, tmp_path, monkeypatch):
    import sys

    _, p = given_arrays
    monkeypatch.setitem(sys.modules, "networkx", None)
    r = runner.invoke(app, ["verify", "--X", str(p["X"]), "--W0", str(p["W0"]), "--z0", str(p["z0"]),
                            "--export-graph", str(tmp_path / "g.graphml")])
    assert r.exit_code == 2 and "networkx" in r.output and not (tmp_path / "g.graphml").exists()


def assert_same_run(a, b, exact: bool) -> None:
    """Two GD runs agree: T, status, D, the flips, singular points and steps, the change graph and
    its per-neuron counts equal; errors and W_T bitwise (exact) or to rounding."""
    assert (a.T, a.D, a.status, a.singular_points, a.singular_steps) == \
        (b.T, b.D, b.status, b.singular_points, b.singular_steps)
    np.testing.assert_array_equal(a.step_flips, b.step_flips)
    np.testing.assert_array_equal(a.changed, b.changed)
    ja, jb = a.changes.to_json(), b.changes.to_json()
    if exact:
        assert a.errors.tobytes() == b.errors.tobytes() and a.W_T.tobytes() == b.W_T.tobytes() and ja == jb
    else:
        np.testing.assert_allclose(a.errors, b.errors, rtol=1e-12)
        np.testing.assert_allclose(a.W_T, b.W_T, rtol=1e-12, atol=1e-14)
        assert ja.pop("norm_60") == pytest.approx(jb.pop("norm_60"), rel=1e-12) and ja == jb


KERNELS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(gd_kernel.compiled() is None,
                                                                    reason="numba not installed"))]


@pytest.fixture(params=["shared_Xe", "block_masked"])
def fused_gradient(request, monkeypatch):
    """Both ways "fused" feeds the gradient GEMM: the shared X diag(e) with the 0/1 mask kept at the
    flips (S > XE_ROWS_PER_N n), or each block's A o 1 e^T (else)."""
    import qrcheck.gd as gd_module

    monkeypatch.setattr(gd_module, "XE_ROWS_PER_N", 0 if request.param == "shared_Xe" else 10**9)
    return request.param


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("mode", ["fused", "split"])
def test_blocked_modes_match_serial(mode, kernel, fused_gradient):
    """The row-block steps give the serial step's run up to rounding (docs/gd.md: GEMM partitions
    and the blocks' F^T z sum in another order), and the fused mode restores the BLAS thread count."""
    from threadpoolctl import threadpool_info

    d = make_draw(n=12, S=50, m=40, seed=3)
    cfg = GDConfig(eta_w=5e-3, tol=1e-3, max_steps=300)
    for keep_mask in (False, True):                     # numba may load scipy's BLAS on first use
        gd_kernel.warm_up(gd_kernel.select(kernel), keep_mask)
    before = [i["num_threads"] for i in threadpool_info()]
    ser = run_gd(d.X, d.W0, d.z0, d.y, cfg, mode="serial")
    blk = run_gd(d.X, d.W0, d.z0, d.y, cfg, mode=mode, threads=3, kernel=kernel)
    assert [i["num_threads"] for i in threadpool_info()] == before
    assert_same_run(blk, ser, exact=False)
    with pytest.raises(InputError, match="mode"):
        run_gd(d.X, d.W0, d.z0, d.y, cfg, mode="bogus")
    with pytest.raises(InputError, match="kernel"):
        run_gd(d.X, d.W0, d.z0, d.y, cfg, kernel="bogus")


def singular_flippy_problem():
    """A draw whose W_t X has exact zeros at every step (a zero row of W0 with z0 = 0 there never
    moves) and whose steps flip many pairs (a large rate, a small n*)."""
    d = make_draw(n=10, S=40, m=30, seed=5)
    W0, z0 = d.W0.copy(), d.z0.copy()
    W0[7], z0[7] = 0.0, 0.0
    return d.X, W0, z0, d.y, GDConfig(eta_w=0.01, tol=1e-3, max_steps=300)


@pytest.mark.skipif(gd_kernel.compiled() is None, reason="numba not installed")
@pytest.mark.parametrize("mode", ["fused", "split"])
def test_numba_sweep_is_bitwise_the_numpy_sweep(mode, fused_gradient):
    """The compiled sweep and the numpy passes give bitwise the same run, exact zeros and many
    flips included, and both match the serial step (T, D, flips, zeros, per-neuron counts)."""
    X, W0, z0, y, cfg = singular_flippy_problem()
    runs = {k: run_gd(X, W0, z0, y, cfg, n_star=2, mode=mode, threads=3, kernel=k) for k in ("numba", "numpy")}
    ser = run_gd(X, W0, z0, y, cfg, n_star=2, mode="serial")
    r = runs["numba"]
    assert r.singular_points >= 30 * (r.T + 1) and r.singular_steps[:3] == (0, 1, 2)
    assert r.T == 300 and r.step_flips.min() > 0 and r.changes.steps_over_n_star > 100
    assert_same_run(r, runs["numpy"], exact=True)
    assert_same_run(r, ser, exact=False)


@pytest.mark.skipif(gd_kernel.compiled() is None, reason="numba not installed")
def test_sweep_kernels_agree_on_signed_zeros_nans_and_flips():
    """The compiled and the numpy sweep and masked scale on one block with +-0, NaN, inf and dense
    flips: the same bytes in every output (relu(p) = p * a and a * e_j keep -0.0 and NaN in both)
    and the same counts, with and without the 0/1 mask kept."""
    rng = np.random.default_rng(0)
    P = rng.standard_normal((7, 33))
    P.flat[::5] = 0.0
    P.flat[1::7] = -0.0
    P.flat[2::11] = np.nan
    P[3, :4] = [np.inf, -np.inf, 1e-300, -1e-300]
    e = P[4].copy()
    A_old = rng.random(P.shape) < 0.5
    changed = rng.random(P.shape) < 0.1
    outs = []
    for k in (gd_kernel.compiled(), gd_kernel.NUMPY):
        arrs = [P.copy(), np.empty(P.shape, bool), A_old.copy(), A_old.astype(float), changed.copy()]
        no_mask = [P.copy(), np.empty(P.shape, bool), A_old.copy(), None, changed.copy()]
        scaled = np.empty(P.shape)
        with np.errstate(invalid="ignore"):            # -inf * 0 = NaN, as (P + |P|) / 2 in serial
            counts = [k.sweep(*a, np.empty(P.shape, bool), 3) for a in (arrs, no_mask)]
            k.masked_scale(A_old, e, scaled)
        outs.append((counts, [a.tobytes() for a in arrs + no_mask if a is not None], scaled.tobytes()))
    assert outs[0] == outs[1]
    counts = outs[0][0]
    assert counts[0] == counts[1] and counts[0][0] == int(np.count_nonzero(P == 0.0)) and counts[0][2] > 0


def test_without_numba_the_numpy_sweep_runs(monkeypatch):
    """With numba absent, "auto" runs the numpy passes (the same run as kernel="numpy", and the
    serial run's T, D, flips, zeros and counts) and kernel="numba" is a one-line InputError."""
    X, W0, z0, y, cfg = singular_flippy_problem()
    ref = run_gd(X, W0, z0, y, cfg, n_star=2, mode="fused", threads=2, kernel="numpy")
    assert_same_run(ref, run_gd(X, W0, z0, y, cfg, n_star=2, mode="serial"), exact=False)
    monkeypatch.setattr(gd_kernel, "compiled", lambda: None)
    assert gd_kernel.select("auto") is gd_kernel.NUMPY
    assert_same_run(run_gd(X, W0, z0, y, cfg, n_star=2, mode="fused", threads=2), ref, exact=True)
    with pytest.raises(InputError, match="needs numba"):
        run_gd(X, W0, z0, y, cfg, mode="fused", kernel="numba")


def test_eigenvalues_false_skips_only_the_final_spectra():
    """eigenvalues=False (benchmarks) gives the same run with NaN lambda_min's and norm_60."""
    X, W0, z0, y = small_problem(4, n=5, S=20, m=10)
    cfg = GDConfig(eta_w=1e-2, max_steps=50)
    a, b = run_gd(X, W0, z0, y, cfg), run_gd(X, W0, z0, y, cfg, eigenvalues=False)
    assert a.errors.tobytes() == b.errors.tobytes() and a.D == b.D and b.spectral == {}
    assert math.isnan(b.lambda_min_HT) and math.isnan(b.kappa_H) and math.isnan(b.changes.norm_60)


@pytest.mark.parametrize("mode", ["serial", "fused", "split"])
def test_an_overflowing_run_is_a_result_without_warnings_in_every_mode(mode):
    """eta_w = 1e305 on W0 scaled by 1e150 overflows in the first step: status diverged at T = 1,
    and no RuntimeWarning from the loop or from the row-block threads (numpy's error state is per
    thread)."""
    import warnings

    d = make_draw(n=10, S=100, m=12, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = run_gd(d.X, d.W0 * 1e150, d.z0, d.y, GDConfig(eta_w=1e305, max_steps=50), mode=mode, threads=2)
    assert r.status == "diverged" and r.T == 1 and not math.isfinite(r.final_error)
