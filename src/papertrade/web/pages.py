"""The dashboard's HTML pages: Jinja2 templates, autoescaped, and how numbers are shown."""

from datetime import UTC, datetime
from decimal import Decimal

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from papertrade.domain import numbers
from papertrade.domain.timeframes import timestamp
from papertrade.views.dashboard import PAGE_SIZE


def when(ms) -> Markup:
    """A time of the ledger (UTC) as a `<time>` element: the page's UTC/local switch rewrites it."""
    if ms is None:
        return Markup("-")
    iso = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup('<time datetime="{}">{}</time>').format(iso, timestamp(ms))


def statistic(value, name: str, currency: str | None = None) -> str:
    """A `report` statistic as `report` prints it for people (the JSON document's form: money
    as exact text, times as ISO text, durations as text)."""
    from papertrade.reports.statistics import STAT_KINDS

    kind = STAT_KINDS[name]
    if kind == "time" and isinstance(value, str) and value.endswith("Z"):
        shown = value.replace("T", " ").replace(":00Z", "Z") if value.endswith(":00Z") else value
        return Markup('<time datetime="{}">{}</time>').format(value, shown)
    if kind in ("time", "duration"):
        return str(value) if value is not None else "-"
    return numbers.statistic(value, kind, currency)


def indicators(values: dict) -> str:
    return ", ".join(
        f"{name} {value:.2f}" if isinstance(value, float) else f"{name} {value}" for name, value in values.items()
    )


class Renderer:
    def __init__(self, ledger_name: str, refresh_seconds: int) -> None:
        self.env = Environment(
            loader=PackageLoader("papertrade.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self.env.filters.update(money=numbers.money, fee=numbers.fee, amount=numbers.amount, price=numbers.price,
                                percent=numbers.percent, duration=numbers.duration, when=when, statistic=statistic,
                                indicators=indicators,
                                thousands="{:,}".format)  # fmt: skip
        self.common = {"ledger": ledger_name, "refresh": refresh_seconds}
        for name in ("overview.html", "portfolio.html"):
            self.env.get_template(name)  # compiled now, not during the first request

    def overview(self, document: dict, archived: bool = False) -> str:
        """The overview page; `archived`: archived portfolios are listed (and marked) too."""
        return self.env.get_template("overview.html").render(**self.common, **document, archived=archived)

    def portfolio(self, row: dict, report: dict | None, trades: list[dict], journal, orders=()) -> str:
        open_symbols = [
            {**s, "side": "long" if Decimal(s["quantity"]) > 0 else "short"}
            for s in (report or {}).get("symbols", [])
            if Decimal(s["quantity"]) != 0
        ]
        return self.env.get_template("portfolio.html").render(
            **self.common,
            p=row,
            report=report,
            open_symbols=open_symbols,
            trades=list(reversed(trades))[:TRADES_SHOWN],
            trade_count=len(trades),
            round_trips=list(reversed((report or {}).get("round_trips", []))),
            journal=journal,
            page_size=PAGE_SIZE,
            orders=list(orders),
        )


#: The newest trades a portfolio page lists (all of them are in the API).
TRADES_SHOWN = 200


#: What each error status is called on its page, and what the reader can do about it.
ERRORS = {
    400: ("Bad request", "The address could not be read."),
    404: ("Not found", "The address may be mistyped, or the portfolio deleted: the overview lists them all."),
    405: ("Not allowed", "This dashboard only reads: it answers GET requests."),
    422: ("Not a valid address", "A value in the address is out of range or of the wrong kind."),
    500: ("Something went wrong", "The server logged the failure; try again, and look at its log if it persists."),
    503: ("Busy, try again", "The ledger is briefly busy: the page answers again in a moment."),
}


def error_page(status: int, message: str, ledger_name: str = "") -> str:
    """A human page for an error `status`, inside the dashboard's header bar; it does not refresh."""
    reason, hint = ERRORS.get(status, (f"Error {status}", ""))
    return _ERROR_ENV.get_template("error.html").render(
        ledger=ledger_name, refresh=0, status=status, reason=reason, message=message, hint=hint
    )


def token_page(action: str, refused: bool) -> str:
    """The 401 page of a page: a form for the dashboard's token (`refused`: one was given, wrong)."""
    return _ERROR_ENV.get_template("token.html").render(ledger="", refresh=0, action=action, refused=refused)


_ERROR_ENV = Environment(
    loader=PackageLoader("papertrade.web", "templates"), autoescape=select_autoescape(default=True)
)
