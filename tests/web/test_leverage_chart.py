"""The dashboard draws an open position's liquidation price over its candles (issue 23 item 6)."""

import pytest
from fastapi.testclient import TestClient

from papertrade.adapters.readonly import open_readonly
from papertrade.bootstrap import open_ledger
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.services.valuation import value_portfolio
from papertrade.settings import Settings
from papertrade.web.app import create_app
from tests.web.conftest import HOURS


@pytest.fixture
def levered_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(Settings(database_url=url), create=True, durable=False)
    request = parse_new_portfolio(name="bold", cash="10000", strategy="tests.support.strategies:AlwaysBuy",
                                  margin=("0.005", "0.005", "10"), stake_fraction="0.5")  # fmt: skip
    stored = create_portfolio(ledger, request, now=0)
    replay(ledger, HOURS, stored.id, "BTC/USDT", end=HOURS.bars[40].ts)
    rules = value_portfolio(ledger, stored.id).portfolio.config.margin
    ledger.dispose()
    return url, rules


def test_an_open_leveraged_position_has_its_liquidation_price_drawn_on_the_candles(levered_url):
    from papertrade.domain.margin import liquidation_price

    url, rules = levered_url
    ledger = open_readonly(url, 5)
    (position,) = [p for p in value_portfolio(ledger, 1).portfolio.book.positions.values() if p.is_open]
    level = liquidation_price(position, rules)
    app = create_app(ledger, token=None, now=lambda: HOURS.bars[41].ts)
    with TestClient(app, base_url="http://localhost") as client:
        figure = client.get("/api/portfolios/1/chart").json()
    ledger.dispose()
    drawn = [trace for trace in figure["data"] if trace.get("name", "").startswith("liquidation")]
    assert level is not None and len(drawn) == 1 and drawn[0]["y"] == [float(level)] * 2
