"""What the dashboard reads from the ledger, cached until the ledger changes.

A portfolio's report needs every processed candle; a dashboard asks for it again every few
seconds. Ticks are only ever appended, so a result stays valid until the ledger's version
(`read_models.ledger_version`) moves: then it is computed again, once.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable

from papertrade.views import dashboard, documents


class DashboardData:
    """Read-only access to one ledger for the web pages and the API."""

    def __init__(self, ledger, now: Callable[[], int], cache_size: int = 64) -> None:
        self.ledger = ledger
        self.now = now
        self._cache: OrderedDict = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def version(self) -> int:
        from papertrade.adapters.read_models import ledger_version

        with self.ledger.unit_of_work() as uow:
            return ledger_version(uow.connection)

    def _cached(self, key: tuple, compute: Callable[[], object]):
        key = (*key, self.version())
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return value

    def overview(self) -> dict:
        """The overview document; its staleness is judged now, the rest cached."""
        document = self._cached(("overview",), lambda: dashboard.overview_document(self.ledger, self.now()))
        now = self.now()
        rows = [_restaled(row, now) for row in document["portfolios"]]
        return {"now": now, "portfolios": rows}

    def headline(self, status: dict, report: dict | None) -> dict:
        """A portfolio's status with the overview's figures, taken from its report."""
        stats = report["stats"] if report else {}
        return {
            **_restaled(status, self.now()),
            "equity": stats.get("Equity Final [$]", status["cash"]),
            "return_pct": stats.get("Return [%]"),
            "max_drawdown_pct": stats.get("Max. Drawdown [%]"),
        }

    def portfolios(self) -> list[dict]:
        from papertrade.services.portfolios import list_portfolios

        return [documents.portfolio_document(p) for p in list_portfolios(self.ledger)]

    def status(self, portfolio_id: int) -> dict:
        from papertrade.services.portfolios import get_portfolio, last_ticks

        return documents.status_document(
            get_portfolio(self.ledger, portfolio_id), last_ticks(self.ledger, portfolio_id)
        )

    def performance(self, portfolio_id: int):
        from papertrade.services.reports import from_ledger

        return self._cached(("performance", portfolio_id), lambda: from_ledger(self.ledger, portfolio_id))

    def report(self, portfolio_id: int) -> dict:
        performance = self.performance(portfolio_id)
        return self._cached(("report", portfolio_id), lambda: documents.report_document(performance))

    def trades(self, portfolio_id: int) -> list[dict]:
        from papertrade.services.portfolios import list_trades

        return [documents.trade_document(r) for r in list_trades(self.ledger, portfolio_id)]

    def journal(self, portfolio_id: int, page: int) -> dashboard.JournalPage:
        return dashboard.journal_page(self.ledger, portfolio_id, page)

    def chart_json(self, portfolio_id: int) -> str:
        """The portfolio's Plotly figure as JSON text."""
        from papertrade.views.chart_data import for_ledger
        from papertrade.views.charts import figure_json

        def compute() -> str:
            performance = self.performance(portfolio_id)
            if len(performance.times) == 0:
                return "null"
            return figure_json(for_ledger(self.ledger, portfolio_id, performance, ""))

        return self._cached(("chart", portfolio_id), compute)


def _restaled(row: dict, now: int) -> dict:
    from papertrade.domain.timeframes import Timeframe

    timeframe = Timeframe.parse(row["timeframe"])
    ticks = [{**tick, **dashboard.staleness(tick, timeframe, now)} for tick in row["last_ticks"]]
    return {**row, "last_ticks": ticks}
