"""DynamoDB -> engine arrays: items per second for a 50,000-job night, and where the time goes.

Runs against a real DynamoDB-compatible server on 127.0.0.1: MCQUEUE_TEST_DYNAMODB_ENDPOINT
(scripts/test.sh's) or one started here (dynalite via tests/dynamo_server.py).

    python benchmarks/bench_dynamo.py [--jobs 50000] [--repeats 3]

Per repeat it loads the night the way `mcqueue simulate --source dynamodb` does (one paged Query,
items -> polars columns, validate_jobs, night_from_frame) and splits the wall time into
  botocore  : inside client.query (HTTP round trips, the local server's own work, JSON parsing
              into AttributeValue dicts); its Python CPU share is shown too,
  mcqueue   : items -> columns (dynamo.items_to_frame), validation, night arrays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def load_once(client, table, batch_date, n_jobs):
    from mcqueue.io import dynamo as dynamo
    from mcqueue.io.schema import night_from_frame, validate_jobs

    t0, c0 = time.perf_counter(), time.process_time()
    items, pages = [], 0
    for page_items, _units in dynamo._query_pages(client, table, batch_date, None):
        items.extend(page_items)
        pages += 1
    t1, c1 = time.perf_counter(), time.process_time()
    frame = dynamo.items_to_frame(items)
    t2 = time.perf_counter()
    night = night_from_frame(validate_jobs(frame), batch_date)
    t3 = time.perf_counter()
    assert night.n_jobs == n_jobs and len(items) == n_jobs, (night.n_jobs, len(items))
    return {"total": t3 - t0, "botocore": t1 - t0, "botocore_cpu": c1 - c0,
            "columns": t2 - t1, "validate_and_arrays": t3 - t2, "pages": pages}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from dynamo_server import big_night, dynamodb_endpoint
    from mcqueue.io import dynamo as dynamo

    with dynamodb_endpoint() as endpoint:
        table = f"bench_{uuid.uuid4().hex[:8]}"
        client = dynamo.make_client("dynamodb", endpoint_url=endpoint)
        raw = big_night(args.jobs, "2026-06-01")
        t0 = time.perf_counter()
        seeded = dynamo.seed_table(raw, table, client=client)
        seed_s = time.perf_counter() - t0
        assert seeded.written == args.jobs
        print(f"endpoint {endpoint}; seeded {args.jobs} items in {seed_s:.1f} s "
              f"({args.jobs / seed_s:,.0f} items/s, {seeded.batches} BatchWriteItem calls)")
        try:
            load_once(client, table, "2026-06-01", args.jobs)  # warm-up
            runs = [load_once(client, table, "2026-06-01", args.jobs)
                    for _ in range(args.repeats)]
        finally:
            client.delete_table(TableName=table)

    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    mcq = med["columns"] + med["validate_and_arrays"]
    print(f"load {args.jobs} items -> engine arrays, median of {args.repeats}: "
          f"{med['total']:.3f} s = {args.jobs / med['total']:,.0f} items/s "
          f"({med['pages']:.0f} Query pages)")
    print(f"  botocore (Query incl. server + parsing): {med['botocore']:.3f} s "
          f"({100 * med['botocore'] / med['total']:.1f}%), of which Python CPU in this "
          f"process {med['botocore_cpu']:.3f} s")
    print(f"  mcqueue items->columns: {med['columns']:.3f} s "
          f"({100 * med['columns'] / med['total']:.1f}%)")
    print(f"  mcqueue validate + night arrays: {med['validate_and_arrays']:.3f} s "
          f"({100 * med['validate_and_arrays'] / med['total']:.1f}%)")
    print(f"  mcqueue total: {mcq:.3f} s ({100 * mcq / med['total']:.1f}%); "
          f"conversion alone: {args.jobs / med['columns']:,.0f} items/s")


if __name__ == "__main__":
    main()
