"""A download's pages are committed in a thread of their own while the next ones are fetched."""

import gc
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


class _Pages:
    """A candle source of one page per request, failing on request `fail_at` (None: never)."""

    exchange_id, page_size = "binance", 2

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.collector_seen: list[tuple[int, int]] = []

    def pages(self, symbol, timeframe, start, end, now):
        for request, hour in enumerate(range(start // H, end // H + 1, 2)):
            self.collector_seen.append((gc.get_freeze_count(), gc.get_threshold()[0]))
            if request == self.fail_at:
                raise TemporaryError("cannot reach binance")
            yield page(hour, hour + 1)


@pytest.mark.parametrize("fail_at", [None, 2])
def test_a_download_leaves_the_heap_out_of_collections_while_it_runs_and_puts_the_collector_back(fail_at):
    from papertrade.domain.timeframes import Timeframe
    from papertrade.services.market_data import DownloadPlan, download

    gc.unfreeze()  # a process that froze nothing (commands run in-process by other tests freeze)
    before = gc.get_threshold()
    plan = DownloadPlan(SERIES, Timeframe.parse("1h"), 0, 9 * H, [(0, 9 * H)])
    source, ledger = _Pages(fail_at), FakeLedger()
    if fail_at is None:
        download(ledger, source, plan, 10 * H, lambda tally: None)
    else:
        with pytest.raises(TemporaryError, match="kept 4 candles"):
            download(ledger, source, plan, 10 * H, lambda tally: None)
    assert all(frozen > 0 and threshold > before[0] for frozen, threshold in source.collector_seen)
    assert (gc.get_freeze_count(), gc.get_threshold()) == (0, before)
    assert stored(ledger) == list(range(10 if fail_at is None else 4))


def test_a_heap_frozen_before_the_download_stays_frozen_after_it():
    from papertrade.domain.timeframes import Timeframe
    from papertrade.services.market_data import DownloadPlan, download

    plan = DownloadPlan(SERIES, Timeframe.parse("1h"), 0, 3 * H, [(0, 3 * H)])
    gc.freeze()  # as the command line does with what its start-up made
    try:
        frozen = gc.get_freeze_count()
        download(FakeLedger(), _Pages(), plan, 4 * H, lambda tally: None)
        assert gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()


class _RequestsOnTheirWay:
    """A candle source whose requests run two at once (as the exchange adapter's do); from the
    third on, each waits until `answered` is set (or 20 s)."""

    exchange_id, page_size = "binance", 2

    def __init__(self) -> None:
        self.answered, self.finished = threading.Event(), threading.Event()

    def pages(self, symbol, timeframe, start, end, now):
        from papertrade.adapters.in_order import in_order

        def fetch(_lane: int, hour: int) -> list[Bar]:
            if hour >= 4:
                self.answered.wait(20)
                self.finished.set()
            return page(hour, hour + 1)

        yield from in_order([0, 1], list(range(start // H, end // H + 1, 2)), fetch)


def test_a_ctrl_c_between_pages_leaves_at_once_keeping_the_pages_and_not_waiting_for_requests():
    from papertrade.domain.timeframes import Timeframe
    from papertrade.services.market_data import DownloadPlan, download

    source, ledger = _RequestsOnTheirWay(), FakeLedger()
    plan = DownloadPlan(SERIES, Timeframe.parse("1h"), 0, 19 * H, [(0, 19 * H)])

    def progress(tally) -> None:
        if tally.requests == 2:
            raise KeyboardInterrupt  # Ctrl-C, taken while the display is updated

    with pytest.raises(KeyboardInterrupt):
        download(ledger, source, plan, 20 * H, progress)
    assert not source.finished.is_set()  # it did not wait for the requests on their way
    source.answered.set()
    assert stored(ledger) == [0, 1, 2, 3]


def test_the_threads_of_a_download_leave_ctrl_c_to_the_main_thread():
    import signal

    def blocked() -> bool:
        return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])

    ledger, seen = FakeLedger(), []
    ledger.before_write = lambda _ledger: seen.append(blocked())
    with PageWriter(ledger, SERIES) as writer:
        writer.put(page(0, 1), [])
    from papertrade.adapters.in_order import in_order

    workers = list(in_order(["a", "b"], list(range(4)), lambda _worker, _job: blocked()))
    assert seen == [True] and workers == [True] * 4 and not blocked()
