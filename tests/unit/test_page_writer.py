"""A download's pages are committed in a thread of their own while the next ones are fetched."""

import threading
from decimal import Decimal

import pytest

from papertrade.domain.bars import Bar
from papertrade.domain.coverage import Series
from papertrade.errors import TemporaryError
from papertrade.services.market_data import PageWriter
from tests.unit.fakes import FakeLedger

SERIES = Series("binance", "BTC/USDT", "1h")
H = 3_600_000


def page(*hours: int) -> list[Bar]:
    one = Decimal(1)
    return [Bar(hour * H, one, one, one, one, one) for hour in hours]


def stored(ledger: FakeLedger) -> list[int]:
    return sorted(ts // H for ts in ledger.state.candles.get(("binance", "BTC/USDT", "1h"), {}))


def test_every_page_given_is_committed_by_the_end_of_the_block():
    ledger = FakeLedger()
    with PageWriter(ledger, SERIES) as writer:
        for hour in range(0, 30, 3):
            writer.put(page(hour, hour + 1, hour + 2), [])
        writer.put([], [(30 * H, 40 * H)])
    assert stored(ledger) == list(range(30)) and 1 <= ledger.commits <= 11
    assert ledger.state.confirmed_gaps == [(SERIES, 30 * H, 40 * H)]


def test_pages_given_while_the_disk_is_busy_go_together_in_the_next_transaction():
    ledger, busy, free = FakeLedger(), threading.Event(), threading.Event()

    def slow_disk(_ledger):
        busy.set()
        free.wait(10)

    ledger.before_write = slow_disk  # the first commit waits until the test lets it go
    with PageWriter(ledger, SERIES) as writer:
        writer.put(page(0, 1), [])
        assert busy.wait(10)
        writer.put(page(2, 3), [])
        writer.put([], [(4 * H, 5 * H)])
        writer.put(page(6), [])
        free.set()
    assert stored(ledger) == [0, 1, 2, 3, 6] and ledger.commits == 2
    assert ledger.state.confirmed_gaps == [(SERIES, 4 * H, 5 * H)]


def test_a_fetch_that_fails_keeps_every_page_fetched_before_it():
    ledger = FakeLedger()
    with pytest.raises(TemporaryError, match="cannot reach"), PageWriter(ledger, SERIES) as writer:
        writer.put(page(0, 1), [])
        writer.put(page(2, 3), [])
        raise TemporaryError("cannot reach binance")
    assert stored(ledger) == [0, 1, 2, 3]


def test_a_page_that_cannot_be_committed_ends_the_download_with_its_error_and_nothing_after_it():
    ledger = FakeLedger()

    def locked(_ledger):
        raise TemporaryError("database is locked")

    ledger.before_write = locked  # the first write transaction fails
    with pytest.raises(TemporaryError, match="locked"), PageWriter(ledger, SERIES) as writer:
        for hour in range(0, 10, 2):
            writer.put(page(hour, hour + 1), [])
    assert stored(ledger) == [] and ledger.commits == 0
