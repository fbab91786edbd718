"""`mcqueue simulate`: Monte Carlo replay of one or more nights, with a confidence-band report."""

from __future__ import annotations

import click

from .options import (aws_options, library_errors, output_options, read_local_jobs,
                      simulation_options, source_options, workers_option, write_output)

DEFAULT_WORKERS = 3


def scenario_plan(source: str, file: str | None, batch_dates: tuple, workers: tuple):
    """[(batch_date, workers), ...] before any data is read; None dates = 'the file's only one'.

    No --batch-date on the built-in sample: the tutorial's two scenarios (each on --workers
    when given). Otherwise every night runs on every worker count (nights outer, workers inner).
    """
    if source == "dynamodb":
        if file is not None:
            raise click.UsageError("--file is for --source local; DynamoDB reads the table "
                                   "given by --table")
        if not batch_dates:
            raise click.UsageError("--source dynamodb needs --batch-date (the partition key "
                                   "to query)")
    counts = list(dict.fromkeys(workers)) or [DEFAULT_WORKERS]
    if not batch_dates:
        if source == "local" and file is None:
            from mcqueue.io.sample import TUTORIAL_SCENARIOS

            if not workers:
                return list(TUTORIAL_SCENARIOS)
            return [(d, c) for d, _ in TUTORIAL_SCENARIOS for c in counts]
        return [(None, c) for c in counts]
    seen = list(dict.fromkeys(batch_dates))
    return [(d, c) for d in seen for c in counts]


def local_nights(file: str | None, dates: list, window, batch_start, batch_end) -> dict:
    """{batch_date: Night} from a job file (or the built-in sample)."""
    from mcqueue.errors import DataError
    from mcqueue.io.schema import batch_dates as present_dates
    from mcqueue.io.schema import night_from_frame

    jobs, where = read_local_jobs(file)
    if None in dates:
        found = present_dates(jobs)
        if len(found) != 1:
            raise click.UsageError(
                f"{where} holds {len(found)} nights ({', '.join(found[:10])}"
                f"{' ...' if len(found) > 10 else ''}); choose with --batch-date")
        dates = found
    nights = {}
    for d in dates:
        night = night_from_frame(jobs, d, window, batch_start, batch_end)
        if night.n_jobs == 0:
            present = sorted(set(jobs.filter(jobs["batch_date"] == d)["requested_window"]
                                 .drop_nulls().to_list()))
            raise DataError(f"night {d} has no jobs in window {window} (windows present: "
                            f"{', '.join(present) or 'none'}): nothing to simulate")
        nights[d] = night
    return nights


def dynamodb_nights(dates: list, window, batch_start, batch_end, table, region, profile,
                    endpoint_url, max_attempts) -> tuple[dict, dict]:
    """{batch_date: Night} and {batch_date: query statistics} from the DynamoDB catalog."""
    from mcqueue.errors import DataError
    from mcqueue.io.schema import night_from_frame, validate_jobs

    try:
        from mcqueue.io.dynamo import query_jobs
    except ImportError as exc:
        raise click.ClickException(f"--source dynamodb is not available in this build "
                                   f"({exc})") from None
    nights, stats = {}, {}
    for d in dates:
        res = query_jobs(d, window, table=table, session=None, region=region, profile=profile,
                         endpoint_url=endpoint_url, max_attempts=max_attempts)
        where = f"window {window} of " if window else ""
        if res.frame.height == 0:
            raise DataError(f"table {table!r} has no jobs for {where}batch date {d!r}: "
                            f"nothing to simulate")
        night = night_from_frame(validate_jobs(res.frame), d, window, batch_start, batch_end)
        if night.n_jobs == 0:
            raise DataError(f"table {table!r} has no jobs for {where}batch date {d!r}: "
                            f"nothing to simulate")
        nights[d] = night
        stats[d] = {"table": table, "items": res.items, "pages": res.pages,
                    "consumed_read_units": res.consumed_read_units, "cost_usd": res.cost_usd}
    return nights, stats


@click.command(short_help="Monte Carlo risk of one or more nights, with confidence intervals.")
@source_options
@workers_option
@simulation_options
@click.option("--target-halfwidth-p95", type=click.FloatRange(min=0, min_open=True),
              default=None, metavar="MINUTES",
              help="Precision-targeted run: add replications in batches until the interval of "
                   "the mean p95 wait is at most +/- MINUTES (--replications is then ignored).")
@click.option("--target-halfwidth-overflow", type=click.FloatRange(min=0, max=1, min_open=True),
              default=None, metavar="PROB",
              help="Precision-targeted run: ... until the overflow-probability interval is at "
                   "most +/- PROB (e.g. 0.01).")
@click.option("--max-replications", type=click.IntRange(min=1), default=None,
              help="Cap of a precision-targeted run (default 1,000,000); the report says when "
                   "the cap, not the target, stopped it.")
@output_options
@aws_options
@library_errors
def simulate(source, file, batch_dates, window, batch_start, batch_end, workers, replications,
             seed, runtime_cv, class_cv, arrival_jitter, confidence, target_halfwidth_p95,
             target_halfwidth_overflow, max_replications, fmt, output, table, region,
             profile, endpoint_url, max_attempts):
    """Replay a night of queued jobs many times and report wait, queue, utilization and
    overflow risk with confidence intervals.

    With no options: the tutorial's two scenarios on the built-in sample (2026-05-13 on 3
    workers, 2026-05-14 on 2 workers), simulated together with common random numbers.
    Several --batch-date and --workers run every night on every worker count in one pass.

    \b
    Examples:
      mcqueue simulate
      mcqueue simulate --batch-date 2026-05-14 --workers 2 --workers 3 --workers 4
      mcqueue simulate --file jobs.parquet --batch-date 2026-05-13 --format json
      mcqueue simulate --source dynamodb --batch-date 2026-05-13 --window 02:00
      mcqueue simulate --batch-date 2026-05-13 --target-halfwidth-overflow 0.005
    """
    from mcqueue.engine import simulate as engine
    from mcqueue.report.simulation import render

    from .progress import compiling_notice, progress

    targeted = target_halfwidth_p95 is not None or target_halfwidth_overflow is not None
    if max_replications is not None and not targeted:
        raise click.UsageError("--max-replications caps a precision-targeted run: give "
                               "--target-halfwidth-p95 and/or --target-halfwidth-overflow")
    plan = scenario_plan(source, file, batch_dates, workers)
    dates = list(dict.fromkeys(d for d, _ in plan))
    stats = {}
    if source == "dynamodb":
        nights, stats = dynamodb_nights(dates, window, batch_start, batch_end, table, region,
                                        profile, endpoint_url, max_attempts)
    else:
        nights = local_nights(file, dates, window, batch_start, batch_end)
    if None in dates:  # the file's only night
        (only,) = nights
        plan = [(only, c) for _, c in plan]
    scenarios = [engine.Scenario(nights[d], c) for d, c in plan]

    classes = {k for nt in nights.values() for k in nt.workload_class}
    for name in sorted(set(class_cv) - classes):
        click.echo(f"mcqueue: note: --class-cv {name}=...: no job of class {name!r} in the "
                   f"simulated nights (classes: {', '.join(sorted(classes))})", err=True)

    compiling_notice()
    if targeted:
        from mcqueue.analysis.sequential import DEFAULT_MAX_REPLICATIONS, simulate_to_precision

        cap = max_replications or DEFAULT_MAX_REPLICATIONS
        with progress(cap * len(scenarios)) as advance:  # an upper bound: it may stop early
            results = [simulate_to_precision(
                sc.night, sc.workers, target_halfwidth_p95=target_halfwidth_p95,
                target_halfwidth_overflow=target_halfwidth_overflow, max_replications=cap,
                seed=seed, runtime_cv=runtime_cv, arrival_jitter=arrival_jitter,
                class_cv=class_cv, confidence=confidence, progress=advance)
                for sc in scenarios]
    else:
        with progress(replications * len(scenarios)) as advance:
            results = engine.simulate_scenarios(
                scenarios, replications=replications, seed=seed, runtime_cv=runtime_cv,
                arrival_jitter=arrival_jitter, class_cv=class_cv, confidence=confidence,
                progress=advance, keep_samples=False)
    for r in results:
        if r.night.batch_date in stats:
            r.extra["dynamodb"] = dict(stats[r.night.batch_date])
    write_output(render(results, fmt), output)
