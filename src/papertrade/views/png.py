"""The same chart as `charts.figure`, as a static PNG drawn by matplotlib (headless)."""

from papertrade.domain.numbers import money
from papertrade.views.chart_data import ChartData
from papertrade.views.charts import DOWN, EQUITY, HOLD, UP


def png_bytes(chart: ChartData) -> bytes:
    """The chart as a PNG image."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(chart)
    figure, axes = plt.subplots(
        len(panels), 1, figsize=(12, 2.2 * len(panels) + 1.5), sharex=True,
        gridspec_kw={"height_ratios": [ratio for _, _, ratio in panels]}, squeeze=False,
    )  # fmt: skip
    axes = axes[:, 0]
    for axis, (draw, subject, _) in zip(axes, panels, strict=True):
        draw(axis, chart, subject)
        axis.grid(alpha=0.3)
    axes[0].set_title(chart.title, loc="left", fontsize=11)
    _time_axis(axes[-1])
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=110)
    plt.close(figure)
    return image.getvalue()


def _panels(chart: ChartData) -> list[tuple]:
    panels = []
    for symbol in chart.candles:
        panels.append((_price, symbol, 3.0))
        panels += [
            (_indicator, (symbol, name), 1.1) for name in chart.indicators.get(symbol, {}) if name in chart.levels
        ]
    return [*panels, (_equity, None, 2.2), (_drawdown, None, 1.0)]


def _dates(ms):
    import numpy as np

    return np.asarray(ms, dtype="int64").astype("datetime64[ms]")


def _price(axis, chart: ChartData, symbol: str) -> None:
    candles = chart.candles[symbol].thinned(600)
    when = _dates(candles.ts)
    rising = candles.close >= candles.open
    axis.vlines(when, candles.low, candles.high, color="#777", linewidth=0.6)
    for mask, color in ((rising, UP), (~rising, DOWN)):
        axis.vlines(when[mask], candles.open[mask], candles.close[mask], color=color, linewidth=2.2)
    for name, (ts, values) in chart.indicators.get(symbol, {}).items():
        if name not in chart.levels:
            axis.plot(_dates(ts), values, linewidth=0.9, label=name)
    for side, marker, color in (("BUY", "^", UP), ("SELL", "v", DOWN)):
        fills = [f for f in chart.fills if f.symbol == symbol and f.side == side]
        if fills:
            axis.scatter(_dates([f.candle_ts for f in fills]), [float(f.price) for f in fills], marker=marker,
                         color=color, edgecolors="#333", s=46, zorder=3, label=side.lower())  # fmt: skip
    axis.set_ylabel(f"{symbol} [{chart.quote}]")
    _thousands(axis)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(loc="upper left", fontsize=9)


def _indicator(axis, chart: ChartData, subject: tuple[str, str]) -> None:
    symbol, name = subject
    ts, values = chart.indicators[symbol][name]
    axis.plot(_dates(ts), values, color="#7e57c2", linewidth=0.9)
    for level in chart.levels[name]:
        axis.axhline(level, color="#999", linestyle="--", linewidth=0.8)
        axis.annotate(f"{level:g}", (1.002, level), xycoords=("axes fraction", "data"), fontsize=8, va="center")
    axis.set_ylabel(name.upper() if len(name) <= 4 else name)


def _equity(axis, chart: ChartData, _subject) -> None:
    lines = chart.lines()
    when = _dates(lines["times"])
    axis.plot(when, lines["equity"], color=EQUITY, linewidth=1.3, label="equity")
    axis.plot(when, lines["buy_and_hold"], color=HOLD, linewidth=1.0, linestyle=":", label="buy & hold")
    axis.axhline(chart.initial_cash, color="#444", linestyle="--", linewidth=0.8,
                 label=f"starting cash {money(chart.initial_cash, chart.quote)}")  # fmt: skip
    axis.set_ylabel(f"equity [{chart.quote}]")
    _thousands(axis)
    axis.legend(loc="upper left", fontsize=9)


def _drawdown(axis, chart: ChartData, _subject) -> None:
    lines = chart.lines()
    axis.fill_between(_dates(lines["times"]), lines["drawdown"], 0, color=DOWN, alpha=0.35, linewidth=0)
    axis.set_ylabel("drawdown [%]")


def _thousands(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.10g}"))


def _time_axis(axis) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axis.set_xlabel("time (UTC)")
