"""The report options of simulate, score and plan: ``--format html`` and ``--plot DIR``.

Only click is imported here; the library's report layer loads inside the functions.
"""

from __future__ import annotations

import click

from .options import compose

PLOT_FORMATS = ("png", "svg")

plot_options = compose(
    click.option("--plot", "plot_dir", type=click.Path(file_okay=False, dir_okay=True),
                 default=None, metavar="DIR",
                 help="Also write every chart as an image file into DIR (created if missing; "
                      "each file written atomically), beside the normal report. Needs the "
                      "report extra: pip install \"mcqueue[report]\"."),
    click.option("--plot-format", type=click.Choice(PLOT_FORMATS), default="png",
                 show_default=True, help="Image format of --plot."),
)


def check_report_request(fmt: str, output: str | None, plot_dir: str | None) -> bool:
    """Before any work: html needs --output (usage error, exit 2) and, like --plot, the report
    extra (one error naming the pip command, exit 1). True when charts are wanted."""
    if fmt == "html" and output is None:
        raise click.UsageError("--format html writes a self-contained page: give --output FILE")
    wanted = fmt == "html" or plot_dir is not None
    if wanted:
        from mcqueue.report.extra import require_report_extra

        require_report_extra()  # a MissingExtraError: library_errors prints it, exit 1
    return wanted


def write_plots(result, plot_dir: str | None, plot_format: str) -> None:
    """Every chart of ``result`` into ``plot_dir`` (nothing without --plot)."""
    if plot_dir is None:
        return
    from mcqueue.report.pages import save_plots

    save_plots(result, plot_dir, plot_format)
