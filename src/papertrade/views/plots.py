"""`--plot FILE`: the chart of a performance as one self-contained HTML page or a PNG."""

from pathlib import Path

from papertrade.errors import InputError, SetupError
from papertrade.views.chart_data import ChartData


def check_plot_path(path: Path) -> None:
    if path.suffix.lower() not in (".png", ".html"):
        raise InputError(f"--plot takes a .png or .html file, not {path.name!r}")


def write_plot(chart: ChartData, path: Path) -> Path:
    """Write the chart to `path`, choosing the format from its suffix (.png or .html)."""
    check_plot_path(path)
    if len(chart.times) == 0:
        raise InputError("nothing to plot yet: no candles were processed")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".png":
            from papertrade.views.png import write_png

            write_png(chart, path)
        else:
            from papertrade.views.charts import write_html

            write_html(chart, path)
    except OSError as exc:
        raise SetupError(f"cannot write {path}: {exc.strerror}") from None
    return path
