"""Charts of a performance: equity curve, drawdown, and price with buy and sell markers.

`FILE.png` is drawn with matplotlib (headless); `FILE.html` is one self-contained page (inline
SVG and JavaScript, no network) with a crosshair read-out and drag-to-zoom.
"""

import json
from pathlib import Path

from papertrade.errors import InputError, SetupError
from papertrade.services.performance import Performance


def write_plot(performance: Performance, path: Path, title: str) -> Path:
    """Write the chart to `path`, choosing the format from its suffix (.png or .html)."""
    suffix = path.suffix.lower()
    if suffix not in (".png", ".html"):
        raise InputError(f"--plot takes a .png or .html file, not {path.name!r}")
    if len(performance.times) == 0:
        raise InputError("nothing to plot yet: no candles were processed")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".png":
            _png(performance, path, title)
        else:
            path.write_text(_html(performance, title), encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"cannot write {path}: {exc.strerror}") from None
    return path


def _series(performance: Performance) -> dict:
    """What the charts draw, thinned to at most `_POINTS` points (a chart is a few thousand
    pixels wide; a backtest may have hundreds of thousands of candles)."""
    import numpy as np

    equity = performance.equity.floats()
    peaks = np.maximum.accumulate(equity)
    drawdown = np.where(peaks > 0, (equity / np.where(peaks > 0, peaks, 1) - 1) * 100, 0.0)
    symbol = next(iter(performance.prices), None)
    price_times, prices = performance.prices.get(symbol, ([], []))
    keep = _every(len(equity))
    keep_prices = _every(len(prices))
    return {
        "times": np.asarray(performance.times)[keep].tolist(),
        "equity": equity[keep].tolist(),
        "drawdown": drawdown[keep].tolist(),
        "symbol": symbol or "",
        "price_times": np.asarray(price_times)[keep_prices].tolist(),
        "prices": np.asarray(prices, dtype=float)[keep_prices].tolist(),
        "buys": [[f.candle_ts, float(f.price)] for f in performance.fills if f.symbol == symbol and f.side == "BUY"],
        "sells": [[f.candle_ts, float(f.price)] for f in performance.fills if f.symbol == symbol and f.side == "SELL"],
    }


_POINTS = 4000


def _every(count: int):
    """Indices that thin `count` points to about `_POINTS`, always keeping the last."""
    import numpy as np

    step = max(1, count // _POINTS)
    return np.unique(np.r_[np.arange(0, count, step), count - 1]) if count else np.arange(0)


def _png(performance: Performance, path: Path, title: str) -> None:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise SetupError("PNG plots need matplotlib: pip install 'papertrade[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import numpy as np

    data = _series(performance)
    times = np.array(data["times"], dtype="datetime64[ms]")
    figure, (top, middle, bottom) = plt.subplots(
        3, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 3]}
    )
    top.plot(times, data["equity"], color="#1f77b4", linewidth=1.2)
    top.set_ylabel(f"equity [{performance.quote}]")
    top.set_title(title)
    middle.fill_between(times, data["drawdown"], 0, color="#d62728", alpha=0.35, linewidth=0)
    middle.set_ylabel("drawdown [%]")
    bottom.plot(np.array(data["price_times"], dtype="datetime64[ms]"), data["prices"], color="#555", linewidth=0.8)
    for points, marker, color, label in (
        (data["buys"], "^", "#2ca02c", "buy"),
        (data["sells"], "v", "#d62728", "sell"),
    ):
        if points:
            when = np.array([p[0] for p in points], dtype="datetime64[ms]")
            bottom.scatter(when, [p[1] for p in points], marker=marker, color=color, s=36, label=label, zorder=3)
    bottom.set_ylabel(f"{data['symbol']} close")
    if data["buys"] or data["sells"]:
        bottom.legend(loc="upper left")
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(bottom.xaxis.get_major_locator()))
    for axis in (top, middle, bottom):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _html(performance: Performance, title: str) -> str:
    data = json.dumps(_series(performance), separators=(",", ":"))
    return _PAGE.replace("__TITLE__", _escape(title)).replace("__DATA__", data).replace("__QUOTE__", performance.quote)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:18px;margin:0 0 4px}
#help{color:#666;margin:0 0 8px}
svg{display:block;width:100%;user-select:none}
.readout{font:12px ui-monospace,monospace;fill:#222}
</style></head><body>
<h1>__TITLE__</h1>
<p id="help">Move over the charts to read values; drag to zoom into a period; double-click to zoom out.</p>
<svg id="chart" viewBox="0 0 1000 640" preserveAspectRatio="none"></svg>
<script id="data" type="application/json">__DATA__</script>
<script>
(function () {
  const d = JSON.parse(document.getElementById("data").textContent);
  const svg = document.getElementById("chart");
  const NS = "http://www.w3.org/2000/svg", L = 70, R = 990;
  const panels = [
    {name: "equity [__QUOTE__]", top: 10, h: 260, t: d.times, v: d.equity, color: "#1f77b4"},
    {name: "drawdown [%]", top: 290, h: 90, t: d.times, v: d.drawdown, color: "#d62728", fill: true},
    {name: d.symbol + " close", top: 400, h: 220, t: d.price_times, v: d.prices, color: "#555"}
  ];
  let lo = d.times[0], hi = d.times[d.times.length - 1];
  if (hi === lo) hi = lo + 1;
  const el = (tag, attrs, parent) => {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    (parent || svg).appendChild(e);
    return e;
  };
  const x = (t) => L + (t - lo) / (hi - lo) * (R - L);
  const fmt = (t) => new Date(t).toISOString().slice(0, 16).replace("T", " ") + "Z";
  function visible(p) {
    const idx = [];
    for (let i = 0; i < p.t.length; i++) if (p.t[i] >= lo && p.t[i] <= hi) idx.push(i);
    return idx;
  }
  function draw() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    for (const p of panels) {
      const idx = visible(p);
      let min = Infinity, max = -Infinity;
      for (const i of idx) { min = Math.min(min, p.v[i]); max = Math.max(max, p.v[i]); }
      if (!isFinite(min)) { min = 0; max = 1; }
      if (max === min) { max += 1; min -= 1; }
      p.y = (v) => p.top + p.h - (v - min) / (max - min) * p.h;
      el("rect", {x: L, y: p.top, width: R - L, height: p.h, fill: "none", stroke: "#ccc"});
      el("text", {x: 4, y: p.top + 12, class: "readout"}).textContent = p.name;
      el("text", {x: 4, y: p.top + 28, class: "readout"}).textContent = max.toPrecision(6);
      el("text", {x: 4, y: p.top + p.h, class: "readout"}).textContent = min.toPrecision(6);
      const step = Math.max(1, Math.floor(idx.length / 2000));
      let path = "";
      for (let k = 0; k < idx.length; k += step) {
        const i = idx[k];
        path += (path ? "L" : "M") + x(p.t[i]).toFixed(1) + "," + p.y(p.v[i]).toFixed(1);
      }
      if (p.fill && path) path += "L" + x(p.t[idx[idx.length - 1]]).toFixed(1) + "," + p.y(0) + "L" + x(p.t[idx[0]]).toFixed(1) + "," + p.y(0) + "Z";
      el("path", {d: path, fill: p.fill ? p.color : "none", "fill-opacity": p.fill ? 0.35 : 1, stroke: p.color, "stroke-width": 1.2});
    }
    const price = panels[2];
    for (const [list, color, up] of [[d.buys, "#2ca02c", true], [d.sells, "#d62728", false]]) {
      for (const [t, v] of list) {
        if (t < lo || t > hi) continue;
        const cx = x(t), cy = price.y(v), s = 6;
        const pts = up ? [cx, cy - s, cx - s, cy + s, cx + s, cy + s] : [cx, cy + s, cx - s, cy - s, cx + s, cy - s];
        el("polygon", {points: pts.join(","), fill: color});
      }
    }
    el("text", {x: L, y: 636, class: "readout"}).textContent = fmt(lo);
    el("text", {x: R, y: 636, class: "readout", "text-anchor": "end"}).textContent = fmt(hi);
    cursor = el("line", {y1: 10, y2: 620, stroke: "#999", "stroke-dasharray": "3,3", visibility: "hidden"});
    label = el("text", {x: L + 6, y: 24, class: "readout"});
    band = el("rect", {y: 10, height: 610, fill: "#1f77b4", "fill-opacity": 0.12, visibility: "hidden"});
  }
  let cursor, label, band, dragFrom = null;
  const toTime = (evt) => {
    const r = svg.getBoundingClientRect();
    const px = (evt.clientX - r.left) / r.width * 1000;
    return lo + (Math.min(Math.max(px, L), R) - L) / (R - L) * (hi - lo);
  };
  function nearest(list, t) {
    let best = 0;
    for (let i = 1; i < list.length; i++) if (Math.abs(list[i] - t) < Math.abs(list[best] - t)) best = i;
    return best;
  }
  svg.addEventListener("mousemove", (evt) => {
    const t = toTime(evt), i = nearest(d.times, t), j = nearest(d.price_times, t);
    cursor.setAttribute("x1", x(d.times[i])); cursor.setAttribute("x2", x(d.times[i]));
    cursor.setAttribute("visibility", "visible");
    label.textContent = fmt(d.times[i]) + "  equity " + d.equity[i].toFixed(2) + "  drawdown " +
      d.drawdown[i].toFixed(2) + "%  " + d.symbol + " " + (d.prices.length ? d.prices[j] : "");
    if (dragFrom !== null) {
      const a = Math.min(x(dragFrom), x(t)), b = Math.max(x(dragFrom), x(t));
      band.setAttribute("x", a); band.setAttribute("width", b - a); band.setAttribute("visibility", "visible");
    }
  });
  svg.addEventListener("mousedown", (evt) => { dragFrom = toTime(evt); });
  svg.addEventListener("mouseup", (evt) => {
    const t = toTime(evt);
    if (dragFrom !== null && Math.abs(x(t) - x(dragFrom)) > 5) { lo = Math.min(dragFrom, t); hi = Math.max(dragFrom, t); draw(); }
    dragFrom = null; band.setAttribute("visibility", "hidden");
  });
  svg.addEventListener("dblclick", () => { lo = d.times[0]; hi = Math.max(d.times[d.times.length - 1], lo + 1); draw(); });
  draw();
})();
</script></body></html>
"""
