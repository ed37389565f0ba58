"""Interactive charts of a performance, drawn by Plotly (https://plotly.com/python/).

One figure, top to bottom on one linked time axis: per symbol, its candles with the buys and
sells on them (and any indicator on the price's scale, such as moving averages); the panel of
each indicator the strategy acts on at fixed levels (RSI with oversold and overbought); the
equity beside buy-and-hold and the starting cash; the drawdown. `--plot FILE.html` writes it
with Plotly's JavaScript inline; the dashboard serves the same figure as JSON and that
JavaScript from the installed `plotly` package, so neither needs a network.
"""

import html

from papertrade.domain import numbers
from papertrade.views.chart_data import ChartData, merged_note

UP, DOWN, EQUITY, HOLD = "#26a69a", "#ef5350", "#1f77b4", "#8c8c8c"
LIQUIDATION = "#b45309"  # amber: a level the market must not reach
_WEIGHTS = {"price": 3.0, "indicator": 1.1, "equity": 2.0, "drawdown": 1.0}
_TIME_FORMAT = "%Y-%m-%d %H:%M"


def figure(chart: ChartData):
    """The Plotly figure of `chart` (a `plotly.graph_objects.Figure`)."""
    from plotly.subplots import make_subplots

    rows = _rows(chart)
    weights = [_WEIGHTS[kind] for kind, _ in rows]
    fig = make_subplots(
        rows=len(rows),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.025,
        row_heights=[w / sum(weights) for w in weights],
    )
    for number, (kind, subject) in enumerate(rows, start=1):
        _DRAW[kind](fig, chart, subject, number)
    fig.update_xaxes(type="date", rangeslider_visible=False, hoverformat=_TIME_FORMAT, showspikes=True,
                     spikemode="across", spikethickness=1, spikedash="dot", spikecolor="#999")  # fmt: skip
    fig.update_xaxes(title_text="time (UTC)", row=len(rows), col=1)
    fig.update_layout(
        template="plotly_white",
        height=int(120 * sum(weights)) + 80,
        margin={"l": 80, "r": 30, "t": 60, "b": 50},
        hovermode="x",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
        uirevision="keep",  # a refresh keeps the user's zoom
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    return fig


def _rows(chart: ChartData) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for symbol in chart.candles:
        rows.append(("price", symbol))
        rows += [
            ("indicator", f"{symbol}\n{name}") for name in chart.indicators.get(symbol, {}) if name in chart.levels
        ]
    return [*rows, ("equity", ""), ("drawdown", "")]


def _price(fig, chart: ChartData, symbol: str, row: int) -> None:
    import plotly.graph_objects as go

    candles = chart.candles[symbol].thinned()
    fig.add_trace(
        go.Candlestick(x=candles.ts, open=candles.open, high=candles.high, low=candles.low, close=candles.close,
                       name=symbol, increasing_line_color=UP, decreasing_line_color=DOWN, showlegend=False),
        row=row, col=1,
    )  # fmt: skip
    for name, (ts, values) in chart.indicators.get(symbol, {}).items():
        if name not in chart.levels:
            fig.add_trace(go.Scatter(x=ts, y=values, name=name, mode="lines", line={"width": 1}), row=row, col=1)
    for side, marker, color in (("BUY", "triangle-up", UP), ("SELL", "triangle-down", DOWN)):
        fills = [f for f in chart.fills if f.symbol == symbol and f.side == side]
        if fills:
            fig.add_trace(_markers(fills, side, marker, color, chart.quote), row=row, col=1)
    for order in (o for o in chart.orders if o.symbol == symbol):
        fig.add_trace(_resting(order, candles, chart.timeframe_ms or 0), row=row, col=1)
    for trace in _past(chart, symbol):
        fig.add_trace(trace, row=row, col=1)
    if symbol in chart.liquidations:
        fig.add_trace(_liquidation(*chart.liquidations[symbol], candles, chart.timeframe_ms or 0), row=row, col=1)
    fig.update_yaxes(title_text=f"{symbol} [{chart.quote}]", tickformat=",", row=row, col=1)
    merged = aggregation(candles.ts, chart.timeframe_ms)
    if merged:
        fig.add_annotation(text=merged, xref="x domain", yref="y domain", x=0, y=1, xanchor="left", yanchor="top",
                           showarrow=False, font={"size": 11, "color": "#6b7280"}, row=row, col=1)  # fmt: skip


def aggregation(ts, timeframe_ms: int | None) -> str | None:
    """Whether the candles at `ts` are wider than the timeframe's (merged to keep the chart
    light) and how wide, said for people; None when each bar is one candle."""
    import numpy as np

    if not timeframe_ms or len(ts) < 2:
        return None
    width = int(np.min(np.diff(np.asarray(ts, dtype=np.int64))))
    return merged_note(width, timeframe_ms)


def _resting(order, candles, timeframe_ms: int):
    """A resting order as a dashed level from the candle it was placed on to the chart's right
    edge (the close of the last candle): one placed on the last candle is a candle long, not a
    point that is never drawn."""
    import plotly.graph_objects as go

    start = max(order.placed_ts, int(candles.ts[0])) if len(candles.ts) else order.placed_ts
    end = max(int(candles.ts[-1]) if len(candles.ts) else order.placed_ts, order.placed_ts) + timeframe_ms
    color = DOWN if order.kind in ("stop-loss", "trailing-stop") else UP
    return go.Scatter(
        x=[start, end],
        y=[float(order.price)] * 2,
        mode="lines",
        name=f"{order.kind} {numbers.price(order.price)}",
        line={"dash": "dash", "width": 1, "color": color},
        hovertext=f"resting {order.kind} {str(order.side).lower()} @ {numbers.price(order.price)}",
        hoverinfo="text",
    )


#: The newest past levels drawn per symbol and kind (a trailing stop moves on every candle).
MAX_PAST_LEVELS = 1500


def _past(chart: ChartData, symbol: str) -> list:
    """The levels orders held before they filled, were cancelled, expired or moved: one dotted
    trace per kind, each level from the candle it was set on to the one it ended on."""
    import plotly.graph_objects as go

    from papertrade.domain.timeframes import timestamp

    by_kind: dict[str, list] = {}
    for level in chart.past_levels:
        if level.symbol == symbol:
            by_kind.setdefault(level.kind, []).append(level)
    traces = []
    for kind, levels in by_kind.items():
        x, y, text = [], [], []
        for level in levels[-MAX_PAST_LEVELS:]:
            end = max(level.end_ts, level.start_ts + (chart.timeframe_ms or 0))
            said = f"{kind} @ {numbers.price(level.price)}: {level.ended} on {timestamp(level.end_ts)}"
            x += [level.start_ts, end, None]
            y += [level.price, level.price, None]
            text += [said, said, None]
        color = DOWN if kind in ("stop-loss", "trailing-stop") else UP
        style = {"line": {"dash": "dot", "width": 1, "color": color}, "opacity": 0.7, "connectgaps": False}
        name = f"{kind} (past)"
        traces.append(go.Scatter(x=x, y=y, mode="lines", name=name, hovertext=text, hoverinfo="text", **style))
    return traces


def _liquidation(level, since_ts: int, candles, timeframe_ms: int):
    """An open position's liquidation price as a dotted level from its last fill's candle to the
    chart's right edge (`domain.margin`)."""
    import plotly.graph_objects as go

    start = max(since_ts, int(candles.ts[0])) if len(candles.ts) else since_ts
    end = max(int(candles.ts[-1]) if len(candles.ts) else since_ts, since_ts) + timeframe_ms
    return go.Scatter(
        x=[start, end],
        y=[float(level)] * 2,
        mode="lines",
        name=f"liquidation {numbers.price(level)}",
        line={"dash": "dot", "width": 2, "color": LIQUIDATION},
        hovertext=f"liquidation price {numbers.price(level)}: the position is closed if the price reaches it",
        hoverinfo="text",
    )


def _markers(fills, side: str, marker: str, color: str, quote: str):
    import plotly.graph_objects as go

    return go.Scatter(
        x=[f.candle_ts for f in fills],
        y=[float(f.price) for f in fills],
        mode="markers",
        name=side.lower(),
        marker={"symbol": marker, "size": 11, "color": color, "line": {"width": 1, "color": "#333"}},
        hovertext=[fill_text(f, side, quote) for f in fills],
        hoverinfo="text+x",
    )


def fill_text(fill, side: str, quote: str) -> str:
    """A fill's hover text, in the one number format (`papertrade.domain.numbers`)."""
    return (
        f"{side} {numbers.amount(fill.quantity)} @ {numbers.price(fill.price)}, "
        f"fee {numbers.fee(fill.fee, quote)} {quote} ({fill.kind})"
    )


def _indicator(fig, chart: ChartData, subject: str, row: int) -> None:
    import plotly.graph_objects as go

    symbol, name = subject.split("\n")
    ts, values = chart.indicators[symbol][name]
    fig.add_trace(go.Scatter(x=ts, y=values, name=name, mode="lines", line={"color": "#7e57c2", "width": 1.2}),
                  row=row, col=1)  # fmt: skip
    for level in chart.levels[name]:
        fig.add_hline(y=level, line={"dash": "dash", "color": "#999", "width": 1}, row=row, col=1,
                      annotation_text=f"{level:g}", annotation_position="right")  # fmt: skip
    label = name.upper() if len(name) <= 4 else name
    fig.update_yaxes(title_text=label if len(chart.candles) == 1 else f"{label} {symbol}", row=row, col=1)


def _equity(fig, chart: ChartData, _subject: str, row: int) -> None:
    import plotly.graph_objects as go

    lines = chart.lines()
    fig.add_trace(go.Scatter(x=lines["times"], y=lines["equity"], name="equity", mode="lines",
                             line={"color": EQUITY, "width": 1.6}), row=row, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=lines["times"], y=lines["buy_and_hold"], name="buy & hold", mode="lines",
                             line={"color": HOLD, "width": 1.2, "dash": "dot"}), row=row, col=1)  # fmt: skip
    start = f"starting cash {numbers.money(chart.initial_cash, chart.quote)}"
    ends = [lines["times"][0], lines["times"][-1]] if len(lines["times"]) else []
    fig.add_trace(go.Scatter(x=ends, y=[chart.initial_cash] * len(ends), name=start, mode="lines", hoverinfo="skip",
                             line={"dash": "dash", "color": "#444", "width": 1}), row=row, col=1)  # fmt: skip
    # named in the legend, not written on the plot, where the equity line starts at the same height
    fig.update_yaxes(title_text=f"equity [{chart.quote}]", tickformat=",", row=row, col=1)


def _drawdown(fig, chart: ChartData, _subject: str, row: int) -> None:
    import plotly.graph_objects as go

    lines = chart.lines()
    fig.add_trace(go.Scatter(x=lines["times"], y=lines["drawdown"], name="drawdown", mode="lines", fill="tozeroy",
                             line={"color": DOWN, "width": 1}, showlegend=False), row=row, col=1)  # fmt: skip
    fig.update_yaxes(title_text="drawdown [%]", ticksuffix="%", row=row, col=1)


_DRAW = {"price": _price, "indicator": _indicator, "equity": _equity, "drawdown": _drawdown}


def drift_figure(drift):
    """`report --vs-backtest` as a figure: the paper equity and the backtest's on one axis,
    titled with the first divergence (or that there is none)."""
    import numpy as np
    import plotly.graph_objects as go

    from papertrade.domain.timeframes import timestamp

    fig = go.Figure()
    for side, name, style in ((drift.paper, "paper", {"color": EQUITY, "width": 1.6}),
                              (drift.backtest, "backtest", {"color": HOLD, "width": 1.4, "dash": "dot"})):  # fmt: skip
        performance = side.performance
        times = np.asarray(performance.times, dtype=np.int64)  # ms: Plotly reads them as UTC dates
        fig.add_trace(go.Scatter(x=times, y=performance.equity.floats(), name=f"{name} equity", mode="lines",
                                 line=style))  # fmt: skip
    divergence = drift.divergence
    title = "paper and backtest agree fill for fill"
    if divergence is not None:
        title = f"first divergence {timestamp(divergence.candle_ts)}: {divergence.reason.replace('_', ' ')}"
    quote = drift.paper.performance.quote
    fig.update_layout(template="plotly_white", height=320, title={"text": f"Paper against backtest: {title}"},
                      margin={"l": 80, "r": 30, "t": 60, "b": 40}, hovermode="x", uirevision="keep",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
                      font={"family": "system-ui, sans-serif", "size": 12})  # fmt: skip
    fig.update_xaxes(type="date", hoverformat=_TIME_FORMAT, title_text="time (UTC)")
    fig.update_yaxes(title_text=f"equity [{quote}]", tickformat=",")
    return fig


def figure_json(chart: ChartData) -> str:
    """The figure as Plotly's JSON (what `Plotly.react` takes)."""
    return figure(chart).to_json()


def html_page(chart: ChartData) -> str:
    """One self-contained page: the figure with Plotly's JavaScript inline, no network."""
    body = figure(chart).to_html(full_html=False, include_plotlyjs=True, config=CONFIG, default_width="100%")
    title = html.escape(chart.title)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font:14px system-ui,sans-serif;margin:16px;color:#222}h1{font-size:18px;margin:0 0 4px}"
        "p{color:#666;margin:0 0 8px}</style></head><body>"
        f"<h1>{title}</h1><p>Drag to zoom into a period, double-click to zoom out; hover to read values.</p>"
        f"{body}</body></html>\n"
    )


#: Plotly's options for every chart: no logo, no lasso or box select (nothing to select).
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}
