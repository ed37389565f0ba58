"""What the dashboard reads from the ledger, cached until the ledger changes, and kept fresh.

A portfolio's report needs every processed candle; a dashboard asks for it again every few
seconds. Ticks are only ever appended, so a portfolio's report and chart stay valid until its
newest tick changes (`read_models.portfolio_version`): then they are computed again, once, even
when several requests ask at the same moment. A background thread computes them ahead of the
requests whenever a portfolio someone looked at has a new tick, so an open page's refresh finds
them ready.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable

from papertrade.errors import PapertradeError
from papertrade.views import dashboard, documents


class Memo:
    """Values computed once per (key, version); a caller asking for a value being computed
    waits for that computation instead of repeating it."""

    def __init__(self, size: int) -> None:
        self._values: OrderedDict = OrderedDict()
        self._pending: dict[tuple, threading.Event] = {}
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple, version, compute: Callable[[], object]):
        with self._lock:
            found = self._values.get(key)
            if found is not None and found[0] == version:
                self._values.move_to_end(key)
                return found[1]
            running = self._pending.get((key, version))
            if running is None:
                self._pending[(key, version)] = threading.Event()
        if running is not None:
            running.wait()
            return self.get(key, version, compute)
        try:
            value = compute()
            self._store(key, version, value)
            return value
        finally:
            with self._lock:
                self._pending.pop((key, version)).set()

    def _store(self, key: tuple, version, value) -> None:
        with self._lock:
            self._values[key] = (version, value)
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)

    def cached(self) -> list[tuple]:
        with self._lock:
            return list(self._values)


class DashboardData:
    """Read-only access to one ledger for the web pages and the API."""

    def __init__(self, ledger, now: Callable[[], int], cache_size: int = 96) -> None:
        self.ledger = ledger
        self.now = now
        self._memo = Memo(cache_size)

    def _version(self, portfolio_id: int | None):
        from papertrade.adapters.read_models import ledger_version, portfolio_version

        with self.ledger.unit_of_work() as uow:
            if portfolio_id is None:
                return ledger_version(uow.connection)
            return portfolio_version(uow.connection, portfolio_id)

    def _cached(self, key: tuple, compute: Callable[[], object], portfolio_id: int | None = None):
        return self._memo.get(key, self._version(portfolio_id), compute)

    @staticmethod
    def warm_up() -> None:
        """Import what reports and charts are computed with (a second of a cold start), before
        the server takes its first request rather than during it."""
        import pandas
        import plotly.graph_objects
        import plotly.subplots

        import papertrade.reports.statistics
        import papertrade.services.reports
        import papertrade.views.chart_data
        import papertrade.views.charts

        del pandas, plotly, papertrade

    def keep_fresh(self, stop: threading.Event, every: float) -> None:
        """Run until `stop`: every `every` seconds recompute the report and chart of each
        portfolio in the cache that has a new tick."""
        while not stop.wait(every):
            for portfolio_id in {key[1] for key in self._memo.cached() if key[0] == "chart"}:
                self._refresh(portfolio_id)

    def _refresh(self, portfolio_id: int) -> None:
        try:
            self.report(portfolio_id)
            self.chart_json(portfolio_id)
        except PapertradeError:
            pass  # nothing to report yet, or a ledger that is briefly locked: the next pass or request retries

    def overview(self, archived: bool = False) -> dict:
        """The overview document (archived portfolios too when `archived`); its staleness is
        judged now, the rest cached."""
        document = self._cached(
            ("overview", archived), lambda: dashboard.overview_document(self.ledger, self.now(), archived)
        )
        now, failing = self.now(), dashboard.failing_runs(self.ledger)
        rows = [_restaled(row, now, failing) for row in document["portfolios"]]
        return {"now": now, "portfolios": rows}

    def headline(self, status: dict, report: dict | None) -> dict:
        """A portfolio's status with the overview's figures, taken from its report."""
        stats = report["stats"] if report else {}
        return {
            **_restaled(status, self.now(), dashboard.failing_runs(self.ledger, status["id"])),
            "equity": status["equity"],
            "return_pct": stats.get("Return [%]"),
            "max_drawdown_pct": stats.get("Max. Drawdown [%]"),
        }

    def portfolios(self, archived: bool = False) -> list[dict]:
        """`portfolios --json`, and with `archived` what `portfolios --archived --json` prints."""
        from papertrade.services.valuation import value_all

        return [documents.portfolio_document(v) for v in value_all(self.ledger, archived=archived)]

    def status(self, portfolio_id: int) -> dict:
        from papertrade.services.notifications import list_targets
        from papertrade.services.portfolios import last_ticks, study_origin
        from papertrade.services.valuation import value_portfolio

        document = documents.status_document(
            value_portfolio(self.ledger, portfolio_id), last_ticks(self.ledger, portfolio_id)
        )
        channels = documents.notifications_document(list_targets(self.ledger, portfolio_id))
        return {**document, "from_study": study_origin(self.ledger, portfolio_id), "notifications": channels}

    def performance(self, portfolio_id: int, version=None):
        """The portfolio's `Performance`, as of `version` (read now when None)."""
        from papertrade.services.reports import from_ledger

        version = self._version(portfolio_id) if version is None else version
        return self._memo.get(("performance", portfolio_id), version, lambda: from_ledger(self.ledger, portfolio_id))

    def report(self, portfolio_id: int) -> dict:
        version = self._version(portfolio_id)
        performance = self.performance(portfolio_id, version)
        return self._memo.get(("report", portfolio_id), version, lambda: documents.report_document(performance))

    def trades(self, portfolio_id: int) -> list[dict]:
        from papertrade.services.portfolios import list_trades

        return documents.trade_documents(list_trades(self.ledger, portfolio_id))

    def orders(self, portfolio_id: int) -> list[dict]:
        from papertrade.services.portfolios import get_portfolio

        return documents.orders_document(get_portfolio(self.ledger, portfolio_id))

    def journal(self, portfolio_id: int, page: int) -> dashboard.JournalPage:
        return dashboard.journal_page(self.ledger, portfolio_id, page)

    def zoomed_candles(self, portfolio_id: int, symbol: str, first: int, last: int) -> dict | None:
        from papertrade.views.chart_data import zoomed_candles

        return zoomed_candles(self.ledger, portfolio_id, symbol, first, last)

    def chart_json(self, portfolio_id: int) -> str:
        """The portfolio's Plotly figure as JSON text."""
        from papertrade.views.chart_data import for_ledger
        from papertrade.views.charts import figure_json

        version = self._version(portfolio_id)

        def compute() -> str:
            performance = self.performance(portfolio_id, version)
            if len(performance.times) == 0:
                return "null"
            return figure_json(for_ledger(self.ledger, portfolio_id, performance, ""))

        return self._memo.get(("chart", portfolio_id), version, compute)

    def drift_chart_json(self, portfolio_id: int) -> str:
        """The portfolio's paper and backtest equity curves (`report --vs-backtest`) as a Plotly
        figure: null when there is nothing to compare (no candle processed, several symbols)."""
        from papertrade.errors import InputError, NotFound
        from papertrade.services.drift import vs_backtest
        from papertrade.views.charts import drift_figure

        def compute() -> str:
            try:
                return drift_figure(vs_backtest(self.ledger, portfolio_id)).to_json()
            except (NotFound, InputError):
                return "null"

        return self._memo.get(("drift-chart", portfolio_id), self._version(portfolio_id), compute)


def _restaled(row: dict, now: int, failing: dict) -> dict:
    """`row` with each tick's staleness judged at `now`; an archived portfolio no longer trades,
    so its ticks are never stale."""
    from papertrade.domain.timeframes import Timeframe

    if row.get("archived_ts") is not None:
        return {**row, "last_ticks": [{**tick, "stale": False, "cause": None} for tick in row["last_ticks"]]}

    timeframe = Timeframe.parse(row["timeframe"])
    ticks = [
        {**tick, **dashboard.staleness(tick, timeframe, now, failing.get((row["id"], tick["symbol"])))}
        for tick in row["last_ticks"]
    ]
    return {**row, "last_ticks": ticks}
