"""Fees from the exchange: a portfolio without a fee option charges each market's own taker rate
(ccxt's `market["taker"]`) on market fills, through the real tick against the local Binance
imitation on SQLite and PostgreSQL; `--fee-rate` and `--maker-fee`/`--taker-fee` override them."""

from decimal import Decimal

import pytest

from papertrade.domain.money import round_up_to_ledger
from papertrade.services.portfolios import create_portfolio, get_portfolio, parse_new_portfolio
from papertrade.services.tick import Mode, run_tick
from papertrade.settings import Settings
from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state

D = Decimal
MAKER, TAKER = "0.0002", "0.0007"


@pytest.fixture
def priced(exchange):
    """A market data factory whose ccxt gives every market maker 0.0002 and taker 0.0007."""
    from papertrade.bootstrap import market_data_factory

    exchange.trading_fees = (MAKER, TAKER)
    return market_data_factory(Settings(ccxt_config=exchange.ccxt_config(timeout_ms=3000), exchange_backoff=0))


def create(ledger, **fees):
    request = parse_new_portfolio(name="bot", cash="10000", strategy="tests.support.strategies:AlwaysBuy", **fees)
    return create_portfolio(ledger, request, now=0)


def test_a_portfolio_without_a_fee_option_pays_the_market_s_taker_rate(ledger, priced, clock):
    assert create(ledger).config.fees_from_exchange
    fill = run_tick(ledger, priced, 1, "BTC/USDT", Mode.LIVE, clock()).fill
    assert fill.fee == round_up_to_ledger(fill.notional * D(TAKER))
    with ledger.unit_of_work() as uow:
        market, _ = uow.markets.get("binance", "BTC/USDT")
    assert (market.maker_fee, market.taker_fee) == (D(MAKER), D(TAKER))  # recorded, for replays of stored candles


def test_fee_rate_overrides_the_exchange_s_rates(ledger, priced, clock):
    create(ledger, fee_rate="0.002")
    fill = run_tick(ledger, priced, 1, "BTC/USDT", Mode.LIVE, clock()).fill
    assert fill.fee == round_up_to_ledger(fill.notional * D("0.002"))


def test_maker_and_taker_fees_set_apart_charge_a_market_fill_the_taker_s(ledger, priced, clock):
    create(ledger, maker_taker=("0.0001", "0.003"))
    assert get_portfolio(ledger, 1).config.fills.maker == D("0.0001")
    fill = run_tick(ledger, priced, 1, "BTC/USDT", Mode.LIVE, clock()).fill
    assert fill.fee == round_up_to_ledger(fill.notional * D("0.003"))


@pytest.fixture
def here(cli_env, monkeypatch, capsys):
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    return lambda *args: run_inprocess(capsys, *args)


def test_status_shows_the_rates_in_force(here):
    assert here("create-portfolio", "bot", "10000", "--maker-fee", "0.0002", "--taker-fee", "0.0007").code == 0
    assert "maker 0.0002, taker 0.0007 (--maker-fee, --taker-fee)" in here("status", "1").stdout
    assert '"maker_fee": "0.0002"' in here("status", "1", "--json").stdout
    assert here("portfolio", "set", "1", "--fee-rate", "exchange").code == 0
    status = here("status", "1").stdout
    assert "the exchange's, per market: 0.001 where the market's are not known" in status


@pytest.mark.parametrize(
    "options",
    [
        ("--maker-fee", "0.001"),
        ("--fee-rate", "0.001", "--taker-fee", "0.001"),
        ("--maker-fee", "0.2", "--taker-fee", "0"),
    ],
)
def test_inconsistent_fee_options_exit_2_and_write_nothing(here, cli_database, options):
    assert here("create-portfolio", "bot", "10000").code == 0
    before = ledger_state(cli_database)
    refused = here("create-portfolio", "other", "10000", *options)
    assert refused.code == 2 and len(refused.error_lines) == 1, refused.stderr
    assert ledger_state(cli_database) == before
