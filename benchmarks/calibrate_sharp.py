"""Calibration of the ``sharp`` profile: empirical failure rate of every property over random draws.

    nice python benchmarks/calibrate_sharp.py [--draws 200] [--sizes 10,400,100 20,900,40 ...]
                                              [--z-dist rademacher] [--out table.md]
    python benchmarks/calibrate_sharp.py --planted      # the detection table instead

For each size (n, S, m), ``--draws`` draws with seeds 0, 1, ... are sampled as in the paper's
Section 2.4 and every property is checked under ``sharp`` (default search effort). Per property the
table gives: how many draws were checked non-vacuously (status certified, passed or violated),
how many were ``violated`` (the empirical failure count), the one-sided 95% Clopper-Pearson upper
bound on the failure rate, and the worst margin statistic/threshold seen (the largest for `<=`
properties, the smallest for `>=`), which shows how far inside its threshold a random draw stays.
The profile's promise: a random draw fails any property with probability <= delta = 1e-3 (delta/11
per property); the row "any" counts draws with some property violated. Results: docs/sharp.md.

``--planted`` plants each defect of ``qrcheck.planted`` in a random draw and prints, under ``sharp``,
the status of the property that must catch it, its statistic and threshold, and the witness
recomputed from its indices.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np
import scipy.stats

from qrcheck import planted

from qrcheck.draw import make_draw
from qrcheck.profiles import SHARP
from qrcheck.properties import CheckContext, registry
from qrcheck.results import Sense, Status

CHECKED = (Status.CERTIFIED, Status.PASSED, Status.VIOLATED)


def clopper_pearson_upper(k: int, N: int, level: float = 0.95) -> float:
    return 1.0 if k >= N else float(scipy.stats.beta.ppf(level, k + 1, N - k))


def calibrate(n: int, S: int, m: int, draws: int, z_dist: str) -> tuple[list[str], float]:
    stats: dict[str, dict] = {}
    t0 = time.perf_counter()
    any_violated = 0
    for seed in range(draws):
        ctx = CheckContext.of(make_draw(n=n, S=S, m=m, seed=seed, z_dist=z_dist), SHARP)
        results = [c.check(ctx) for c in registry()]
        any_violated += any(r.status is Status.VIOLATED for r in results)
        for r in results:
            s = stats.setdefault(r.eq, {"checked": 0, "violated": 0, "margin": None, "sense": r.sense,
                                        "statuses": {}})
            s["statuses"][r.status.value] = s["statuses"].get(r.status.value, 0) + 1
            if r.status in CHECKED:
                s["checked"] += 1
                s["violated"] += r.status is Status.VIOLATED
                if r.statistic is not None and r.threshold:
                    ratio = r.statistic / r.threshold
                    worse = max if r.sense is Sense.LE else min
                    s["margin"] = ratio if s["margin"] is None else worse(s["margin"], ratio)
    rows = []
    for eq, s in sorted(stats.items(), key=lambda kv: int(kv[0])):
        k, N = s["violated"], s["checked"]
        rate = f"{k / N:.4f}" if N else "-"
        ub = f"{clopper_pearson_upper(k, N):.4f}" if N else "-"
        margin = "-" if s["margin"] is None else f"{s['margin']:.3f}"
        statuses = ", ".join(f"{v} {st}" for st, v in sorted(s["statuses"].items()))
        rows.append(f"| ({n}, {S}, {m}) | {eq} | {N} | {k} | {rate} | {ub} | {s['sense'].value} {margin} | {statuses} |")
    rows.append(f"| ({n}, {S}, {m}) | any | {draws} | {any_violated} | {any_violated / draws:.4f} | "
                f"{clopper_pearson_upper(any_violated, draws):.4f} | - | draws with some property violated |")
    return rows, time.perf_counter() - t0


def detection() -> list[str]:
    """Planted defects under sharp: the property that must catch each, with its witness recomputed."""
    rows = ["| defect | sizes (n, S, m) | property | status | statistic | threshold | witness | witness "
            "recomputed | without the defect |", "|---|---|---|---|---|---|---|---|---|"]

    def row(defect, d, eq, extra, clean):
        checker = next(c for c in registry() if c.eq == eq)
        ctx = CheckContext.of(d, SHARP)
        r = checker.check(ctx)
        before = checker.check(CheckContext.of(clean, SHARP))
        w = {k: (f"{len(v)} indices" if isinstance(v, list) and len(v) > 4 else v) for k, v in (r.witness or {}).items()
             if k != "xi"}
        rows.append(f"| {defect} | ({d.n}, {d.S}, {d.m}) | ({eq}) | {r.status.value} | {r.statistic:.4g} | "
                    f"{r.threshold:.4g} | {w} | {extra(ctx, r):.4g} | {before.status.value} "
                    f"({before.statistic:.4g}) |")

    X_norm = lambda J: float(np.linalg.norm(J, 2))  # noqa: E731
    d1, d3, d2 = make_draw(n=50, S=20, m=200, seed=1), make_draw(n=10, S=20, m=400, seed=3), \
        make_draw(n=20, S=900, m=40, seed=2)
    cl = planted.with_cluster(d1, 30, rng=np.random.default_rng(1))
    row("30 nearly parallel columns", cl.draw, "20",
        lambda c, r: X_norm(c.q.X[:, r.witness["J"]]) / (1 + math.sqrt(r.witness["k"] / c.n)), d1)
    row("30 nearly parallel columns", cl.draw, "19", lambda c, r: abs(float(c.q.gram[tuple(r.witness["pair"])])), d1)
    sl = planted.with_slab(d3, 120, rng=np.random.default_rng(3))
    row("120 columns within 1e-3 of a hyperplane", sl.draw, "21",
        lambda c, r: float(np.linalg.norm(c.q.X[:, r.witness["J"]].T @ np.array(r.witness["xi"]))), d3)
    st = planted.with_starved_point(d2, j=5, active=3, rng=np.random.default_rng(2))

    def removal_value(c, r):
        from qrcheck.properties import p24

        keep = np.setdiff1d(p24.Gamma0(c), r.witness["removed"])
        A = (c.q.W0[keep] @ c.q.X > 0).astype(float)
        return float(np.linalg.eigvalsh((c.q.X.T @ c.q.X) * (A.T @ A))[0])
    row("data point 5 active on 3 of 900 neurons", st.draw, "30", removal_value, d2)
    sq = planted.with_starved_point(d2, j=5, active=3, squeeze=1e-3, rng=np.random.default_rng(2))
    row("same, inactive preactivations in [-1e-3, 0)", sq.draw, "28",
        lambda c, r: r.witness["k"] / (c.S * r.witness["R"] + 1), d2)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--sizes", nargs="+", default=["10,400,100", "20,900,40"],
                    help="n,S,m triples")
    ap.add_argument("--z-dist", default="rademacher")
    ap.add_argument("--out", default=None, help="also write the table to this markdown file")
    ap.add_argument("--planted", action="store_true", help="print the detection table instead")
    a = ap.parse_args()
    if a.planted:
        print("\n".join(detection()))
        return
    lines = [f"delta = {SHARP.delta}, {a.draws} draws per size (seeds 0..{a.draws - 1}), z0 {a.z_dist}, "
             f"default search effort; {platform.processor() or platform.machine()}, python {platform.python_version()}",
             "",
             "| (n, S, m) | eq | checked | violated | rate | 95% upper | worst stat/thr | statuses |",
             "|---|---|---|---|---|---|---|---|"]
    for spec in a.sizes:
        n, S, m = (int(v) for v in spec.split(","))
        rows, secs = calibrate(n, S, m, a.draws, a.z_dist)
        lines += rows
        print(f"# ({n}, {S}, {m}): {a.draws} draws in {secs:.0f} s", flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
