"""The dashboard's JSON API and pages through FastAPI's test client, on SQLite and PostgreSQL."""

import json

import pytest
from fastapi.testclient import TestClient

from papertrade.adapters.readonly import open_readonly
from papertrade.web import schemas
from papertrade.web.app import create_app
from tests.support.cli import run_inprocess
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
    with TestClient(create_app(served[1], token=None, now=lambda: NOW)) as test_client:
        yield test_client


def cli_json(capsys, url, *args):
    result = run_inprocess(capsys, "--db", url, *args, "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


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
    assert served_document == cli_json(capsys, served[0], *command)
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
    stats = cli_json(capsys, served[0], "report", "1")["stats"]
    assert rsi.equity == stats["Equity Final [$]"]
    assert rsi.return_pct == pytest.approx(stats["Return [%]"], rel=1e-9)
    assert rsi.max_drawdown_pct == pytest.approx(stats["Max. Drawdown [%]"], rel=1e-9)
    assert fresh.equity == "10000" and fresh.return_pct is None and fresh.last_ticks == []


def test_the_overview_values_every_portfolio_as_status_does(client, served, capsys):
    # The stale bot's position is marked at the latest stored close, as `status` marks it,
    # not at the last candle it processed.
    for row in client.get("/api/overview").json()["portfolios"]:
        status = cli_json(capsys, served[0], "status", str(row["id"]))
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
        (["--token", "short"], "at least 16 characters"),
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
    assert len(levels) == 1 and float(levels[0]["y"][0]) == float(order["price"])


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


def test_a_stale_symbol_shows_the_last_error_the_ledger_knows(failing_bot):
    url, now = failing_bot
    ledger = open_readonly(url, 5)
    with TestClient(create_app(ledger, token=None, now=lambda: now)) as client:
        (row,) = schemas.Overview.model_validate(client.get("/api/overview").json()).portfolios
        (tick,) = row.last_ticks
        assert tick.stale and tick.last_error == LAST_ERROR and tick.failing_since_ts == now - 70 * 60_000
        assert "its runs fail (2 failed runs since" in tick.cause and tick.cause.endswith(
            f"the last with: {LAST_ERROR}"
        )
        assert f"last error: {LAST_ERROR}" in client.get("/").text
        assert f"the last with: {LAST_ERROR}" in client.get("/portfolios/1").text
    ledger.dispose()


def test_a_stale_symbol_whose_runs_the_ledger_knows_nothing_of_has_no_last_error(client):
    _, hostile, _ = schemas.Overview.model_validate(client.get("/api/overview").json()).portfolios
    assert [(t.stale, t.last_error, t.failing_since_ts) for t in hostile.last_ticks] == [(True, None, None)]
