#!/usr/bin/env python3
"""scipy/numpy side of test/bench/drift.bench.ts.

    python3 test/bench/drift_scipy.py DATA_DIR RUNS

DATA_DIR holds raw little-endian float64 files written by the TypeScript bench (same numbers
on both sides, no generator to keep in sync):
    single_ref.f64, single_cur.f64            one feature, n values per side
    table_ref.f64, table_cur.f64              n_features x n_rows, row-major
    meta.json                                 {"single_n", "table_features", "table_rows"}

Prints one JSON object: median seconds per measurement plus the metric values, so the
TypeScript side can check both implementations computed the same thing.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

EPS = 1e-4
PROBS = np.array([k / 10 for k in range(11)])


def psi_bins(r, c):
    q = np.quantile(r, PROBS)
    inner = np.unique(np.concatenate(([-np.inf], q[1:-1], [np.inf])))[1:-1]
    rc = np.bincount(np.searchsorted(inner, r, side="right"), minlength=inner.size + 1)
    cc = np.bincount(np.searchsorted(inner, c, side="right"), minlength=inner.size + 1)
    return np.maximum(rc / r.size, EPS), np.maximum(cc / c.size, EPS)


def psi(r, c):
    pr, pc = psi_bins(r, c)
    return float(np.sum((pc - pr) * np.log(pc / pr)))


def js(r, c):
    pr, pc = psi_bins(r, c)
    return float(jensenshannon(pr, pc, base=2))


def ks_asymp(r, c):
    res = stats.ks_2samp(r, c, method="asymp")
    return [float(res.statistic), float(res.pvalue)]


def wass(r, c):
    return float(stats.wasserstein_distance(r, c))


def all_metrics(r, c):
    return [ks_asymp(r, c), wass(r, c), psi(r, c), js(r, c)]


METRICS = [("ks_asymp", ks_asymp), ("wasserstein", wass), ("psi", psi), ("all", all_metrics)]


def median_time(fn, runs):
    times = []
    value = None
    for _ in range(runs):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def main():
    data_dir, runs = sys.argv[1], int(sys.argv[2])
    with open(os.path.join(data_dir, "meta.json")) as f:
        meta = json.load(f)
    load = lambda name: np.fromfile(os.path.join(data_dir, name), dtype="<f8")  # noqa: E731
    single_r, single_c = load("single_ref.f64"), load("single_cur.f64")
    nf, nr = meta["table_features"], meta["table_rows"]
    table_r = load("table_ref.f64").reshape(nf, nr)
    table_c = load("table_cur.f64").reshape(nf, nr)

    for _, fn in METRICS:  # warm-up: imports, first-call overheads
        fn(single_r[:10000], single_c[:10000])

    out = {"versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__},
           "single": {}, "table": {}}
    for name, fn in METRICS:
        sec, value = median_time(lambda: fn(single_r, single_c), runs)
        out["single"][name] = {"seconds": sec, "value": value}
    for name, fn in METRICS:
        sec, value = median_time(lambda: [fn(table_r[j], table_c[j]) for j in range(nf)], runs)
        out["table"][name] = {"seconds": sec, "value": value[0]}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
