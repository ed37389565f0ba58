"""The dashboard's pages and API beyond the documents: archived portfolios, error pages and the
words a page uses (FastAPI's test client; the browser checks are in test_browser.py)."""

import pytest
from fastapi.testclient import TestClient

from papertrade.adapters.readonly import open_readonly
from papertrade.bootstrap import open_ledger
from papertrade.services.portfolios import archive_portfolio, create_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.settings import Settings
from papertrade.web.app import create_app
from tests.support.databases import sqlite_url
from tests.web.conftest import HOURS

#: The dashboard's clock: long after the last candle, so a trading bot would be stale.
LATER = HOURS.bars[119].ts + 100 * 3_600_000


@pytest.fixture(scope="module")
def shelf(tmp_path_factory):
    """Portfolio 1 "active" (120 candles) and portfolio 2 "shelved" (120 candles, then archived)."""
    url = sqlite_url(tmp_path_factory.mktemp("pages") / "ledger.db")
    ledger = open_ledger(Settings(database_url=url), create=True, durable=False)
    try:
        for name in ("active", "shelved"):
            stored = create_portfolio(ledger, parse_new_portfolio(name=name, cash="1000"), now=0)
            replay(ledger, HOURS, stored.id, "BTC/USDT", end=HOURS.bars[119].ts)
        archive_portfolio(ledger, 2, True, now=HOURS.bars[119].ts + 3_600_000)
    finally:
        ledger.dispose()
    readonly = open_readonly(url, 5)
    with TestClient(create_app(readonly, token=None, now=lambda: LATER), base_url="http://localhost") as client:
        yield client
    readonly.dispose()


def test_archived_portfolios_are_listed_only_when_asked_as_the_cli_does(shelf):
    assert [p["name"] for p in shelf.get("/api/portfolios").json()] == ["active"]
    listed = shelf.get("/api/portfolios?archived=true").json()
    assert [(p["name"], p["archived_ts"] is not None) for p in listed] == [("active", False), ("shelved", True)]
    assert [p["name"] for p in shelf.get("/api/overview?archived=true").json()["portfolios"]] == ["active", "shelved"]


def test_the_overview_marks_archived_portfolios_and_does_not_call_them_stale(shelf):
    assert "shelved" not in shelf.get("/").text
    page = shelf.get("/?archived=true").text
    row = page[page.index('<tr data-portfolio="2"') :].split("</tr>")[0]
    assert 'data-field="archived"' in row and "stale" not in row
    assert "stale" in page[page.index('<tr data-portfolio="1"') :].split("</tr>")[0]
    (shelved,) = [p for p in shelf.get("/api/overview?archived=true").json()["portfolios"] if p["id"] == 2]
    assert [t["stale"] for t in shelved["last_ticks"]] == [False]


def test_an_archived_portfolios_page_says_so_instead_of_warning_about_cron(shelf):
    page = shelf.get("/portfolios/2").text
    assert 'id="archived-note"' in page and "no longer trades" in page
    assert "stale:" not in page and "cron is not running" not in page


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/portfolios/1?page=0", 422, "page=0: must be at least 1"),
        ("/portfolios/abc", 404, "no portfolio with id abc"),
        ("/portfolios/99", 404, "no portfolio with id 99"),
        ("/nowhere", 404, "no such page"),
    ],
)
def test_every_error_is_a_human_page_inside_the_header_bar(shelf, path, status, words):
    answer = shelf.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert '<a class="brand" href="/">papertrade</a>' in answer.text and words in answer.text
    assert 'data-refresh="0"' in answer.text  # an error page does not refresh


def test_the_api_still_answers_errors_as_json(shelf):
    assert shelf.get("/api/portfolios/1/journal?page=0").json()["detail"][0]["loc"] == ["query", "page"]
    assert shelf.get("/api/nowhere").json() == {"detail": "Not Found"}


def test_one_portfolio_is_not_called_portfolios(shelf):
    assert "papertrade · 1 portfolio</title>" in shelf.get("/").text
    assert "papertrade · 2 portfolios</title>" in shelf.get("/?archived=true").text


def test_a_short_is_an_open_position_on_the_page_and_says_its_side(tmp_path):
    url = sqlite_url(tmp_path / "ledger.db")
    ledger = open_ledger(Settings(database_url=url), create=True, durable=False)
    try:
        request = parse_new_portfolio(name="bear", cash="1000", strategy="tests.support.strategies:AlwaysShort",
                                      allow_short=True)  # fmt: skip
        stored = create_portfolio(ledger, request, now=0)
        replay(ledger, HOURS, stored.id, "BTC/USDT", end=HOURS.bars[9].ts)
    finally:
        ledger.dispose()
    readonly = open_readonly(url, 5)
    with TestClient(create_app(readonly, token=None, now=lambda: LATER), base_url="http://localhost") as client:
        page = client.get("/portfolios/1").text
    readonly.dispose()
    row = page[page.index('<tr data-symbol="BTC/USDT"') :].split("</tr>")[0]
    assert '<td data-field="side">short</td>' in row and "-0." in row


def test_every_time_on_a_page_is_marked_for_the_utc_local_switch(shelf):
    page = shelf.get("/portfolios/1").text
    assert '<button type="button" id="time-zone"' in page
    journal = page[page.index('<section id="journal"') :]
    assert journal.count("<time datetime=") >= 50  # a candle time in each row of the journal's first page


def test_a_page_without_the_token_is_a_form_that_asks_for_it(tmp_path):
    from tests.web.test_api import TOKEN

    url = sqlite_url(tmp_path / "ledger.db")
    open_ledger(Settings(database_url=url), create=True, durable=False).dispose()
    readonly = open_readonly(url, 5)
    with TestClient(create_app(readonly, token=TOKEN, now=lambda: LATER), base_url="http://localhost") as client:
        answer = client.get("/portfolios/1?page=2")
        assert answer.status_code == 401 and answer.headers["content-type"].startswith("text/html")
        assert '<form method="get" action="/portfolios/1" id="token-form">' in answer.text
        assert 'name="token" type="password"' in answer.text and "not accepted" not in answer.text
        assert "not accepted" in client.get("/?token=wrong-token-given-here").text
        assert client.get("/api/overview").headers["content-type"].startswith("text/plain")
        assert "/static/" not in answer.text  # styled inline: the static files too need the token
        signed = client.get(f"/portfolios/1?token={TOKEN}", follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == "/portfolios/1"
    readonly.dispose()


def test_serve_on_every_interface_prints_addresses_a_browser_can_open():
    import socket

    from papertrade.cli.serve import openable_addresses

    shown = openable_addresses("0.0.0.0", 8000)
    assert shown[0] == "http://127.0.0.1:8000/" and f"http://{socket.gethostname()}:8000/" in shown
    assert not [url for url in shown if "0.0.0.0" in url]
    assert openable_addresses("127.0.0.1", 8080) == ["http://127.0.0.1:8080/"]
    assert openable_addresses("::1", 8080) == ["http://[::1]:8080/"]


def test_answers_are_gzipped_and_an_unchanged_refresh_is_a_304_until_the_ledger_moves(tmp_path):
    url = sqlite_url(tmp_path / "ledger.db")
    writer = open_ledger(Settings(database_url=url), create=True, durable=False)
    stored = create_portfolio(writer, parse_new_portfolio(name="moving", cash="1000"), now=0)
    replay(writer, HOURS, stored.id, "BTC/USDT", end=HOURS.bars[59].ts)
    readonly = open_readonly(url, 5)
    paths = ("/api/portfolios/1/chart", "/portfolios/1", "/api/portfolios/1/report")
    with TestClient(create_app(readonly, token=None, now=lambda: LATER), base_url="http://localhost") as client:
        first = {path: client.get(path, headers={"Accept-Encoding": "gzip"}) for path in paths}
        for path, answer in first.items():
            assert answer.headers["content-encoding"] == "gzip", path
            again = client.get(path, headers={"If-None-Match": answer.headers["etag"]})
            assert again.status_code == 304 and again.content == b"", path
        replay(writer, HOURS, stored.id, "BTC/USDT", end=HOURS.bars[79].ts)
        for path, answer in first.items():
            moved = client.get(path, headers={"If-None-Match": answer.headers["etag"]})
            assert moved.status_code == 200 and moved.headers["etag"] != answer.headers["etag"], path
    readonly.dispose()
    writer.dispose()
