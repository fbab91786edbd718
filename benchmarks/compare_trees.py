"""Kernel throughput of one source tree, for before/after comparisons (docs/benchmarks.md, issue 17).

    PYTHONPATH=/path/to/tree python benchmarks/compare_trees.py THREADS

prints one JSON object: jobs per second (median of three in-process runs after a warm-up) of
``replicate`` / ``replicate_detailed`` on the 10-job sample night, synthetic 100- and 2,000-job
nights, the sample night under the priority policy, the 2,000-job night under backfill and a
200-job DAG night with deadlines and per-job statistics. Run it for two trees alternately (an
old tree exported with ``git archive``) and compare within the session.
"""

import json
import statistics
import sys
import time

import numba

from mcqueue.engine import simulate as E
from mcqueue.engine.synthetic import synthetic_night, synthetic_dag_night
from mcqueue.io.sample import load_sample

numba.set_num_threads(int(sys.argv[1]))
pert = E.Perturbation(0.25, 15.0)
cases = {
    "10jobs": (load_sample("2026-05-13"), 3, 1_000_000, {}),
    "100jobs": (synthetic_night(100, seed=1), 8, 100_000, {}),
    "2000jobs": (synthetic_night(2000, seed=1), 16, 5_000, {}),
    "10jobs priority": (load_sample("2026-05-13"), 3, 500_000, {"policy": "priority"}),
    "2000jobs backfill": (synthetic_night(2000, seed=1), 16, 3_000, {"policy": "backfill"}),
    "dag200 per-job": (synthetic_dag_night(200, seed=2, deadline_share=0.2), 8, 20_000,
                       {"per_job": True}),
}
out = {}
for name, (night, w, R, kw) in cases.items():
    b = E.prepare([night], pert, 0)
    if kw:
        def f():
            return E.replicate_detailed(b, [0], [w], R, **kw)
    else:
        def f():
            return E.replicate(b, [0], [w], R)
    f()
    ts = []
    for _ in range(3):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    out[name] = R * night.n_jobs / statistics.median(ts)
print(json.dumps(out))
