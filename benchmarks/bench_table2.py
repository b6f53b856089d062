"""Table 2's largest run end to end against its floor: T x (two bare GEMMs of the step's shapes).

    python benchmarks/bench_table2.py [--n 100 --S 100 --m 5000 --seed 1]

Runs :func:`qrcheck.verify.verify` as ``qrcheck verify --n 100 --S 100 --m 5000 --seed 1`` does
(GD forced when a property is violated, so that the descent is always measured), and times the
GEMM pair P = W X (S x n by n x m), G = M X^T (S x m by m x n) in the same process before and after
(median of 200 pairs each, after a 0.2 s pause), so that the floor sees the same machine load.
Prints the whole run's wall time and its ratio to T x the GEMM pair, and the phases
(``provenance.phase_seconds``: draw, each property, GD; ``gd.phase_seconds``: setup, loop,
eigenvalues, changes) and the peak memory. Results: docs/gd.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from qrcheck.draw import make_draw
from qrcheck.rates import paper_eta_w
from qrcheck.verify import VerifyConfig, verify


def gemm_pair(n: int, S: int, m: int, reps: int = 200) -> float:
    rng = np.random.default_rng(0)
    W, X, M = rng.standard_normal((S, n)), rng.standard_normal((n, m)), rng.standard_normal((S, m))
    P, G = np.empty((S, m)), np.empty((S, n))
    time.sleep(0.2)
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(W, X, out=P)
        np.matmul(M, X.T, out=G)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--S", type=int, default=100)
    ap.add_argument("--m", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write the measurements here")
    a = ap.parse_args()
    make_draw(n=a.n, S=a.S, m=a.m, seed=a.seed)     # warm imports and caches
    before = gemm_pair(a.n, a.S, a.m)
    t0 = time.perf_counter()
    out = verify(VerifyConfig(n=a.n, S=a.S, m=a.m, seed=a.seed, eta_w=paper_eta_w(a.S, a.m), force=True))
    wall = time.perf_counter() - t0
    after = gemm_pair(a.n, a.S, a.m)
    cert = out.certificate.to_json()
    gd, prov = cert["gd"], cert["provenance"]
    pair = (before + after) / 2
    T = gd.get("T") or 0
    res = {"n": a.n, "S": a.S, "m": a.m, "seed": a.seed, "T": T, "status": gd.get("status"),
           "wall_s": wall, "gemm_pair_s": pair, "gemm_pair_before_s": before, "gemm_pair_after_s": after,
           "ratio": wall / (T * pair) if T else None,
           "gd_loop_ratio": gd["phase_seconds"]["loop"] / (T * pair) if T else None,
           "phases": prov.get("phase_seconds"), "gd_phases": gd.get("phase_seconds"),
           "gd_spectral": gd.get("spectral"), "peak_rss_bytes": prov.get("peak_rss_bytes"),
           "load_average": os.getloadavg()[0]}
    print(f"verify --n {a.n} --S {a.S} --m {a.m} --seed {a.seed}: {wall:.1f} s, GD {gd.get('status')} at T = {T}")
    print(f"two bare GEMMs: {pair * 1e3:.3f} ms (before {before * 1e3:.3f}, after {after * 1e3:.3f}); "
          f"T x pair = {T * pair:.1f} s")
    if T:
        print(f"ratio end to end / (T x pair) = {res['ratio']:.3f}; GD loop alone {res['gd_loop_ratio']:.3f}")
    ph = prov.get("phase_seconds") or {}
    props = ph.get("properties", {})
    print("phases (s): draw %.1f, properties %.1f (%s), GD %.1f [%s]" % (
        ph.get("draw", 0), sum(props.values()), ", ".join(f"({k}) {v:.1f}" for k, v in props.items() if v >= 0.5),
        ph.get("gd", 0), ", ".join(f"{k} {v:.1f}" for k, v in (gd.get("phase_seconds") or {}).items())))
    print(f"peak memory {res['peak_rss_bytes'] / 2**30:.2f} GiB, load average {res['load_average']:.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
