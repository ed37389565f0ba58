// papertrade dashboard: refresh the page's data sections and its chart in place, every
// `data-refresh` seconds, without reloading. The server renders (and escapes) every section;
// this script only swaps the fresh copies in, so no user-named text ever becomes markup here.
(function () {
  "use strict";
  const seconds = Number(document.body.dataset.refresh) || 15;
  const status = document.getElementById("updated");
  const chartConfig = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"]};

  function stamp(text) {
    if (status) status.textContent = text;
  }

  async function refreshSections() {
    const response = await fetch(location.href, {credentials: "same-origin", cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const section of fresh.querySelectorAll("[data-refresh-section][id]")) {
      const current = document.getElementById(section.id);
      if (current) current.replaceWith(document.adoptNode(section));
    }
  }

  async function drawChart() {
    const target = document.getElementById("chart");
    if (!target || typeof Plotly === "undefined") return;
    const response = await fetch(target.dataset.src, {credentials: "same-origin", cache: "no-store"});
    if (!response.ok) throw new Error("chart: HTTP " + response.status);
    const figure = await response.json();
    if (figure === null) return;
    target.style.height = (figure.layout.height || 600) + "px";  // the page flows around the whole figure
    await Plotly.react(target, figure.data, figure.layout, chartConfig);
    target.dataset.drawn = String(Number(target.dataset.drawn || 0) + 1);
  }

  async function refresh(first) {
    try {
      if (!first) await refreshSections();
      await drawChart();
      stamp("read-only · updated " + new Date().toLocaleTimeString());
    } catch (error) {
      stamp("read-only · refresh failed (" + error.message + "), retrying");
    }
  }

  refresh(true);
  setInterval(function () { refresh(false); }, seconds * 1000);
})();
