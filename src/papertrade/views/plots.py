"""`--plot FILE`: the chart of a performance as one self-contained HTML page or a PNG."""

from pathlib import Path

from papertrade.adapters.user_files import check_output, write_output
from papertrade.errors import InputError
from papertrade.views.chart_data import ChartData


def check_plot_path(path: Path, ledger: Path | None = None) -> None:
    """`InputError` unless `path` is a .png or .html file `--plot` may write: never the ledger
    (`ledger`, its side files, through any link) nor any other SQLite database."""
    if path.suffix.lower() not in (".png", ".html"):
        raise InputError(f"--plot takes a .png or .html file, not {path.name!r}")
    check_output(path, "--plot", ledger)


def write_plot(chart: ChartData, path: Path, ledger: Path | None = None) -> Path:
    """Write the chart to `path`, choosing the format from its suffix (.png or .html)."""
    check_plot_path(path, ledger)
    if len(chart.times) == 0:
        raise InputError("nothing to plot yet: no candles were processed")
    if path.suffix.lower() == ".png":
        from papertrade.views.png import png_bytes

        data = png_bytes(chart)
    else:
        from papertrade.views.charts import html_page

        data = html_page(chart).encode()
    write_output(check_output(path, "--plot", ledger), data)
    return path
