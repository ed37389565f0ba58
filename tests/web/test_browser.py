"""The dashboard in a real browser: Playwright driving Debian's Chromium against `papertrade serve`.

One server process (the installed command, with a token) and one browser for the module.
Every page is screenshotted into a temporary folder, printed at the end of the run.
"""

import os
import re
import subprocess
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from tests.support.cli import run_inprocess, run_json
from tests.support.paths import DATA, REPO, VENV_BIN
from tests.web.conftest import HOSTILE, build_failing_ledger, build_ledger

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-test-token-0123456789abcdef"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no browser: /usr/bin/chromium is missing (.ci/run installs Debian's chromium)"
    ),
    pytest.mark.slow,  # a browser and two servers
]


class Server:
    """`papertrade serve` as its own process, on a free port."""

    def __init__(self, db: Path, *options: str) -> None:
        command = [str(VENV_BIN / "papertrade"), "--db", str(db), "serve", "--port", "0", *options]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})  # fmt: skip
        line = self.process.stdout.readline()
        found = re.search(r"(http://\S+/)", line)
        if not found:
            self.stop()
            raise AssertionError(f"serve did not start: {line}{self.process.stderr.read()}")
        self.url = found.group(1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browsed") / "ledger.db"
    build_ledger(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="module")
def untouched(ledger_file):
    """The ledger file's bytes before the server opened it; compared once browsing is over."""
    before = ledger_file.read_bytes()
    yield before
    assert ledger_file.read_bytes() == before, "the dashboard changed the ledger file"


@pytest.fixture(scope="module")
def server(ledger_file, untouched):
    started = Server(ledger_file, "--token", TOKEN)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    """A temporary folder, or the one SCREENSHOT_DIR names (to keep them)."""
    chosen = os.environ.get("SCREENSHOT_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\ndashboard screenshots: {folder}")


class Watched:
    """A page that records console errors, failed requests and dialogs (an alert is an injection)."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))


@pytest.fixture(scope="module")
def context(browser, server):
    signed_in = browser.new_context(viewport={"width": 1440, "height": 1000})
    signed_in.new_page().goto(f"{server.url}?token={TOKEN}")  # the cookie every later page sends
    yield signed_in
    signed_in.close()


def shown(text: str) -> Decimal:
    return Decimal(text.split()[0].replace(",", ""))


def cents(value: str, rounding=ROUND_FLOOR) -> Decimal:
    """Money in USDT as the command line shows it: cents, rounded down (a fee: up); exact when
    smaller than a cent."""
    exact = Decimal(value)
    return exact if abs(exact) < Decimal("0.01") else exact.quantize(Decimal("0.01"), rounding=rounding)


def test_the_overview_shows_every_bot_with_the_clis_numbers(context, server, ledger_file, capsys, screenshots):
    watched = Watched(context)
    page = watched.page
    page.goto(server.url)
    page.screenshot(path=screenshots / "overview.png", full_page=True)
    for pid in (1, 2):
        row = page.locator(f"tr[data-portfolio='{pid}']")
        status = run_json(capsys, ledger_file, "status", str(pid))
        stats = run_json(capsys, ledger_file, "report", str(pid))["stats"]
        assert shown(row.locator("[data-field=cash]").inner_text()) == cents(status["cash"])
        assert shown(row.locator("[data-field=equity]").inner_text()) == cents(status["equity"])
        assert row.locator("[data-field=return]").inner_text() == f"{stats['Return [%]']:+,.2f} %"
    assert page.locator("tr[data-portfolio='2'] a.name").inner_text() == HOSTILE
    assert page.locator("tr[data-portfolio='2'] .tick.stale").count() == 1
    assert watched.problems == []


def test_a_portfolio_page_draws_its_chart_and_shows_the_report(context, server, ledger_file, capsys, screenshots):
    watched = Watched(context)
    page = watched.page
    page.goto(f"{server.url}portfolios/1")
    page.wait_for_selector("#chart.js-plotly-plot[data-drawn] g.trace.boxes path", state="attached")
    # below it, the paper equity beside its backtest's (report --vs-backtest); a replay never parts from it
    page.wait_for_selector("#drift-chart.js-plotly-plot[data-drawn] .scatterlayer .trace", state="attached")
    page.screenshot(path=screenshots / "portfolio.png", full_page=True)
    assert page.locator("#drift-chart .scatterlayer .trace").count() == 2
    assert page.locator("#drift-chart .legendtext").all_text_contents() == ["paper equity", "backtest equity"]
    assert "agree fill for fill" in page.locator("#drift-chart .gtitle").text_content()
    report = run_json(capsys, ledger_file, "report", "1")
    buys = [t for t in report["trades"] if t["side"] == "BUY"]
    assert page.locator("#chart .scatterlayer .trace .points path").count() >= len(buys) > 0
    assert page.locator("#chart g.trace.boxes path").count() > 100  # a candle each
    for name in ("Equity Final [$]", "Commissions [$]", "Return [%]", "Max. Drawdown [%]", "# Trades", "Sharpe Ratio"):
        text, value = page.locator(f"[data-stat='{name}']").inner_text(), report["stats"][name]
        rounding = ROUND_CEILING if name == "Commissions [$]" else ROUND_FLOOR
        expected = cents(value, rounding) if isinstance(value, str) else Decimal(f"{value:.2f}")
        assert shown(text) == expected, name
    for symbol in report["symbols"]:
        if Decimal(symbol["quantity"]) > 0:
            row = page.locator(f"#positions tr[data-symbol='{symbol['symbol']}']")
            assert shown(row.locator("[data-field=unrealized]").inner_text()) == cents(symbol["unrealized_pnl"])
    assert watched.problems == []


def test_the_tick_journal_pages_back_through_every_candle(context, server, screenshots):
    watched = Watched(context)
    page = watched.page
    page.goto(f"{server.url}portfolios/1")
    first_row = page.locator("#journal tbody tr").first.inner_text()
    page.click("#journal a[rel=next]")
    page.wait_for_url(re.compile(r"page=2$"))
    assert page.locator("#journal tbody tr").count() == 50
    assert page.locator("#journal tbody tr").first.inner_text() != first_row
    page.click("#journal a:text('oldest »')")
    assert "warming up" in page.locator("#journal tbody tr").last.inner_text()
    page.screenshot(path=screenshots / "journal-oldest.png", full_page=True)
    assert watched.problems == []


def test_a_script_named_portfolio_is_shown_as_text(context, server, screenshots):
    watched = Watched(context)
    page = watched.page
    page.goto(f"{server.url}portfolios/2")
    page.wait_for_selector("#chart[data-drawn]", state="attached")
    assert page.locator("h1 .name").inner_text() == HOSTILE
    assert page.title() == f"{HOSTILE} · papertrade"
    assert page.locator(".tick.stale .badge").inner_text().startswith("stale:")
    page.screenshot(path=screenshots / "hostile-and-stale.png", full_page=True)
    assert watched.problems == []


def test_a_stale_symbol_shows_the_last_error_of_its_failing_runs(browser, tmp_path, screenshots):
    db = tmp_path / "failing.db"
    error = "binance did not answer in time (fetch BTC/USDT 1h candles)"
    build_failing_ledger(f"sqlite:///{db}", error)
    failing = Server(db)
    try:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        watched = Watched(context)
        page = watched.page
        page.goto(failing.url)
        tick = page.locator("tr[data-portfolio='1'] .tick.stale[data-symbol='BTC/USDT']")
        assert tick.locator("[data-field=last-error]").inner_text() == f"last error: {error}"
        assert "its runs fail (2 failed runs since" in tick.get_attribute("title")
        page.screenshot(path=screenshots / "failing-overview.png", full_page=True)
        page.goto(f"{failing.url}portfolios/1")
        assert page.locator(".tick.stale .badge").inner_text().endswith(f"the last with: {error}")
        assert watched.problems == []
        context.close()
    finally:
        failing.stop()


def test_without_the_token_every_page_is_401_with_a_form_that_signs_in(browser, server, screenshots):
    stranger = browser.new_context(viewport={"width": 390, "height": 844})
    watched = Watched(stranger)
    page = watched.page
    for path in ("", "api/overview", "portfolios/1"):
        assert page.goto(f"{server.url}{path}").status == 401
    page.screenshot(path=screenshots / "token-form.png", full_page=True)
    page.fill("#token", TOKEN)
    page.click("#token-form button")
    page.wait_for_selector("h1 .name")
    assert page.url == f"{server.url}portfolios/1"  # the token left the address bar for a cookie
    assert [p for p in watched.problems if "401" not in p] == []
    stranger.close()


def test_the_time_switch_shows_every_time_in_utc_or_the_browsers_zone(browser, server):
    kolkata = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="Asia/Kolkata")
    page = kolkata.new_page()
    page.goto(f"{server.url}portfolios/1?token={TOKEN}")
    first = page.locator("#journal tbody tr time").first
    utc = first.inner_text()
    assert utc.endswith("Z") and page.locator("#time-zone").inner_text() == "times: UTC"
    page.click("#time-zone")
    assert first.inner_text().endswith("+05:30") and first.inner_text() != utc
    assert page.locator("time[datetime]").evaluate_all("ts => ts.every(t => !t.textContent.endsWith('Z'))")
    page.reload()  # remembered, and applied to what a refresh brings too
    page.wait_for_function("document.body.dataset.times === 'local'")
    assert page.locator("#journal tbody tr time").first.inner_text().endswith("+05:30")
    page.click("#time-zone")
    assert page.locator("#journal tbody tr time").first.inner_text() == utc
    kolkata.close()


def test_pages_update_on_their_own_when_the_ledger_moves(browser, tmp_path, capsys, screenshots):
    db = tmp_path / "live.db"
    assert run_inprocess(capsys, "--db", str(db), "create-portfolio", "live", "10000").code == 0
    live = Server(db, "--refresh", "2")
    try:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        watched = Watched(context)
        page = watched.page
        page.goto(f"{live.url}portfolios/1")
        page.evaluate("window.notReloaded = true")
        assert "No candle processed yet" in page.locator("#journal").inner_text()
        replayed = run_json(capsys, db, "replay", "1", "BTC/USDT", "--data", str(DATA / "binance_BTC-USDT_1h.csv"),
                            "--to", "2020-12-02")  # fmt: skip
        page.wait_for_selector("#journal table", timeout=10_000)
        assert page.evaluate("window.notReloaded") is True
        assert f"{replayed['candles']} processed candles" in page.locator("#journal h2").inner_text()
        page.wait_for_selector("#chart[data-drawn] g.trace.boxes path", state="attached", timeout=10_000)
        page.screenshot(path=screenshots / "refreshed.png", full_page=True)
        assert watched.problems == []
        assert run_inprocess(capsys, "--db", str(db), "portfolio", "delete", "1", "--yes").code == 0
        page.wait_for_selector("#gone", timeout=10_000)  # the next refresh finds it gone: said once, and no retrying
        assert "no longer exists" in page.locator("#gone").inner_text()
        assert "retrying" not in page.locator("#updated").inner_text()
        context.close()
    finally:
        live.stop()


def test_the_html_plot_works_offline_in_the_browser(browser, ledger_file, tmp_path, capsys, screenshots):
    chart = tmp_path / "chart.html"
    assert run_inprocess(capsys, "--db", str(ledger_file), "report", "1", "--plot", str(chart)).code == 0
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, offline=True)
    watched = Watched(context)
    watched.page.goto(chart.as_uri())
    watched.page.wait_for_selector(".js-plotly-plot g.trace.boxes path", state="attached")
    watched.page.screenshot(path=screenshots / "report-plot.png", full_page=True)
    assert watched.problems == []
    context.close()


def chart_and_panel_widths(page) -> tuple[float, float]:
    """The drawn figure's width and its panel's inner width, in CSS pixels."""
    return page.evaluate(
        "() => { const c = document.getElementById('chart');"
        " return [c.querySelector('.main-svg').getBoundingClientRect().width, c.clientWidth]; }"
    )


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_chart_fills_its_panel_at_every_width_and_follows_resizes(browser, server, viewport, screenshots):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    watched = Watched(context)
    page = watched.page
    page.goto(f"{server.url}?token={TOKEN}")
    page.goto(f"{server.url}portfolios/1")
    page.wait_for_selector("#chart.js-plotly-plot[data-drawn] .main-svg", state="attached")
    figure, panel = chart_and_panel_widths(page)
    assert abs(figure - panel) <= 2, (figure, panel)  # not Plotly's 700 px default
    assert page.evaluate("document.getElementById('chart').getBoundingClientRect().right") <= viewport[0]
    page.set_viewport_size({"width": viewport[0] - 200, "height": viewport[1]})
    page.wait_for_function(
        "() => { const c = document.getElementById('chart');"
        " return Math.abs(c.querySelector('.main-svg').getBoundingClientRect().width - c.clientWidth) <= 2; }"
    )
    assert chart_and_panel_widths(page)[0] < figure
    assert watched.problems == []
    context.close()


def test_on_a_phone_nothing_scrolls_sideways_and_stale_details_open_by_tap(browser, server, screenshots):
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    watched = Watched(phone)
    page = watched.page
    page.goto(f"{server.url}?token={TOKEN}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = page.locator("tr[data-portfolio='1']")
    assert row.locator("[data-field=equity]").is_visible() and row.locator("[data-field=return]").is_visible()
    assert row.locator("[data-field=equity]").bounding_box()["x"] + 10 < 390  # on screen, not off to the right
    cause = page.locator("tr[data-portfolio='2'] .tick.stale .cause")
    assert not cause.is_visible()
    page.tap("tr[data-portfolio='2'] .tick.stale summary")
    assert cause.is_visible() and "no tick for" in cause.inner_text()
    page.screenshot(path=screenshots / "phone-overview.png", full_page=True)
    page.goto(f"{server.url}portfolios/1")
    page.wait_for_selector("#chart.js-plotly-plot[data-drawn] .main-svg", state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshots / "phone-portfolio.png", full_page=True)
    assert watched.problems == []
    phone.close()


def test_past_protective_levels_are_drawn_from_placement_to_where_they_ended(context, server, screenshots):
    watched = Watched(context)
    page = watched.page
    page.goto(f"{server.url}portfolios/2")  # the trailing-stop bot: its stop moved and was cancelled
    page.wait_for_selector("#chart.js-plotly-plot[data-drawn] .main-svg", state="attached")
    past = page.evaluate(
        "() => { const gd = document.getElementById('chart');"
        " const i = gd.data.findIndex(t => t.name === 'trailing-stop (past)');"
        " const t = gd.data[i];"
        " const group = gd.querySelectorAll('.scatterlayer .trace')[i - 1];"  # the candles are no scatter
        " const paths = group ? [...group.querySelectorAll('path.js-line')].map(p => p.getAttribute('d')) : [];"
        " return {x: t.x, text: t.hovertext, paths: paths}; }"
    )
    segments = [(past["x"][k], past["x"][k + 1], past["text"][k]) for k in range(0, len(past["x"]), 3)]
    assert len(segments) > 10 and all(end > start for start, end, _ in segments)
    cancelled = [text for _, _, text in segments if ": cancelled on " in text]
    assert cancelled, "a stop cancelled when its position closed"
    trades = page.evaluate(f"fetch('{server.url}api/portfolios/2/trades').then(r => r.json())")
    sells = {t["candle_ts"] for t in trades if t["side"] == "SELL"}
    ends = {start_end[1] for start_end in segments if ": cancelled on " in start_end[2]}
    assert ends <= sells  # each ends on the candle its position was sold on
    drawn = [path for path in past["paths"] if path and path.count("L") == 1]  # one horizontal stroke each
    assert len(drawn) == len(segments), "every level is drawn, not only listed"
    page.locator("#chart").screenshot(path=screenshots / "past-levels.png")
    assert watched.problems == []
    page.close()


def test_zooming_fits_the_price_axis_to_the_visible_candles_and_says_what_a_bar_is(browser, server, screenshots):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    watched = Watched(context)
    page = watched.page
    page.goto(f"{server.url}?token={TOKEN}")
    page.goto(f"{server.url}portfolios/1")
    page.wait_for_selector("#chart.js-plotly-plot[data-drawn] .main-svg", state="attached")
    whole = page.evaluate("() => document.getElementById('chart')._fullLayout.yaxis.range.slice()")
    days = page.evaluate("() => { const x = document.getElementById('chart').data[0].x; return [x[100], x[172]]; }")
    page.evaluate(  # as a drag over three days of the price panel does
        "days => Plotly.relayout(document.getElementById('chart'),"
        " {'xaxis.range[0]': days[0], 'xaxis.range[1]': days[1]})",
        days,
    )
    page.wait_for_function(
        "() => (document.getElementById('chart').layout.annotations || [])"
        ".some(a => a.text === 'each bar is one 1h candle')"
    )
    page.wait_for_function("() => document.getElementById('chart')._fullLayout.yaxis.autorange === false")
    fitted = page.evaluate(
        "days => { const gd = document.getElementById('chart'); const t = gd.data[0];"
        " const from = Number(new Date(days[0])), to = Number(new Date(days[1]));"
        " const shown = t.x.map((x, i) => [Number(new Date(x)), i]).filter(p => p[0] >= from && p[0] <= to);"
        " return {range: gd._fullLayout.yaxis.range, low: Math.min(...shown.map(p => t.low[p[1]])),"
        "         high: Math.max(...shown.map(p => t.high[p[1]])), bars: shown.length}; }",
        days,
    )
    low, high = fitted["low"], fitted["high"]
    assert fitted["bars"] == 73  # every real candle of the three days
    assert fitted["range"][0] <= low < high <= fitted["range"][1]  # every candle on screen
    assert fitted["range"][1] - fitted["range"][0] <= 1.2 * (high - low)  # and filling the panel
    assert fitted["range"][1] - fitted["range"][0] < 0.5 * (whole[1] - whole[0])  # not squashed as before
    page.locator("#chart").screenshot(path=screenshots / "zoomed.png")
    page.evaluate("() => Plotly.relayout(document.getElementById('chart'), {'xaxis.autorange': true})")
    page.wait_for_function("() => document.getElementById('chart')._fullLayout.yaxis.autorange === true")
    assert watched.problems == []
    context.close()
