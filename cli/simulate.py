"""`mcqueue simulate`: Monte Carlo replay of one or more nights, with a confidence-band report."""

from __future__ import annotations

import click

from .options import (aws_options, check_output, clock_of, count, library_errors,
                      now_options, output_option, positive_finite, render_to, runtime_of,
                      runtime_options, scheduling_of, scheduling_options, settings_of,
                      simulation_options, source_of, source_options, workers_option)
from .conditions import fail_if_option
from .reports import check_report_request, plot_options, write_plots


@click.command(short_help="Monte Carlo risk of one or more nights, with confidence intervals.")
@source_options
@workers_option
@simulation_options
@runtime_options
@scheduling_options
@now_options
@click.option("--per-job", is_flag=True, default=False,
              help="Per-job risk: each job's probability of finishing after its deadline "
                   "(the cutoff without one), P50/P90 finish, mean wait, mean wait for "
                   "predecessors and criticality; a jobs table after each scenario, "
                   "per_job in JSON, per-job rows in CSV.")
@click.option("--target-halfwidth-p95", type=float, callback=positive_finite,
              default=None, metavar="MINUTES",
              help="Precision-targeted run: add replications in batches until the interval of "
                   "the mean p95 wait is at most +/- MINUTES (--replications is then ignored).")
@click.option("--target-halfwidth-overflow", type=click.FloatRange(min=0, max=1, min_open=True),
              callback=positive_finite, default=None, metavar="PROB",
              help="Precision-targeted run: ... until the overflow-probability interval is at "
                   "most +/- PROB (e.g. 0.01).")
@click.option("--max-replications", type=count(1), default=None,
              help="Cap of a precision-targeted run (default 1,000,000); the report says when "
                   "the cap, not the target, stopped it. A cap whose replications cannot fit "
                   "in memory is refused up front.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]),
              default="table", show_default=True,
              help="table for people; json or csv for machines; html: a self-contained report "
                   "page with charts (needs --output and the report extra).")
@output_option
@plot_options
@fail_if_option("simulate")
@aws_options
@library_errors
def simulate(source, file, batch_dates, window, batch_start, batch_end, workers, replications,
             seed, runtime_cv, class_cv, arrival_jitter, confidence, model, runtime_model,
             night_cv, retries, policies, capacity, backfill_depth, now, timezone, per_job,
             target_halfwidth_p95, target_halfwidth_overflow,
             max_replications, fmt, output, plot_dir, plot_format, table, region, profile,
             endpoint_url, max_attempts, timeout, max_input_bytes):
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
      mcqueue simulate --format html --output report.html
      mcqueue simulate --batch-date 2026-05-14 --workers 2 --plot charts/ --plot-format svg
      mcqueue simulate --batch-date 2026-05-15 --per-job
      mcqueue simulate --batch-date 2026-05-15 --policy tutorial --policy backfill
      mcqueue simulate --batch-date 2026-05-15 --capacity 03:00=-1 --capacity 04:00=+1
      mcqueue simulate --file snapshot.csv --workers 2 --now 03:30

    Job records may name predecessors (depends_on), a deadline (HH:MM), the workers a job
    needs (slots) and named locks (locks): see docs/model.md. --per-job reports each job's
    risk; when some job has a deadline every scenario also reports the late jobs and the
    probability that any job is late.

    --now re-forecasts a night in progress from the records' status, started_at and
    finished_at (mcqueue sample --snapshot --output snapshot.csv writes an example night at
    03:30): see docs/model.md, section 17.

    --format html writes one page (no network needed to open it) with a section per
    scenario: the probability that every job is done by each clock time, the night as a
    Gantt (the deterministic replay and the replication at the P90 drain time, replayed
    exactly), the queue length over the night, and the tables. --plot DIR writes the same
    charts as image files (s1-, s2-, ... before the names when there are several scenarios).
    """
    from mcqueue.analysis.runs import run_simulate

    from .progress import hooks

    check_output(output, [file])
    charts = check_report_request(fmt, output, plot_dir)
    report = run_simulate(
        source_of(source, file, table, region, profile, endpoint_url, max_attempts, timeout,
                  max_input_bytes),
        batch_dates, workers, clock_of(window, batch_start, batch_end),
        settings_of(replications, seed, runtime_cv, arrival_jitter, class_cv, confidence),
        target_halfwidth_p95=target_halfwidth_p95,
        target_halfwidth_overflow=target_halfwidth_overflow, max_replications=max_replications,
        hooks=hooks("note"), keep_samples=charts,
        runtime=runtime_of(model, runtime_model, night_cv, retries),
        scheduling=scheduling_of(policies, capacity, backfill_depth), per_job=per_job,
        now=now, timezone=timezone)
    write_plots(report, plot_dir, plot_format)  # first: a failure leaves no half output
    render_to(report, fmt, output, [file])
    return report  # --fail-if checks it
