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

  // A refresh the server answers with an error that waiting will not fix: say so, stop refreshing.
  class Gone extends Error {}

  async function fetched(url) {
    const response = await fetch(url, {credentials: "same-origin", cache: "no-store"});
    if (response.status === 404) throw new Gone("this portfolio no longer exists (deleted?): the page stopped refreshing");
    if (response.status === 401) throw new Gone("the token is no longer accepted: reload the page to sign in again");
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response;
  }

  async function refreshSections() {
    const response = await fetched(location.href);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const section of fresh.querySelectorAll("[data-refresh-section][id]")) {
      const current = document.getElementById(section.id);
      if (current) current.replaceWith(document.adoptNode(section));
    }
  }

  async function drawChart() {
    const target = document.getElementById("chart");
    if (!target || typeof Plotly === "undefined") return;
    const figure = await (await fetched(target.dataset.src)).json();
    if (figure === null) return;
    target.style.height = (figure.layout.height || 600) + "px";  // the page flows around the whole figure
    target.hidden = false;  // shown before Plotly measures it: a hidden panel measures as Plotly's 700 px default
    const layout = Object.assign({}, figure.layout, {autosize: true});
    delete layout.width;
    await Plotly.react(target, figure.data, layout, chartConfig);
    target.dataset.drawn = String(Number(target.dataset.drawn || 0) + 1);
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
      await drawChart();
      stamp("read-only · updated " + new Date().toLocaleTimeString());
    } catch (error) {
      if (error instanceof Gone) gone(error);
      else stamp("read-only · refresh failed (" + error.message + "), retrying");
    }
  }

  // Plotly's `responsive` follows window resizes; a panel that changes width otherwise follows too.
  const chart = document.getElementById("chart");
  if (chart && typeof ResizeObserver !== "undefined" && typeof Plotly !== "undefined") {
    new ResizeObserver(function () { if (chart.dataset.drawn) Plotly.Plots.resize(chart); }).observe(chart);
  }
  if (seconds > 0) {
    refresh(true);
    timer = setInterval(function () { refresh(false); }, seconds * 1000);
  }
})();
