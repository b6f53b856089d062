"""How gradient descent (12) and its eigenvalue work scale with m and S: the table of docs/gd.md.

    python benchmarks/scaling.py                      # the default grid (n = 100), about 15 minutes
    python benchmarks/scaling.py --grid 100,100,1000 100,500,20000 --steps 20
    python benchmarks/scaling.py --verify             # also `qrcheck verify --no-gd` per row

Each row runs in a fresh subprocess (so that its peak resident memory, ``ru_maxrss``, is its own):
``run_gd`` for ``--steps`` steps on ``make_draw(n, S, m, seed=0)`` with the paper's rate, and two
bare GEMMs of the same shapes timed in the same process beside it. Printed per row: the time per
step and its ratio to the GEMM pair (the floor), the phases of ``gd.phase_seconds`` (setup, the
final eigenvalues lambda_min(H_0), lambda_min(H_T) and (60)'s norm, the degrees of D), how the
eigenvalues were computed (``dense``: eigvalsh; ``shift_invert``: Cholesky + Lanczos;
``lobpcg``: matrix-free through (7), preconditioned for the outliers), the peak memory, and with ``--verify`` the wall time of
``qrcheck verify --no-gd`` (the property checks). The default grid includes m up to nS/2.
Prints a markdown table (paste into docs/gd.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

DEFAULT_GRID = ["100,100,1000", "100,100,2000", "100,100,5000", "100,500,1000", "100,500,5000",
                "100,500,10000", "100,500,20000", "100,500,25000"]
# rows up to this m are repeated 3 times (median); larger ones once
DENSE_REPEAT_M = 6000


def one_row(n: int, S: int, m: int, steps: int, verify: bool) -> dict:
    """Run in the child: GD for ``steps`` steps and the GEMM pair, interleaved, 3 repeats."""
    import statistics

    import numpy as np

    from qrcheck.draw import make_draw
    from qrcheck.gd import GDConfig, peak_rss_bytes, run_gd
    from qrcheck.rates import paper_eta_w

    d = make_draw(n=n, S=S, m=m, seed=0)
    eta = paper_eta_w(S, m)
    cfg = GDConfig(eta_w=eta, tol=1e-300, max_steps=steps)
    M = np.random.default_rng(1).standard_normal((S, m))
    P, G = np.empty((S, m)), np.empty((S, n))
    per_step, gemms, first = [], [], None
    for _ in range(3 if m <= DENSE_REPEAT_M else 1):   # each run ends with its eigenvalue work
        time.sleep(0.2)
        t0 = time.perf_counter()
        for _ in range(steps):
            np.matmul(d.W0, d.X, out=P)
            np.matmul(M, d.X.T, out=G)
        gemms.append((time.perf_counter() - t0) / steps)
        time.sleep(0.2)
        r = run_gd(d.X, d.W0, d.z0, d.y, cfg)
        per_step.append(r.seconds_per_step)
        first = first or r
    del P, G, M
    out = {"n": n, "S": S, "m": m, "steps": steps, "step_s": statistics.median(per_step),
           "gemm_s": statistics.median(gemms), "phases": first.phase_seconds,
           "methods": {k: v.get("method") for k, v in first.spectral.items()},
           "matvecs": {k: v.get("matvecs") for k, v in first.spectral.items()},
           "kappa_H": first.kappa_H, "peak_rss_bytes": peak_rss_bytes()}
    if verify:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qrcheck", "verify", "--n", str(n), "--S", str(S), "--m", str(m),
                        "--seed", "0", "--no-gd", "--out", os.devnull], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out["verify_no_gd_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", nargs="+", default=DEFAULT_GRID, help="n,S,m triples")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--verify", action="store_true", help="also time `qrcheck verify --no-gd` per row")
    ap.add_argument("--row", help=argparse.SUPPRESS)   # internal: run one row in this process
    a = ap.parse_args()
    if a.row:
        n, S, m = (int(v) for v in a.row.split(","))
        print(json.dumps(one_row(n, S, m, a.steps, a.verify)))
        return
    print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {a.steps} steps, median of 3 repeats up to m = {DENSE_REPEAT_M}")
    print("| n | S | m | step (ms) | GEMM pair (ms) | ratio | setup (s) | eigenvalues (s) | methods H0/HT | "
          "changes (s) | peak RSS (GiB) |" + (" verify --no-gd (s) |" if a.verify else ""))
    print("|---" * (12 if a.verify else 11) + "|")
    for row in a.grid:
        cmd = [sys.executable, __file__, "--row", row, "--steps", str(a.steps)] + (["--verify"] if a.verify else [])
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode:
            print(f"| {row.replace(',', ' | ')} | failed: {res.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        ph, me = r["phases"], r["methods"]
        print(f"| {r['n']} | {r['S']} | {r['m']} | {r['step_s'] * 1e3:.2f} | {r['gemm_s'] * 1e3:.2f} | "
              f"{r['step_s'] / r['gemm_s']:.2f} | {ph['setup']:.2f} | {ph['eigenvalues']:.1f} | "
              f"{me.get('H0')}/{me.get('HT')} | {ph['changes']:.2f} | {r['peak_rss_bytes'] / 2**30:.2f} |"
              + (f" {r['verify_no_gd_s']:.0f} |" if a.verify else ""), flush=True)


if __name__ == "__main__":
    main()
