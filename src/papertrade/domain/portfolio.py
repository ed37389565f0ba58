"""A portfolio's settings, and the validation of everything a user types to create one."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from papertrade.domain.book import DEFAULT_MAX_SLIPPAGE
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Book
from papertrade.domain.margin import MAX_LEVERAGE, SPOT, MarginRules
from papertrade.domain.money import MAX_CASH, parse_amount, to_plain
from papertrade.domain.orders import NO_EXITS, Exits, RestingOrder
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import InputError

MAX_NAME_LENGTH = 100
MAX_FEE_RATE = Decimal("0.1")
#: What a portfolio whose fees come from the exchange charges on a market whose rates are not
#: known (a candle file): Binance's standard spot rate, maker and taker.
DEFAULT_FEE_RATE = "0.001"
MAX_SLIPPAGE_BPS = Decimal(1000)
MAX_MARGIN_RATE = Decimal("0.5")
_CURRENCY = re.compile(r"[A-Z0-9]{2,20}")
_EXCHANGE = re.compile(r"[a-z][a-z0-9]{1,49}")
_SYMBOL = re.compile(r"([A-Z0-9]{1,20})/([A-Z0-9]{1,20})(?::([A-Z0-9]{1,20}))?")


@dataclass(frozen=True, slots=True)
class PortfolioConfig:
    """What a portfolio trades with: its strategy, market data source and fill model."""

    name: str
    quote: str
    strategy: str
    strategy_params: Mapping[str, Any]
    exchange: str
    timeframe: Timeframe
    fills: FillModel
    exits: Exits = NO_EXITS  # attached to every entry whose decision sets none
    allow_short: bool = False  # may hold a negative quantity (`Decision.short`)
    margin: MarginRules = SPOT  # what liquidates a position
    fill: str = "close"  # market orders fill at the close ("close") or walk the order book ("book")
    max_slippage: Decimal = DEFAULT_MAX_SLIPPAGE  # how far from the close a book walk may go (`--max-slippage`)
    fees_from_exchange: bool = False  # charge each market's own maker/taker rates (no fee option given)

    def fills_for(self, market: Market) -> FillModel:
        """The fill model a fill on `market` uses: the portfolio's, charging the market's own
        taker and maker rates when its fees come from the exchange and the market knows them
        (else the stored rates: `DEFAULT_FEE_RATE` for a portfolio that never set one)."""
        return self.fills.at_market_rates(market) if self.fees_from_exchange else self.fills


@dataclass(frozen=True, slots=True)
class Portfolio:
    """A stored portfolio: its settings and its book of cash and positions.

    `version` grows with every change to the book or the settings, so a tick can tell whether
    what it decided on is still what the ledger holds. An archived portfolio (`archived_ts`
    set) keeps its history but no longer trades.
    """

    id: int
    config: PortfolioConfig
    book: Book
    created_ts: int
    version: int = 0
    archived_ts: int | None = None
    orders: tuple[RestingOrder, ...] = ()  # resting, of every symbol

    @property
    def archived(self) -> bool:
        return self.archived_ts is not None

    def orders_of(self, symbol: str) -> list[RestingOrder]:
        return [order for order in self.orders if order.symbol == symbol]


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InputError("portfolio name must not be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InputError(f"portfolio name is longer than {MAX_NAME_LENGTH} characters")
    if any(not ch.isprintable() for ch in cleaned):
        raise InputError("portfolio name must not contain control characters")
    return cleaned


def parse_cash(text: str) -> Decimal:
    cash = parse_amount(text, "cash")
    if cash <= 0:
        raise InputError(f"cash must be positive, not {text.strip()}")
    if cash > MAX_CASH:
        raise InputError(f"cash {text.strip()} is absurdly large (the limit is {to_plain(MAX_CASH)})")
    return cash


def parse_fee_rates(fee_rate: str | None, maker_fee: str | None, taker_fee: str | None) -> tuple[str, str | None, bool]:
    """The fee options as typed: `--fee-rate` (maker and taker alike), or `--maker-fee` with
    `--taker-fee`, or none of them (the exchange's rates per market). Returns the taker rate and
    the maker rate as text (None: the taker's) and whether the rates come from the exchange."""
    if fee_rate is not None and (maker_fee is not None or taker_fee is not None):
        raise InputError("give either --fee-rate or --maker-fee with --taker-fee, not both")
    if (maker_fee is None) != (taker_fee is None):
        raise InputError("give --maker-fee and --taker-fee together (or --fee-rate for both)")
    if fee_rate is not None:
        return fee_rate, None, False
    if taker_fee is not None:
        return taker_fee, maker_fee, False
    return DEFAULT_FEE_RATE, None, True


def parse_fee_rate(text: str, what: str = "fee rate") -> Decimal:
    fee = parse_amount(text, what)
    if not 0 <= fee <= MAX_FEE_RATE:
        raise InputError(f"{what} must be between 0 and {MAX_FEE_RATE}, not {text.strip()}")
    return fee


def parse_fill_model(fee_rate: str, slippage_bps: str, stake_fraction: str, maker_fee: str | None = None) -> FillModel:
    """The fill model as typed; `fee_rate` is the taker's rate, `maker_fee` the maker's (None: the same)."""
    fee = parse_fee_rate(fee_rate, "fee rate" if maker_fee is None else "taker fee")
    maker = None if maker_fee is None else parse_fee_rate(maker_fee, "maker fee")
    slippage = parse_amount(slippage_bps, "slippage")
    if not 0 <= slippage <= MAX_SLIPPAGE_BPS:
        raise InputError(f"slippage must be between 0 and {MAX_SLIPPAGE_BPS} bps, not {slippage_bps.strip()}")
    stake = parse_amount(stake_fraction, "stake fraction")
    if not 0 < stake <= 1:
        raise InputError(f"stake fraction must be above 0 and at most 1, not {stake_fraction.strip()}")
    return FillModel(fee, slippage, stake, maker)


def market_limits(symbol: str, amount_step: str | None, min_notional: str | None, cached: Market | None) -> Market:
    """The market a backtest or replay trades `symbol` on: what `--amount-step` and
    `--min-notional` say, where they are given; else the market cached for the stored candles'
    exchange (`cached`); else an amount step of 0.00000001 and no minimum order."""
    market = cached or Market.unrestricted(symbol)
    step, minimum = market.amount_step, market.min_cost
    if amount_step is not None:
        step = parse_amount(amount_step, "amount step")
        if step <= 0:
            raise InputError(f"amount step must be above 0, not {amount_step.strip()}")
    if min_notional is not None:
        minimum = parse_amount(min_notional, "minimum notional")
        if minimum < 0:
            raise InputError(f"minimum notional must be 0 or more, not {min_notional.strip()}")
    return replace(market, amount_step=step, min_cost=minimum)


def check_currency(code: str) -> str:
    if not _CURRENCY.fullmatch(code):
        raise InputError(f"quote currency must be 2-20 capital letters or digits, like USDT, not {code!r}")
    return code


def check_exchange(exchange_id: str) -> str:
    if not _EXCHANGE.fullmatch(exchange_id):
        raise InputError(f"exchange must be a ccxt exchange id like binance, not {exchange_id!r}")
    return exchange_id


def parse_symbol(text: str) -> tuple[str, str]:
    """Split `BASE/QUOTE` (capitals and digits, as ccxt writes spot symbols), or a linear
    perpetual swap's `BASE/QUOTE:QUOTE` (settled in its quote, as `BTC/USDT:USDT`), into base
    and quote."""
    match = _SYMBOL.fullmatch(text)
    if match is None:
        hint = f" (did you mean {text.upper()}?)" if _SYMBOL.fullmatch(text.upper()) else ""
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise InputError(f"malformed symbol {shown!r}: use BASE/QUOTE like BTC/USDT, or BTC/USDT:USDT for a swap{hint}")
    base, quote, settle = match.groups()
    if settle is not None and settle != quote:
        raise InputError(
            f"{text} is settled in {settle}: only swaps settled in their quote (like BTC/USDT:USDT) are traded"
        )
    return base, quote


def parse_exits(stop_loss: str | None, take_profit: str | None, trailing_stop: str | None) -> Exits:
    """The exits a user gives as fractions of the entry price (0.03 = 3 %); any may be None."""
    values = {}
    for name, text in (("stop loss", stop_loss), ("take profit", take_profit), ("trailing stop", trailing_stop)):
        if text is not None:
            value = parse_amount(text, name)
            if not 0 < value < 1:
                raise InputError(f"{name} must be a fraction of the entry price above 0 and below 1 "
                                 f"(0.03 = 3 %), not {text.strip()}")  # fmt: skip
            values[name] = value
    return Exits.from_dict({key.replace(" ", "_"): str(value) for key, value in values.items()})


FILL_SETTINGS = ("close", "book")


def parse_fill_setting(text: str) -> str:
    """`--fill`: "close" (the candle's close, as backtest and replay fill) or "book" (the live
    order book, walked by `papertrade.domain.book`)."""
    setting = text.strip().lower()
    if setting not in FILL_SETTINGS:
        raise InputError(f"fill must be close or book, not {text.strip()!r}")
    return setting


#: A walk may not be allowed to go half the price away: a 50 % cap would let a sell fill at half the close.
MAX_MAX_SLIPPAGE = Decimal("0.5")


def parse_max_slippage(text: str) -> Decimal:
    """`--max-slippage`: how far from the decided candle's close a book walk may go, a fraction
    above 0 and below 0.5 (0.05 = 5 %)."""
    value = parse_amount(text, "max slippage")
    if not 0 < value < MAX_MAX_SLIPPAGE:
        raise InputError(f"max slippage must be above 0 and below {MAX_MAX_SLIPPAGE}, not {text.strip()}")
    return value


def parse_leverage(text: str) -> Decimal:
    """`--leverage`: from 1 to MAX_LEVERAGE (125), at most two decimal places."""
    leverage = parse_amount(text, "leverage", max_places=2)
    if not 1 <= leverage <= MAX_LEVERAGE:
        raise InputError(f"leverage must be from 1 to {MAX_LEVERAGE}, not {text.strip()}")
    return leverage


def check_leverage_fill(leverage: Decimal, fill: str) -> None:
    """A `--fill book` portfolio walks the order book for a spot budget: it trades at leverage 1."""
    if leverage != 1 and fill != "close":
        raise InputError(f"--leverage {to_plain(leverage)} needs --fill close (the order book is walked at leverage 1)")


def parse_margin_rules(maintenance_margin: str, liquidation_fee: str, leverage: str = "1") -> MarginRules:
    """The margin rules a user gives: rates of the notional, each at least 0 and below 0.5, and
    the leverage of new entries (`parse_leverage`)."""
    rates = []
    for name, text in (("maintenance margin", maintenance_margin), ("liquidation fee", liquidation_fee)):
        rate = parse_amount(text, name)
        if not 0 <= rate < MAX_MARGIN_RATE:
            raise InputError(
                f"{name} must be a rate of the notional from 0 to below {MAX_MARGIN_RATE}, not {text.strip()}"
            )
        rates.append(rate)
    return MarginRules(parse_leverage(leverage), maintenance_rate=rates[0], liquidation_fee_rate=rates[1])
