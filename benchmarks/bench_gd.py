"""Cost of one step of gradient descent (12) against its floor, two bare GEMMs of the same shapes.

    python benchmarks/bench_gd.py [--shapes 100,1000,1000 100,100,5000 --steps 40 --repeats 9]

For each (n, S, m), one step of :func:`qrcheck.gd.run_gd` in each of its layouts (its
``seconds_per_step``: the update, the masks, the errors, the exact-zero check, D, the flips and the
per-neuron counts; no eigenvalues) is compared with two bare GEMMs, S x n by n x m and S x m by
m x n, at the BLAS's own thread count, timed in the same process and interleaved with the GD runs
so that machine load hits all alike:

* ``serial``: numpy calls on whole arrays (the GEMMs multithreaded, the O(Sm) passes on one core);
* ``split``: whole-array GEMMs, then the O(Sm) passes in row blocks, one per thread (numba's sweep
  when installed);
* ``fused-numpy``: the whole step in row blocks, one per thread, each block's two GEMMs at one BLAS
  thread directly followed by its elementwise passes as numpy calls (its block of P still in cache);
* ``fused-numba``: the same with the passes as one compiled sweep (:mod:`qrcheck.gd_kernel`; the
  optional extra ``fast``), the default when numba is installed;
* ``gemms-blocked``: the GEMM pair alone in ``fused``'s layout (two row blocks in two Python threads
  at one BLAS thread each), the floor of ``fused``: on a loaded machine multithreaded OpenBLAS
  degrades far more than this, so compare ``fused`` against both;
* ``torch``: a naive PyTorch autograd step (float64, CPU, with the same D bookkeeping), when torch
  is installed (the optional extra ``torch``), timed in a child process against that process's own
  GEMM pair: with torch imported, this process's GEMM pair ran ~13% faster and the other ratios
  moved with it (docs/gd.md).

Each variant is timed after a 0.2 s pause, so that OpenBLAS's worker threads, which spin for about
0.1 s after a multithreaded call, are asleep as they are in a long run (docs/gd.md). Prints the
median ratio to the GEMM pair with its range over the repeats and the best-of ratio, and how far
each mode's results are from ``serial``'s. Results and the machine: docs/gd.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from qrcheck import gd_kernel
from qrcheck.draw import make_draw
from qrcheck.gd import GDConfig, run_gd
from qrcheck.rates import paper_eta_w

# name -> run_gd keywords; "fused-numba" only with numba installed
VARIANTS = {"serial": {"mode": "serial"}, "split": {"mode": "split"},
            "fused-numpy": {"mode": "fused", "kernel": "numpy"}, "fused-numba": {"mode": "fused", "kernel": "numba"}}
PAUSE = 0.2


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


def time_gemms_blocked(W: np.ndarray, X: np.ndarray, M: np.ndarray, steps: int, threads: int = 2) -> float:
    """Mean seconds of the same pair in row blocks, one per Python thread at one BLAS thread each:
    the GEMMs as ``fused`` lays them out, without its elementwise work (its floor)."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    S = W.shape[0]
    P = np.empty((S, X.shape[1]))
    G = np.empty(W.shape)
    bounds = np.linspace(0, S, threads + 1).astype(int)
    rows = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def block(r: slice) -> None:
        np.matmul(W[r], X, out=P[r])
        np.matmul(M[r], X.T, out=G[r])

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads - 1) as pool:
        block(rows[0])
        t0 = time.perf_counter()
        for _ in range(steps):
            futures = [pool.submit(block, r) for r in rows[1:]]
            block(rows[0])
            for fu in futures:
                fu.result()
        return (time.perf_counter() - t0) / steps


def torch_step_seconds(X, W0, z0, y, eta_w: float, steps: int) -> float | None:
    """Mean seconds of a naive autograd step of (12) in PyTorch (None when torch is missing)."""
    try:
        import torch
    except ImportError:
        return None
    Xt, zt, yt = (torch.from_numpy(np.array(a, dtype=np.float64)) for a in (X, z0, y))
    W = torch.from_numpy(np.array(W0)).requires_grad_(True)
    with torch.no_grad():
        A0 = (W @ Xt) > 0
    changed = torch.zeros_like(A0)

    def step():
        P = W @ Xt
        loss = 0.5 * ((torch.relu(P).T @ zt - yt) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            W.sub_(eta_w * W.grad)
            W.grad = None
            changed.logical_or_((W @ Xt > 0) != A0)

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


def bench_shape(n: int, S: int, m: int, steps: int, repeats: int, seed: int, threads: int | None = None) -> dict:
    """Median seconds of each variant and of the GEMM pair at one shape, interleaved."""
    d = make_draw(n=n, S=S, m=m, seed=seed)
    eta_w = paper_eta_w(S, m)
    cfg = GDConfig(eta_w=eta_w, eta_z=0.0, tol=1e-300, max_steps=steps)
    M = np.random.default_rng(1).standard_normal((S, m))
    variants = {k: v for k, v in VARIANTS.items() if k != "fused-numba" or gd_kernel.compiled() is not None}
    ref = {k: run_gd(d.X, d.W0, d.z0, d.y, cfg, eigenvalues=False, **kw) for k, kw in variants.items()}  # warm up
    times: dict[str, list[float]] = {k: [] for k in ("gemms", "gemms-blocked", *VARIANTS)}
    for _ in range(repeats):
        time.sleep(PAUSE)
        times["gemms"].append(time_gemms(d.W0, d.X, M, steps))
        time.sleep(PAUSE)
        times["gemms-blocked"].append(time_gemms_blocked(d.W0, d.X, M, steps))
        for k, kw in variants.items():
            time.sleep(PAUSE)
            r = run_gd(d.X, d.W0, d.z0, d.y, cfg, eigenvalues=False, **kw)   # time the loop only
            if r.T != steps:
                raise SystemExit(f"GD stopped early ({r.status} at T = {r.T}); use fewer --steps")
            times[k].append(r.seconds_per_step)
    base = ref["serial"]
    agree = {k: (float(np.max(np.abs(r.errors - base.errors) / base.errors)), r.D == base.D)
             for k, r in ref.items()}
    bitwise = ("fused-numba" in ref and ref["fused-numba"].errors.tobytes() == ref["fused-numpy"].errors.tobytes()
               and ref["fused-numba"].W_T.tobytes() == ref["fused-numpy"].W_T.tobytes())
    return {"times": times, "agree": agree, "bitwise": bitwise, "eta_w": eta_w,
            "torch": torch_ratios(n, S, m, steps, repeats, seed, threads)}


def torch_ratios(n: int, S: int, m: int, steps: int, repeats: int, seed: int,
                 threads: int | None = None) -> list[float] | None:
    """The torch peer in a child process (importing torch into this one changed the GEMM pair's
    speed by ~13%, docs/gd.md): ``repeats`` of (GEMM pair, torch step) interleaved there, each
    ratio against the child's own pair. None when torch is not installed."""
    import json
    import subprocess
    import sys

    cmd = [sys.executable, __file__, "--torch-child", f"{n},{S},{m},{steps},{repeats},{seed}"]
    child = subprocess.run(cmd + ([] if threads is None else ["--threads", str(threads)]), capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(f"torch peer failed: {child.stderr.strip().splitlines()[-1:]}")
    return json.loads(child.stdout)


def torch_child(spec: str, threads: int | None) -> None:
    """Run in the child: print the torch step / GEMM pair ratios as JSON (null without torch)."""
    import json

    n, S, m, steps, repeats, seed = (int(v) for v in spec.split(","))
    try:
        import torch  # noqa: F401
    except ImportError:
        print("null")
        return
    if threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
        torch.set_num_threads(threads)
    d = make_draw(n=n, S=S, m=m, seed=seed)
    eta_w = paper_eta_w(S, m)
    M = np.random.default_rng(1).standard_normal((S, m))
    torch_step_seconds(d.X, d.W0, d.z0, d.y, eta_w, 2)                    # warm up
    out = []
    for _ in range(repeats):
        time.sleep(PAUSE)
        g = time_gemms(d.W0, d.X, M, steps)
        time.sleep(PAUSE)
        out.append(torch_step_seconds(d.X, d.W0, d.z0, d.y, eta_w, steps) / g)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="+", default=["100,1000,1000", "100,100,5000"], help="n,S,m triples")
    ap.add_argument("--steps", type=int, default=40, help="GD steps (and GEMM pairs) per repeat")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS threads (threadpoolctl); default: leave the BLAS default")
    ap.add_argument("--torch-child", help=argparse.SUPPRESS)   # internal: the torch peer's process
    a = ap.parse_args()
    if a.torch_child:
        torch_child(a.torch_child, a.threads)
        return
    if a.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=a.threads, user_api="blas")
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, numpy {np.__version__}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}, "
          f"BLAS threads {blas_threads()}, load average {os.getloadavg()[0]:.2f}")
    for shape in a.shapes:
        n, S, m = (int(v) for v in shape.split(","))
        out = bench_shape(n, S, m, a.steps, a.repeats, a.seed, a.threads)
        t = out["times"]
        gem = t["gemms"]
        print(f"\n(n, S, m) = ({n}, {S}, {m}), eta_w = {out['eta_w']:g}, {a.steps} steps x {a.repeats} repeats, "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"  two bare GEMMs : {statistics.median(gem) * 1e3:8.3f} ms (median)")
        for k in ("gemms-blocked", *VARIANTS):
            if not t[k]:
                print(f"  {k:14s} : numba not installed (optional extra 'fast')")
                continue
            ratios = [g / b for g, b in zip(t[k], gem)]
            note = ""
            if k in out["agree"]:
                rel, sameD = out["agree"][k]
                note = f"; errors vs serial max rel {rel:.1e}, |D| {'equal' if sameD else 'DIFFERS'}"
            print(f"  {k:14s} : {statistics.median(t[k]) * 1e3:8.3f} ms, ratio {statistics.median(ratios):.3f} "
                  f"median (range {min(ratios):.3f} - {max(ratios):.3f}), best-of {min(t[k]) / min(gem):.3f}{note}")
        tr = out["torch"]
        if tr is None:
            print(f"  {'torch':14s} : torch not installed (optional extra 'torch')")
        else:
            print(f"  {'torch':14s} : ratio {statistics.median(tr):.3f} median (range {min(tr):.3f} - {max(tr):.3f}), "
                  "in its own process against its own GEMM pair")
        if t["fused-numba"]:
            print(f"  fused-numba and fused-numpy bitwise equal (errors, W_T): {out['bitwise']}")
    print("\ntarget: a step within 1.25x the GEMM pair (median)")


if __name__ == "__main__":
    main()
