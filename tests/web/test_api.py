"""The dashboard's JSON API and pages through FastAPI's test client, on SQLite and PostgreSQL; and
the dashboard as a network service: a real uvicorn server on 127.0.0.1 under many readers at
once, and the requests a hostile page or link would send it (other Host names, off-site
redirects, ids out of range)."""

import asyncio
import html
import http.client
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import uvicorn
from fastapi.testclient import TestClient

from papertrade.adapters.readonly import open_readonly
from papertrade.web import schemas
from papertrade.web.app import create_app
from tests.support.cli import run_inprocess, run_json
from tests.support.databases import ledger_state
from tests.web.conftest import BEHIND, HOSTILE, HOUR, HOURS, LAST, NOW, build_failing_ledger

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def served(served_url):
    ledger = open_readonly(served_url, 5)
    yield served_url, ledger
    ledger.dispose()


@pytest.fixture(scope="module")
def client(served):
    with TestClient(create_app(served[1], token=None, now=lambda: NOW), base_url="http://localhost") as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "command", "model"),
    [
        ("/api/portfolios", ("portfolios",), schemas.Portfolio),
        ("/api/portfolios/1", ("status", "1"), schemas.Status),
        ("/api/portfolios/2", ("status", "2"), schemas.Status),
        ("/api/portfolios/1/report", ("report", "1"), schemas.Report),
        ("/api/portfolios/1/trades", ("trades", "1"), schemas.Trade),
        ("/api/portfolios/2/orders", ("orders", "2"), schemas.Order),
    ],
)
def test_each_document_is_what_the_cli_prints_and_fits_its_schema(client, served, capsys, path, command, model):
    served_document = client.get(path).json()
    assert served_document == run_json(capsys, served[0], *command)
    for item in served_document if isinstance(served_document, list) else [served_document]:
        model.model_validate(item)


def test_the_schema_is_published_with_every_document(client):
    schema = client.get("/api/openapi.json").json()
    assert {"Overview", "Status", "Report", "Trade", "Journal", "Portfolio"} <= set(schema["components"]["schemas"])
    assert "/api/portfolios/{portfolio_id}/report" in schema["paths"]


def test_the_overview_has_every_portfolio_with_the_reports_numbers(client, served, capsys):
    overview = schemas.Overview.model_validate(client.get("/api/overview").json())
    rsi, hostile, fresh = overview.portfolios
    assert (rsi.name, hostile.name, fresh.name) == ("RSI bot", HOSTILE, "fresh")
    stats = run_json(capsys, served[0], "report", "1")["stats"]
    assert rsi.equity == stats["Equity Final [$]"]
    assert rsi.return_pct == pytest.approx(stats["Return [%]"], rel=1e-9)
    assert rsi.max_drawdown_pct == pytest.approx(stats["Max. Drawdown [%]"], rel=1e-9)
    assert fresh.equity == "10000" and fresh.return_pct is None and fresh.last_ticks == []


def test_the_overview_values_every_portfolio_as_status_does(client, served, capsys):
    # The stale bot's position is marked at the latest stored close, as `status` marks it,
    # not at the last candle it processed.
    for row in client.get("/api/overview").json()["portfolios"]:
        status = run_json(capsys, served[0], "status", str(row["id"]))
        assert (row["equity"], row["marked_ts"]) == (status["equity"], status["marked_ts"])
        page = client.get(f"/api/portfolios/{row['id']}").json()
        assert page["equity"] == status["equity"]


def test_a_symbol_whose_cron_stopped_is_flagged_stale_with_the_likely_cause(client):
    rsi, hostile, _ = client.get("/api/overview").json()["portfolios"]
    assert [t["stale"] for t in rsi["last_ticks"]] == [False]
    (tick,) = hostile["last_ticks"]
    candles_missed = (HOURS.bars[LAST - 1].ts - HOURS.bars[BEHIND - 1].ts) // HOUR  # the file has gaps
    assert tick["stale"] and tick["missed"] == candles_missed
    assert "cron is not running" in tick["cause"]


def test_the_journal_is_paginated_newest_first(client):
    first = schemas.Journal.model_validate(client.get("/api/portfolios/1/journal").json())
    assert (first.total, first.pages, len(first.ticks)) == (LAST, 14, 50)
    assert first.ticks[0].candle_ts > first.ticks[-1].candle_ts
    last = client.get("/api/portfolios/1/journal", params={"page": 14}).json()
    assert len(last["ticks"]) == LAST - 13 * 50 and last["ticks"][-1]["reason"].startswith("warming up")
    assert client.get("/api/portfolios/1/journal", params={"page": 99}).json()["page"] == 14


def test_the_chart_is_a_plotly_figure_of_candles_trades_and_equity(client):
    figure = client.get("/api/portfolios/1/chart").json()
    names = {(trace["type"], trace.get("name")) for trace in figure["data"]}
    assert {("candlestick", "BTC/USDT"), ("scatter", "buy"), ("scatter", "equity"), ("scatter", "rsi")} <= names
    assert client.get("/api/portfolios/3/chart").json() is None


def test_the_drift_chart_draws_paper_and_backtest_equity_together(client, served, capsys):
    """Replayed `close` portfolios (through the tick path, every candle) agree with their backtest."""
    for portfolio in ("1", "2"):
        figure = client.get(f"/api/portfolios/{portfolio}/drift-chart").json()
        assert [trace["name"] for trace in figure["data"]] == ["paper equity", "backtest equity"]
        assert figure["layout"]["title"]["text"].endswith("paper and backtest agree fill for fill")
        drift = run_json(capsys, served[0], "report", portfolio, "--vs-backtest")
        assert drift["divergence"] is None and drift["differing_trades"] == [] and drift["missed_candles"] == []
        assert drift["paper"]["equity_curve"] == drift["backtest"]["equity_curve"] and drift["paper"]["fills"] > 0
    assert client.get("/api/portfolios/3/drift-chart").json() is None


def test_unknown_portfolios_are_404(client):
    assert client.get("/api/portfolios/9").status_code == 404
    assert client.get("/api/portfolios/9/report").json() == {"error": "no portfolio with id 9"}
    assert client.get("/portfolios/9").status_code == 404


def test_pages_show_user_named_text_as_text(client):
    for page in ("/", "/portfolios/2"):
        html = client.get(page).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and HOSTILE not in html


def test_every_page_and_document_answers_on_a_ledger_nobody_writes(client, served):
    before = ledger_state(served[0])
    pages = ("/", "/portfolios/1", "/portfolios/1?page=3", "/portfolios/3", "/static/plotly.min.js", "/favicon.ico")
    documents = ("/api/overview", "/api/portfolios/1/chart", "/api/portfolios/1/journal", "/api/portfolios/2/report")
    for path in (*pages, *documents):
        assert client.get(path).status_code == 200, path
    assert ledger_state(served[0]) == before


def test_the_servers_connection_refuses_writes(served):
    from papertrade.errors import SetupError

    with pytest.raises(SetupError, match=r"read-?only"), served[1].unit_of_work() as uow:
        uow.connection.exec_driver_sql("DELETE FROM markets")


def test_with_a_token_every_request_without_it_is_401(served):
    app = create_app(served[1], token=TOKEN, now=lambda: NOW)
    with TestClient(app) as anonymous:
        for path in ("/", "/portfolios/1", "/api/overview", "/api/openapi.json", "/static/dashboard.js"):
            answer = anonymous.get(path)
            assert answer.status_code == 401 and "Bearer" in answer.headers["www-authenticate"], path
        assert anonymous.get("/api/overview", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert anonymous.get("/api/overview", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    with TestClient(app) as browser:
        opened = browser.get(f"/portfolios/1?token={TOKEN}&page=2", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/portfolios/1?page=2"
        assert browser.get("/api/overview").status_code == 200  # the cookie it was given


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "without a password: give --token"),
        (["--host", "192.168.1.20", "--port", "0"], "SSH tunnel"),
        (["--host", "::", "--port", "0"], "give --token"),
        (["--token", "short"], "at least 16 visible ASCII characters"),
        (["--port", "70000"], "65535"),
    ],
)
def test_serve_refuses_to_expose_a_ledger_unprotected(sqlite_served, capsys, args, message):
    result = run_inprocess(capsys, "--db", sqlite_served, "serve", *args)
    assert result.code == 2 and len(result.error_lines) == 1 and message in result.stderr, result.stderr


def test_serve_needs_an_existing_ledger_and_creates_none(tmp_path, capsys):
    missing = tmp_path / "nothing.db"
    result = run_inprocess(capsys, "--db", str(missing), "serve", "--port", "0")
    assert result.code == 2 and "no ledger at" in result.stderr and not missing.exists()


def test_resting_orders_are_served_and_drawn_as_levels_on_the_chart(client):
    (order,) = client.get("/api/portfolios/2/orders").json()
    assert order["kind"] == "trailing-stop" and order["side"] == "SELL"
    figure = client.get("/api/portfolios/2/chart").json()
    levels = [trace for trace in figure["data"] if trace.get("name", "").startswith("trailing-stop")]
    resting = [trace for trace in levels if not trace["name"].endswith("(past)")]
    assert len(resting) == 1 and float(resting[0]["y"][0]) == float(order["price"])
    (past,) = [trace for trace in levels if trace["name"].endswith("(past)")]  # read from the journal
    assert len(past["x"]) > 30 and past["x"][2] is None  # one segment per level held, apart


def test_a_zoomed_range_gets_its_real_candles_and_merged_ones_say_so(client, monkeypatch):
    from papertrade.views import chart_data

    def candles(first: int, last: int, symbol="BTC/USDT"):
        params = {"symbol": symbol, "from": HOURS.bars[first].ts, "to": HOURS.bars[last].ts}
        return client.get("/api/portfolios/1/candles", params=params).json()

    days = candles(100, 172)  # three days
    assert days["ts"] == [bar.ts for bar in HOURS.bars[100:173]] and days["note"] == "each bar is one 1h candle"
    assert days["high"] == [float(bar.high) for bar in HOURS.bars[100:173]]
    monkeypatch.setattr(chart_data, "MAX_CANDLES", 200)  # what a chart holds, made small for the test
    whole = candles(0, LAST - 1)
    assert whole["note"] == "each bar merges 4 candles (4h a bar) to keep the chart light"
    assert whole["bar_ms"] == 4 * HOUR and len(whole["ts"]) <= 200
    assert max(whole["high"]) == max(float(bar.high) for bar in HOURS.bars[:LAST])
    assert candles(100, 172) == days  # zoomed in, the real candles again
    assert candles(100, 172, symbol="ETH/USDT") is None


def test_a_portfolio_page_lists_its_resting_orders_and_each_trades_kind(client):
    html = client.get("/portfolios/2").text
    section = html[html.index('<section id="orders"') :]
    section = section[: section.index("</section>")]
    assert '<tr data-order="trailing-stop">' in section and "until cancelled" in section
    assert "No resting orders." in client.get("/portfolios/1").text  # the RSI bot has no exits
    trades = html[html.index('<section id="trades"') :]
    assert "<th>kind</th>" in trades and "<td>signal</td>" in trades


#: What the failing bot's last run failed with: the ledger knows it, since the bot notifies about errors.
LAST_ERROR = "binance did not answer in time (fetch BTC/USDT 1h candles)"


@pytest.fixture
def failing_bot(database_url, ledger):
    """A bot that processed 300 candles, then notified about errors and failed twice (see
    `build_failing_ledger`); its URL and the dashboard's clock."""
    return database_url, build_failing_ledger(database_url, LAST_ERROR)


def test_a_stale_symbol_shows_the_last_error_the_ledger_knows(failing_bot, capsys):
    url, now = failing_bot
    flushed = run_inprocess(capsys, "--db", url, "notify", "flush")  # nothing answers on port 9
    assert flushed.code == 75, flushed.stdout + flushed.stderr
    ledger = open_readonly(url, 5)
    with TestClient(create_app(ledger, token=None, now=lambda: now), base_url="http://localhost") as client:
        (row,) = schemas.Overview.model_validate(client.get("/api/overview").json()).portfolios
        (tick,) = row.last_ticks
        assert tick.stale and tick.last_error == LAST_ERROR and tick.failing_since_ts == now - 70 * 60_000
        assert "its runs fail (2 failed runs since" in tick.cause and tick.cause.endswith(
            f"the last with: {LAST_ERROR}"
        )
        assert f"last error: {LAST_ERROR}" in client.get("/").text
        page = client.get("/portfolios/1").text
        assert f"the last with: {LAST_ERROR}" in page
        # The page says what `status` says of the undelivered events and each URL's last error.
        channels = client.get("/api/portfolios/1").json()["notifications"]
        (channel,) = channels["urls"]
        assert channels["undelivered"] >= 1 and channel["last_error"]
        section = page[page.index('<section id="notifications"') :].split("</section>")[0]
        assert f"1 URL,\n  {channels['undelivered']:,} undelivered" in section, section
        assert channel["url"] in section and html.escape(channel["last_error"]) in section
    ledger.dispose()


def test_a_stale_symbol_whose_runs_the_ledger_knows_nothing_of_has_no_last_error(client):
    _, hostile, _ = schemas.Overview.model_validate(client.get("/api/overview").json()).portfolios
    assert [(t.stale, t.last_error, t.failing_since_ts) for t in hostile.last_ticks] == [(True, None, None)]


READERS = 40


class LiveServer:
    """`create_app` served by uvicorn in a thread of the test, on a free loopback port."""

    def __init__(self, app) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self.listener.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.listener]}, daemon=True)
        self.thread.start()  # the socket listens already: requests wait in its backlog until it runs

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request("GET", path, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.listener.close()


@pytest.fixture
def live(served_url):
    ledger = open_readonly(served_url, 5)  # a fresh app and ledger: nothing computed yet
    server = LiveServer(create_app(ledger, token=None, now=lambda: NOW))
    try:
        yield server
    finally:
        server.stop()
        ledger.dispose()


def test_forty_readers_at_once_are_all_answered_and_none_gets_a_500(live):
    start = threading.Barrier(READERS)

    def read(path: str) -> tuple[int, dict]:
        start.wait()
        status, headers, _ = live.get(path)
        return status, headers

    paths = ["/portfolios/1"] * READERS
    with ThreadPoolExecutor(READERS) as readers:
        answers = list(readers.map(read, paths))
    assert [status for status, _ in answers] == [200] * READERS


HUGE = "99999999999999999999"


@pytest.fixture(scope="module")
def guarded(served):
    server = LiveServer(create_app(served[1], token=TOKEN, now=lambda: NOW))
    yield server
    server.stop()


@pytest.mark.parametrize(
    "path",
    [
        f"/portfolios/{HUGE}",
        f"/api/portfolios/{HUGE}",
        f"/api/portfolios/{HUGE}/report",
        f"/api/portfolios/{HUGE}/chart",
        f"/api/portfolios/{HUGE}/journal",
        "/api/portfolios/9223372036854775808/trades",
        "/api/portfolios/0/orders",
        "/portfolios/-1",
        "/portfolios/one",
    ],
)
def test_ids_out_of_range_or_not_numbers_are_404(client, path):
    answer = client.get(path)
    assert answer.status_code == 404, answer.text
    if path.startswith("/api/"):
        assert answer.json()["error"].startswith("no portfolio with id")


def test_a_query_out_of_range_is_still_refused_as_such(client):
    assert client.get("/api/portfolios/1/journal?page=0").status_code == 422


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST.", "localhost:8000", "127.0.0.1", "127.0.0.1:8000", "127.9.9.9", "[::1]:8000"]
)
def test_without_a_token_loopback_host_names_are_answered(client, host):
    assert client.get("/api/portfolios", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:8000", "localhost.attacker.example", "10.0.0.1", "[::2]:80", ""]
)
def test_without_a_token_any_other_host_name_is_421_and_reads_nothing(client, host):
    answer = client.get("/api/portfolios", headers={"Host": host})
    assert answer.status_code == 421 and "RSI bot" not in answer.text


def test_a_name_the_user_allowed_is_answered_and_a_token_replaces_the_check(served):
    allowed = create_app(served[1], token=None, now=lambda: NOW, allowed_hosts=["dash.example", "127.0.0.1"])
    with TestClient(allowed, base_url="http://dash.example") as named:
        assert named.get("/api/portfolios").status_code == 200
        assert named.get("/api/portfolios", headers={"Host": "other.example"}).status_code == 421
    with TestClient(create_app(served[1], token=TOKEN, now=lambda: NOW), base_url="http://dash.example") as remote:
        assert remote.get("/api/portfolios", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize("name", ["", "bad host", "evil.example/x", "a..b", "-lead.example", "x" * 254, "host\nname"])
def test_serve_refuses_an_allowed_host_that_is_no_host_name(tmp_path, capsys, name):
    result = run_inprocess(capsys, "--db", str(tmp_path / "l.db"), "serve", "--port", "0", "--allowed-host", name)
    assert result.code == 2 and len(result.error_lines) == 1 and "--allowed-host" in result.stderr


@pytest.mark.parametrize(
    "path",
    [
        f"//evil.example/?token={TOKEN}",
        f"///evil.example/?token={TOKEN}&page=2",
        f"/\\evil.example/?token={TOKEN}",
        f"/%2F%2Fevil.example/?token={TOKEN}",
        f"/%5Cevil.example?token={TOKEN}",
        f"/%0d%0aLocation:%20http://evil.example/?token={TOKEN}",
        "/portfolios/1/",
    ],
)
def test_every_redirect_points_at_a_path_of_this_server(guarded, path):
    status, headers, _ = guarded.get(path, {"Authorization": f"Bearer {TOKEN}"})
    location = {k.lower(): v for k, v in headers.items()}.get("location")
    if status in (301, 302, 303, 307, 308):
        assert location.startswith("/") and location[1:2] not in ("/", "\\"), location
        assert "\r" not in location and "\n" not in location
    else:
        assert location is None


class BrokenLedger:
    """A ledger (the project's own port) whose every transaction fails unexpectedly, with an
    escape sequence in its message as outside text may carry."""

    name = "broken.db"

    def unit_of_work(self, **_):
        raise RuntimeError("disk on fire\x1b[2J\x1b]0;owned\x07 and more")


@pytest.mark.parametrize("debug", ["", "1"])
def test_an_unexpected_failure_is_a_500_logged_as_one_line(capfd, monkeypatch, debug):
    monkeypatch.setenv("PAPERTRADE_DEBUG", debug)
    server = LiveServer(create_app(BrokenLedger(), token=None, now=lambda: NOW))
    try:
        capfd.readouterr()
        status, _, body = server.get("/api/overview", {"Host": "localhost"})
    finally:
        server.stop()
    logged = capfd.readouterr().err
    assert status == 500 and b"disk on fire" not in body
    line = "papertrade: error: GET /api/overview: RuntimeError: disk on fire and more"
    if debug:
        assert "Traceback" in logged and line in logged.splitlines()
    else:
        assert logged.splitlines() == [line]


def _call(app, path: str = "/") -> "asyncio.Future":
    """Send one GET through the ASGI `app`; the future holds (status, headers)."""

    async def call() -> tuple[int, dict]:
        started: dict = {}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                started.update(status=message["status"], headers=dict(message["headers"]))

        await app({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send)
        return started["status"], started["headers"]

    return asyncio.ensure_future(call())


def _held_app():
    """An ASGI app whose every request waits until the returned event is set."""

    release = asyncio.Event()

    async def app(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app, release


def test_requests_beyond_the_workers_wait_in_turn_and_beyond_the_queue_get_503_retry_after():

    from papertrade.web.guards import Admission

    async def scenario():
        app, release = _held_app()
        admission = Admission(app, workers=2, waiting=3, patience=60)
        admitted = [_call(admission) for _ in range(5)]  # 2 worked on, 3 waiting
        while admission.queued < 3:
            await asyncio.sleep(0)  # let each reach its slot or its place in the queue
        refused = await asyncio.wait_for(_call(admission), 10)
        release.set()
        return refused, await asyncio.gather(*admitted)

    refused, admitted = asyncio.run(scenario())
    assert refused[0] == 503 and refused[1][b"retry-after"] == b"2"
    assert [status for status, _ in admitted] == [200] * 5


def test_a_request_that_waited_its_patience_out_gets_503_not_an_endless_wait():

    from papertrade.web.guards import Admission

    async def scenario():
        app, release = _held_app()
        admission = Admission(app, workers=1, waiting=10, patience=0.05)
        first = _call(admission)
        waited = await _call(admission)
        release.set()
        return waited, await first

    waited, first = asyncio.run(scenario())
    assert waited[0] == 503 and waited[1][b"retry-after"] == b"2" and first[0] == 200


def test_a_database_without_a_free_connection_is_503_retry_after_not_500():

    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from papertrade.web.guards import Contained

    async def exhausted(scope, receive, send):
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    async def scenario():
        return await asyncio.wait_for(_call(Contained(exhausted)), 10)

    status, headers = asyncio.run(scenario())
    assert status == 503 and headers[b"retry-after"] == b"2"


@pytest.mark.parametrize("name", ["q?x.db", "q#frag.db", "q%3Fx%2541.db", "q?mode=rw&x=1#y.db"])
def test_the_dashboard_opens_exactly_the_file_the_cli_opens_whatever_its_name(tmp_path, capsys, name):
    ledger_path = tmp_path / name
    made = run_inprocess(capsys, "--db", str(ledger_path), "create-portfolio", "odd name", "1000")
    assert made.code == 0, made.stderr
    before = sorted(tmp_path.iterdir())
    ledger = open_readonly(str(ledger_path), 5)
    try:
        with TestClient(create_app(ledger, token=None, now=lambda: NOW), base_url="http://localhost") as client:
            assert [p["name"] for p in client.get("/api/portfolios").json()] == ["odd name"]
    finally:
        ledger.dispose()
    readers = {ledger_path.with_name(name + "-wal"), ledger_path.with_name(name + "-shm")}
    assert set(tmp_path.iterdir()) - readers == set(before)  # no file named by a cut-off part of the name


def test_a_portfolio_page_tells_fills_from_round_trips_and_lists_each_round_trip(client):
    report = client.get("/api/portfolios/1/report").json()
    fills, trips = client.get("/api/portfolios/1/trades").json(), report["round_trips"]
    assert len(fills) != len(trips) > 0
    page = client.get("/portfolios/1").text
    assert f'Fills <span class="muted">{len(fills)} orders filled' in page
    assert f'Round trips <span class="muted">{len(trips)} closed' in page
    newest = page[page.index('data-round-trip="1"') :].split("</tr>")[0]
    assert f"{trips[-1]['profit_pct']:+,.2f} %" in newest and trips[-1]["exit_kind"] in newest
    assert page.count("data-round-trip=") == len(trips)
