"""The order book through real ccxt against the local Binance imitation: its levels arrive as domain
`BookLevel`s, exact to the digit the exchange sent, and every unsound book or failed request is
temporary trouble."""

from decimal import ROUND_DOWN, ROUND_UP, Decimal

import pytest

from papertrade.domain.book import BookError, check_book, walk
from papertrade.domain.ledger import Side
from papertrade.errors import TemporaryError
from tests.support.fake_binance import book_levels, load_rows

D = Decimal
HOUR = 3_600_000


@pytest.fixture
def source(market_data_for, exchange):
    market_data = market_data_for("binance")
    market_data.market("BTC/USDT")
    exchange.reset_counts()
    return market_data


def decided_close() -> Decimal:
    """The close of the candle the `clock` fixture's tick decides on (candle 1000, closed 30 s ago)."""
    return D(load_rows("binance_BTC-USDT_1h.csv")[1000][4])


def test_the_book_arrives_as_domain_levels_best_first_in_one_request(source, exchange, clock):
    book = source.fetch_order_book("BTC/USDT", 5)
    close = decided_close()
    assert len(book.bids) == len(book.asks) == 5
    assert book.asks[0].price == (close * D("1.0001")).quantize(D("0.01"), rounding=ROUND_UP)
    assert book.bids[0].price == (close * D("0.9999")).quantize(D("0.01"), rounding=ROUND_DOWN)
    assert [level.amount for level in book.asks] == [D("0.25"), D("0.5"), D("0.75"), D(1), D("1.25")]
    assert [b.price for b in book.bids] == sorted((b.price for b in book.bids), reverse=True)
    assert [a.price for a in book.asks] == sorted(a.price for a in book.asks)
    assert book.ts_ms is None  # Binance's spot book carries no time of its own
    assert exchange.count("/depth") == 1
    check_book(book, clock())


def test_the_levels_are_exactly_the_digits_served(source, exchange):
    book = source.fetch_order_book("BTC/USDT")
    served_bids, served_asks = book_levels(exchange.state, "BTCUSDT")
    assert [(lv.price, lv.amount) for lv in book.asks] == [(D(p), D(a)) for p, a in served_asks]
    assert [(lv.price, lv.amount) for lv in book.bids] == [(D(p), D(a)) for p, a in served_bids]


def test_a_walk_of_the_fetched_book_pays_the_served_levels(source, exchange):
    book = source.fetch_order_book("BTC/USDT", 5)
    _, asks = book_levels(exchange.state, "BTCUSDT")
    walked = walk(book, Side.BUY, D("0.6"), decided_close(), D("0.05"))
    assert walked.cost == D("0.25") * D(asks[0][0]) + D("0.35") * D(asks[1][0])
    assert walked.unfilled == 0


@pytest.mark.parametrize("fault", ["empty", "crossed", "stale"])
def test_an_unsound_book_is_refused_as_temporary_trouble(source, exchange, clock, fault):
    exchange.inject(fault, path="/depth")
    book = source.fetch_order_book("BTC/USDT", 5)
    with pytest.raises(BookError, match=fault):
        check_book(book, clock())


@pytest.mark.parametrize("fault", ["http-503-html", "http-429", "http-500", "reset"])
def test_a_failed_book_request_is_temporary_trouble(source, exchange, fault):
    exchange.inject(fault, path="/depth")
    with pytest.raises(TemporaryError):
        source.fetch_order_book("BTC/USDT", 5)
