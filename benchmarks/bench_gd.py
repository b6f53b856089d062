"""Cost of one step of gradient descent (12) against its floor, two bare GEMMs of the same shapes.

    python benchmarks/bench_gd.py [--n 100 --S 1000 --m 1000 --steps 30 --repeats 7]

One step of :func:`qrcheck.gd.run_gd` (its ``seconds_per_step``: the update, the masks, the errors
and the |D| bookkeeping, no eigenvalues) is compared with two bare GEMMs, S x n by n x m and
S x m by m x n, timed in the same process, interleaved with the GD runs, so that machine load
hits both alike. Prints the median ratio and its range over the repeats, and the best-of ratio
(fastest step over fastest GEMM pair, the least load-sensitive figure). When torch is
importable (the optional extra ``torch``), a straightforward PyTorch autograd implementation of the
same step (float64, CPU, same |D| bookkeeping) is timed side by side.

Results and the machine they were measured on: docs/gd.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from qrcheck.draw import make_draw
from qrcheck.gd import GDConfig, paper_eta_w, run_gd


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "?"
    return ",".join(str(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas") or "?"


def time_gemms(W: np.ndarray, X: np.ndarray, M: np.ndarray, steps: int) -> float:
    """Mean seconds of the pair P = W X (S x n by n x m), G = M X^T (S x m by m x n)."""
    P = np.empty((W.shape[0], X.shape[1]))
    G = np.empty(W.shape)
    np.matmul(W, X, out=P)
    np.matmul(M, X.T, out=G)
    t0 = time.perf_counter()
    for _ in range(steps):
        np.matmul(W, X, out=P)
        np.matmul(M, X.T, out=G)
    return (time.perf_counter() - t0) / steps


def torch_step_seconds(X, W0, z0, y, eta_w: float, steps: int) -> float | None:
    """Mean seconds of a naive autograd step of (12) in PyTorch (None when torch is missing)."""
    try:
        import torch
    except ImportError:
        return None
    Xt, zt, yt = (torch.from_numpy(np.asarray(a)) for a in (X, z0, y))
    W = torch.from_numpy(np.array(W0)).requires_grad_(True)
    with torch.no_grad():
        A0 = (W @ Xt) > 0
    changed = torch.zeros_like(A0)

    def step():
        P = W @ Xt
        loss = 0.5 * ((torch.relu(P).T @ zt - yt) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            W -= eta_w * W.grad
            W.grad = None
            changed.logical_or_((W @ Xt > 0) != A0)

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--S", type=int, default=1000)
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=30, help="GD steps (and GEMM pairs) per repeat")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS threads (threadpoolctl); default: leave the BLAS default")
    a = ap.parse_args()
    if a.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=a.threads, user_api="blas")

    d = make_draw(n=a.n, S=a.S, m=a.m, seed=a.seed)
    eta_w = paper_eta_w(a.S, a.m)
    cfg = GDConfig(eta_w=eta_w, eta_z=0.0, tol=1e-300, max_steps=a.steps)
    M = np.random.default_rng(1).standard_normal((a.S, a.m))
    run_gd(d.X, d.W0, d.z0, d.y, GDConfig(eta_w=eta_w, tol=1e-300, max_steps=2))  # warm up

    gd_s, gemm_s, torch_s = [], [], []
    for _ in range(a.repeats):
        r = run_gd(d.X, d.W0, d.z0, d.y, cfg)
        if r.T != a.steps:
            raise SystemExit(f"GD stopped early ({r.status} at T = {r.T}); use fewer --steps")
        gd_s.append(r.seconds_per_step)
        gemm_s.append(time_gemms(d.W0, d.X, M, a.steps))
        t = torch_step_seconds(d.X, d.W0, d.z0, d.y, eta_w, a.steps)
        if t is not None:
            torch_s.append(t)

    ratios = [g / b for g, b in zip(gd_s, gemm_s)]
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, numpy {np.__version__}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}, "
          f"BLAS threads {blas_threads()}, load average {os.getloadavg()[0]:.2f}")
    print(f"(n, S, m) = ({a.n}, {a.S}, {a.m}), eta_w = {eta_w:g}, {a.steps} steps x {a.repeats} repeats")
    print(f"two bare GEMMs      : {statistics.median(gemm_s) * 1e3:8.3f} ms (median)")
    print(f"qrcheck GD step     : {statistics.median(gd_s) * 1e3:8.3f} ms (median)")
    print(f"ratio step / GEMMs  : {statistics.median(ratios):.3f} median of the repeats "
          f"(range {min(ratios):.3f} - {max(ratios):.3f}); best-of {min(gd_s) / min(gemm_s):.3f}; "
          f"target <= 1.25, limit 1.5")
    if torch_s:
        tr = [t / b for t, b in zip(torch_s, gemm_s)]
        import torch

        print(f"torch autograd step : {statistics.median(torch_s) * 1e3:8.3f} ms (median), ratio "
              f"{statistics.median(tr):.3f} (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    else:
        print("torch autograd step : torch not installed (optional extra 'torch')")


if __name__ == "__main__":
    main()
