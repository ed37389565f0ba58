// papertrade dashboard: refresh the page's data sections and its chart in place, every
// `data-refresh` seconds, without reloading. The server renders (and escapes) every section;
// this script only swaps the fresh copies in, so no user-named text ever becomes markup here.
(function () {
  "use strict";
  const seconds = Number(document.body.dataset.refresh) || 0;
  const status = document.getElementById("updated");
  const chartConfig = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"]};
  let timer = null;

  function stamp(text) {
    if (status) status.textContent = text;
  }

  // Times: the server writes every time as <time datetime="…Z">, in UTC (the ledger's); the
  // switch in the header shows them in this browser's time zone instead, and remembers it.
  const zoneButton = document.getElementById("time-zone");
  let local = localStorage.getItem("papertrade-times") === "local";

  function pad(n) { return String(n).padStart(2, "0"); }

  function shown(date) {
    if (!local) return date.toISOString().slice(0, 16).replace("T", " ") + "Z";
    const offset = -date.getTimezoneOffset();
    const zone = (offset >= 0 ? "+" : "-") + pad(Math.floor(Math.abs(offset) / 60)) + ":" + pad(Math.abs(offset) % 60);
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + zone;
  }

  function showTimes() {
    for (const element of document.querySelectorAll("time[datetime]")) {
      if (element.dataset.utc === undefined) element.dataset.utc = element.textContent;
      element.textContent = local ? shown(new Date(element.getAttribute("datetime"))) : element.dataset.utc;
    }
    if (zoneButton) zoneButton.textContent = local ? "times: local" : "times: UTC";
    document.body.dataset.times = local ? "local" : "utc";
  }

  if (zoneButton) {
    zoneButton.addEventListener("click", function () {
      local = !local;
      localStorage.setItem("papertrade-times", local ? "local" : "utc");
      showTimes();
    });
  }

  // A refresh the server answers with an error that waiting will not fix: say so, stop refreshing.
  class Gone extends Error {}

  async function fetched(url) {
    // "no-cache": the browser asks with If-None-Match and the server answers 304 when nothing changed
    const response = await fetch(url, {credentials: "same-origin", cache: "no-cache"});
    if (response.status === 404) throw new Gone("this portfolio no longer exists (deleted?): the page stopped refreshing");
    if (response.status === 401) throw new Gone("the token is no longer accepted: reload the page to sign in again");
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response;
  }

  // The ETag each resource last had: an answer with the same one (a 304 the browser filled in)
  // changed nothing, so nothing is parsed, swapped or redrawn.
  const seen = {};

  function unchanged(url, response) {
    const tag = response.headers.get("ETag");
    if (tag && seen[url] === tag) return true;
    seen[url] = tag;
    return false;
  }

  async function refreshSections() {
    const response = await fetched(location.href);
    if (unchanged(location.href, response)) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const section of fresh.querySelectorAll("[data-refresh-section][id]")) {
      const current = document.getElementById(section.id);
      if (current) current.replaceWith(document.adoptNode(section));
    }
  }

  async function drawCharts() {
    for (const target of document.querySelectorAll(".chart[data-src]")) await drawChart(target);
  }

  async function drawChart(target) {
    if (typeof Plotly === "undefined") return;
    const response = await fetched(target.dataset.src);
    if (unchanged(target.dataset.src, response) && target.dataset.drawn) return;
    const figure = await response.json();
    if (figure === null) return;
    target.style.height = (figure.layout.height || 600) + "px";  // the page flows around the whole figure
    target.hidden = false;  // shown before Plotly measures it: a hidden panel measures as Plotly's 700 px default
    const layout = Object.assign({}, figure.layout, {autosize: true});
    delete layout.width;
    await Plotly.react(target, figure.data, layout, chartConfig);
    whole[target.id] = figure;
    if (!target.dataset.zoomable) {
      target.dataset.zoomable = "1";
      target.on("plotly_relayout", function (change) { zoomed(target, change).catch(function () {}); });
    }
    if (target.zoom) await showRange(target, target.zoom);  // a refresh keeps the zoom: its candles too
    target.dataset.drawn = String(Number(target.dataset.drawn || 0) + 1);
  }

  // Zoom: the price panels show the visible range's real candles (merged ones only when more
  // than the chart holds), with the price axis fitted to them; zooming out restores the whole.
  const whole = {};

  function rangeOf(change) {
    for (const key of Object.keys(change)) {
      if (/^xaxis\d*\.autorange$/.test(key)) return null;
      let found = key.match(/^(xaxis\d*)\.range\[0\]$/);
      if (found) return [change[key], change[found[1] + ".range[1]"]];
      found = key.match(/^xaxis\d*\.range$/);
      if (found) return change[key];
    }
    return undefined;  // not a change of the time axis (the price axis this code set, say)
  }

  function ms(value) {
    return typeof value === "number" ? value : Date.parse(String(value).replace(" ", "T") + "Z");
  }

  async function zoomed(target, change) {
    const range = rangeOf(change);
    if (range === undefined) return;
    target.zoom = range === null ? null : [ms(range[0]), ms(range[1])];
    if (range === null) return restore(target);
    await showRange(target, target.zoom);
  }

  function candleTraces(target) {
    return target.data.map(function (trace, index) { return [trace, index]; })
      .filter(function (pair) { return pair[0].type === "candlestick"; });
  }

  async function showRange(target, range) {
    const [from, to] = range;
    for (const [trace, index] of candleTraces(target)) {
      const url = target.dataset.src.replace(/chart$/, "candles") + "?symbol=" + encodeURIComponent(trace.name) +
        "&from=" + Math.max(0, Math.floor(from)) + "&to=" + Math.max(0, Math.ceil(to));
      const found = await (await fetched(url)).json();
      if (found) {
        await Plotly.restyle(target, {x: [found.ts], open: [found.open], high: [found.high], low: [found.low],
                                      close: [found.close]}, [index]);
        note(target, trace, found.note);
      }
      await fitPrices(target, target.data[index], from, to);
    }
  }

  async function fitPrices(target, trace, from, to) {
    let low = Infinity, high = -Infinity;
    for (let i = 0; i < trace.x.length; i++) {
      const t = ms(trace.x[i]);
      if (t < from || t > to) continue;
      low = Math.min(low, trace.low[i]);
      high = Math.max(high, trace.high[i]);
    }
    if (!(high >= low)) return;
    const pad = (high - low) * 0.05 || Math.abs(high) * 0.01 || 1;
    const axis = (trace.yaxis || "y").replace("y", "yaxis");
    const update = {};
    update[axis + ".range"] = [low - pad, high + pad];
    await Plotly.relayout(target, update);
  }

  function note(target, trace, text) {
    const domain = (trace.yaxis || "y") + " domain";
    const annotations = target.layout.annotations || [];
    const index = annotations.findIndex(function (a) { return a.yref === domain && a.x === 0 && a.y === 1; });
    const update = {};
    if (index >= 0) update["annotations[" + index + "].text"] = text;
    else update["annotations[" + annotations.length + "]"] = {text: text, xref: (trace.xaxis || "x") + " domain",
      yref: domain, x: 0, y: 1, xanchor: "left", yanchor: "top", showarrow: false, font: {size: 11, color: "#6b7280"}};
    return Plotly.relayout(target, update);
  }

  async function restore(target) {
    const figure = whole[target.id];
    if (!figure) return;
    const layout = Object.assign({}, figure.layout, {autosize: true});
    delete layout.width;
    await Plotly.react(target, figure.data, layout, chartConfig);
    const update = {};
    for (const [trace] of candleTraces(target)) update[(trace.yaxis || "y").replace("y", "yaxis") + ".autorange"] = true;
    await Plotly.relayout(target, update);
  }

  function gone(error) {
    clearInterval(timer);
    stamp("read-only · " + error.message);
    const note = document.createElement("p");
    note.className = "warning";
    note.id = "gone";
    note.textContent = error.message[0].toUpperCase() + error.message.slice(1) + ".";
    document.querySelector("main").prepend(note);
  }

  async function refresh(first) {
    try {
      if (!first) await refreshSections();
      await drawCharts();
      showTimes();
      stamp("read-only · updated " + shown(new Date()).slice(11));
    } catch (error) {
      if (error instanceof Gone) gone(error);
      else stamp("read-only · refresh failed (" + error.message + "), retrying");
    }
  }

  // Plotly's `responsive` follows window resizes; a panel that changes width otherwise follows too.
  for (const chart of document.querySelectorAll(".chart[data-src]")) {
    if (typeof ResizeObserver === "undefined" || typeof Plotly === "undefined") break;
    new ResizeObserver(function () { if (chart.dataset.drawn) Plotly.Plots.resize(chart); }).observe(chart);
  }
  showTimes();
  if (seconds > 0) {
    refresh(true);
    timer = setInterval(function () { refresh(false); }, seconds * 1000);
  }
})();
