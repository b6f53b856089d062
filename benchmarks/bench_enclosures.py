"""Cost of the rigorous enclosures (qrcheck/enclosures.py) as a ratio to the plain computation.

Each row times the plain float64 computation of a statistic and, in the same run, the extra work
its enclosure adds (the plain result is reused, as the checkers reuse it), at the design card
(n, S, m) = (100, 500, 300) and at m = 1000. One BLAS thread by default; the median of
``--repeat`` runs. ``python benchmarks/bench_enclosures.py [--repeat 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from qrcheck import enclosures as E  # noqa: E402


def timed(fn, repeat):
    out, ts = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return out, statistics.median(ts)


def bench(n, S, m, repeat, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m))
    X /= np.linalg.norm(X, axis=0)
    W0 = rng.standard_normal((S, n))
    z0 = rng.choice([-1.0, 1.0], S)
    rows = []

    def row(name, plain, enclose):
        res, tp = timed(plain, repeat)
        _, te = timed(lambda: enclose(res), repeat)
        rows.append({"quantity": name, "plain_s": tp, "enclosure_s": te, "ratio": te / tp})
        return res

    P = row("P0 = W0 X (radius, open signs)", lambda: W0 @ X, lambda P: E.refined_product(W0, X, P))
    rp = E.refined_product(W0, X, P)
    row("(25) min |W0 X|", lambda: float(np.min(np.abs(P))), lambda v: E.min_abs(rp, v))
    row("(26) max |W0 X|", lambda: float(np.max(np.abs(P))), lambda v: E.max_abs(rp, v))

    def offdiag():
        G = X.T @ X
        a = np.abs(G)
        np.fill_diagonal(a, -1.0)
        return G, float(a.max())

    gram = row("(19) X^T X, max off-diagonal", offdiag,
               lambda r: E.max_offdiag_abs(r[0], E.gram_bound(X), r[1]))[0]
    row("(22) row norms of W0", lambda: np.linalg.norm(W0, axis=1), lambda _: E.norms(W0, 1))
    F = np.maximum(P, 0.0)
    f = row("(27) f0 = F0^T z0", lambda: F.T @ z0,
            lambda f: E.max_abs_vector(f, E.output_bound(F, z0, f, rp.bound)))
    a = row("(28) sorted |W0 X| columns", lambda: float(np.max(np.arange(1, S + 1)[:, None]
                                                             / (S * np.sort(np.abs(P), axis=0) + 1.0))),
            lambda v: E.good_behaviour(v, S, rp.bound))
    def G0():
        G = F.T @ F
        return G, float(np.linalg.eigvalsh(G)[0])

    row("(29) G0 = F0^T F0, eigvalsh", G0,
        lambda r: E.lambda_min_enclosure(r[0], E.G_error(F, rp.bound), r[1]))
    Af = (P > 0).astype(np.float64)

    def H0():
        K = Af.T @ (Af * (z0 ** 2)[:, None])
        H = gram * K
        return K, H, float(np.linalg.eigvalsh(H)[0])

    row("H0 = (X^T X) o (B0^T B0), eigvalsh", H0,
        lambda r: E.lambda_min_enclosure(r[1], E.H_error(r[0], float(np.abs(gram).max()), E.gram_bound(X), E.K_rel_weighted(S), S * E.ETA),
                                         r[2]))
    row("||X|| (20, 21, 30)", lambda: float(np.linalg.norm(X, 2)), lambda v: E.spectral_norm_upper(X, v))

    def cumsum():
        G = np.abs(gram)
        np.fill_diagonal(G, -np.inf)
        cs = np.zeros((m, m))
        np.cumsum(-np.sort(-G, axis=1)[:, :-1], axis=1, out=cs[:, 1:])
        return cs

    row("(20) Gershgorin, every k", cumsum,
        lambda cs: E.gershgorin_all_k_upper(cs, E.sum_squares(X, 0)[2], E.gram_bound(X)))
    del f, a
    tot_p = sum(r["plain_s"] for r in rows)
    tot_e = sum(r["enclosure_s"] for r in rows)
    return {"n": n, "S": S, "m": m, "rows": rows, "total_plain_s": tot_p, "total_enclosure_s": tot_e,
            "total_ratio": tot_e / tot_p}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--sizes", default="100,500,300;100,500,1000")
    args = ap.parse_args()
    results = []
    for spec in args.sizes.split(";"):
        n, S, m = (int(v) for v in spec.split(","))
        r = bench(n, S, m, args.repeat)
        results.append(r)
        print(f"\n(n, S, m) = ({n}, {S}, {m}), median of {args.repeat}, "
              f"{os.environ.get('OPENBLAS_NUM_THREADS')} BLAS thread(s)")
        print(f"{'quantity':42s} {'plain ms':>10s} {'enclosure ms':>13s} {'ratio':>7s}")
        for row in r["rows"]:
            print(f"{row['quantity']:42s} {1e3 * row['plain_s']:10.3f} {1e3 * row['enclosure_s']:13.3f} "
                  f"{row['ratio']:7.2f}")
        print(f"{'total':42s} {1e3 * r['total_plain_s']:10.3f} {1e3 * r['total_enclosure_s']:13.3f} "
              f"{r['total_ratio']:7.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
