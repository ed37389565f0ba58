"""The fill model: how a BUY or SELL signal on a candle's close becomes a `Fill`.

Shared by the live tick, replay and backtest, so all three produce identical trades.
"""

from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import TYPE_CHECKING

from papertrade.domain.ledger import Fill, Position, Side
from papertrade.domain.money import (
    QUANTUM,
    ZERO,
    divide_down,
    divide_to_ledger,
    exact,
    round_to_ledger,
    round_up_to_ledger,
)

if TYPE_CHECKING:
    from papertrade.domain.orders import Size

_BPS = Decimal(10_000)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Market:
    """What the exchange allows for one symbol: the amount step and the minimum order.

    `venue_symbol` is the exchange's own name for the market (BTCUSDT on Binance); `maker_fee`
    and `taker_fee` are the exchange's fee rates for it (None: not known, as for a candle file).
    """

    symbol: str
    base: str
    quote: str
    amount_step: Decimal
    min_amount: Decimal = ZERO
    min_cost: Decimal = ZERO
    venue_symbol: str = ""
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None

    @classmethod
    def unrestricted(cls, symbol: str) -> "Market":
        """A market for offline data: amounts in steps of 1e-8, no minimum order."""
        base, _, quote = symbol.partition("/")
        return cls(symbol, base, quote, Decimal("0.00000001"), venue_symbol=symbol)


@dataclass(frozen=True, slots=True)
class FillModel:
    """A portfolio's execution settings.

    - price: the close, moved against the trader by `slippage_bps` basis points;
    - fee: the rate x quantity x price, in the quote currency: `fee_rate` (the taker's) for a
      market or stop fill, `maker_rate` (None: `fee_rate`) for a resting limit or take-profit fill;
    - BUY spends `stake_fraction` of the cash including the fee (unless the decision sizes it),
      the quantity rounded down to the market's amount step; SELL sells the whole position
      (unless the decision sells a portion).
    - At a leverage L > 1 an entry commits its margin (notional / L, rounded up) plus its fee
      instead of its notional plus fee: a budget B buys B x L / (price x (1 + L x fee rate)).
    """

    fee_rate: Decimal
    slippage_bps: Decimal
    stake_fraction: Decimal
    maker_rate: Decimal | None = None

    @property
    def maker(self) -> Decimal:
        """The rate a resting limit or take-profit fill pays."""
        return self.fee_rate if self.maker_rate is None else self.maker_rate

    def at_market_rates(self, market: Market) -> "FillModel":
        """This model charging `market`'s own taker and maker rates (itself when they are not known)."""
        if market.taker_fee is None or market.maker_fee is None:
            return self
        return replace(self, fee_rate=market.taker_fee, maker_rate=market.maker_fee)

    def _charging(self, slipped: bool) -> "FillModel":
        """The model whose `fee_rate` a fill pays: the taker rate for a market or stop fill
        (`slipped`), the maker rate for a resting limit or take-profit fill (at its own level)."""
        if slipped or self.maker_rate is None or self.maker_rate == self.fee_rate:
            return self
        return replace(self, fee_rate=self.maker_rate, maker_rate=None)

    def fill_price(self, close: Decimal, side: Side) -> Decimal:
        with exact():
            move = close * self.slippage_bps / _BPS
            price = close + move if side is Side.BUY else close - move
        return round_to_ledger(price, _against_trader(side))

    def buy(
        self,
        market: Market,
        cash: Decimal,
        reference: Decimal,
        size: "Size | None" = None,
        *,
        slipped: bool = True,
        leverage: Decimal = _ONE,
    ) -> Fill | None:
        """The BUY fill at `reference` (moved by slippage when `slipped`), sized by `size` (None:
        `stake_fraction` of the cash), or None when the cash cannot pay for it or it would fall
        below the market's minimum. Never commits more than the cash, fee included (at
        `leverage` > 1 what it commits is its margin, see the class)."""
        return self._charging(slipped)._entry(Side.BUY, market, cash, reference, size, slipped, leverage)

    def short(
        self,
        market: Market,
        cash: Decimal,
        reference: Decimal,
        size: "Size | None" = None,
        *,
        slipped: bool = True,
        leverage: Decimal = _ONE,
    ) -> Fill | None:
        """The SELL that opens (or adds to) a short, sized exactly as a `buy` of the same cash
        would be (its notional plus fee at most the budget), at `reference` moved down by
        slippage when `slipped`; None when the cash could not pay for a buy of that size."""
        return self._charging(slipped)._entry(Side.SELL, market, cash, reference, size, slipped, leverage)

    def _entry(
        self,
        side: Side,
        market: Market,
        cash: Decimal,
        reference: Decimal,
        size: "Size | None",
        slipped: bool,
        leverage: Decimal = _ONE,
    ) -> Fill | None:
        price = self.fill_price(reference, side) if slipped else reference
        if size is not None and size.unit == "base":
            return self._entry_quantity(side, market, cash, price, size.value, leverage)
        budget = self.budget(cash, size)
        if budget is None or budget <= 0:
            return None
        if leverage != 1:
            return self._entry_budget(side, market, budget, price, price, leverage)
        with exact():
            unit_cost = price * (1 + self.fee_rate)
        return self._entry_budget(side, market, budget, unit_cost, price)

    def budget(self, cash: Decimal, size: "Size | None") -> Decimal | None:
        """What a buy may spend, fee included: a quote amount the cash cannot pay is None."""
        if size is not None and size.unit == "quote":
            return size.value if size.value <= cash else None
        fraction = size.value if size is not None else self.stake_fraction
        with exact():
            return cash * fraction

    def _entry_budget(
        self,
        side: Side,
        market: Market,
        budget: Decimal,
        unit_cost: Decimal,
        price: Decimal,
        leverage: Decimal = _ONE,
    ) -> Fill | None:
        # Rounding the notional (and the margin) and then the fee up adds at most 3.1 ledger quanta
        # to the cost, so if the first sizing overshoots the budget, sizing for 4 quanta less fits.
        for headroom in (ZERO, (3 if leverage == 1 else 4) * QUANTUM):
            with exact():
                spendable = budget - headroom
                if leverage != 1:  # notional / L + notional x fee <= spendable
                    spendable, unit_cost = spendable * leverage, price * (1 + leverage * self.fee_rate)
            quantity = divide_down(spendable, unit_cost, market.amount_step)
            if quantity <= 0 or not _meets_minimums(market, quantity, price):
                return None
            fill = self._fill(market.symbol, side, quantity, price)
            if self.commitment(fill, leverage) <= budget:
                return fill
        raise AssertionError(f"an entry of {quantity} at {price} overspends {budget}")

    @staticmethod
    def commitment(fill: Fill, leverage: Decimal = _ONE) -> Decimal:
        """What an entry takes out of free cash: its notional (at leverage 1) or its margin
        (notional / leverage, rounded up), plus its fee."""
        committed = fill.notional if leverage == 1 else divide_to_ledger(fill.notional, leverage, ROUND_UP)
        with exact():
            return committed + fill.fee

    def _entry_quantity(
        self, side: Side, market: Market, cash: Decimal, price: Decimal, wanted: Decimal, leverage: Decimal = _ONE
    ):
        quantity = divide_down(wanted, Decimal(1), market.amount_step)
        if quantity <= 0 or not _meets_minimums(market, quantity, price):
            return None
        fill = self._fill(market.symbol, side, quantity, price)
        return fill if self.commitment(fill, leverage) <= cash else None

    def close(
        self,
        market: Market,
        position: Position,
        reference: Decimal,
        quantity: Decimal | None = None,
        *,
        slipped: bool = True,
    ) -> Fill | None:
        """The fill that closes `quantity` (None: all) of a long (a SELL) or a short (a BUY, a
        cover) at `reference`, moved by slippage against the trader when `slipped`; None when
        flat or below the market's minimum. A cover is never refused for want of cash."""
        if not slipped and self._charging(slipped) is not self:
            return self._charging(slipped).close(market, position, reference, quantity, slipped=slipped)
        side = Side.BUY if position.is_short else Side.SELL
        price = self.fill_price(reference, side) if slipped else reference
        held = position.quantity.copy_abs()  # abs() would round to the context's precision
        quantity = held if quantity is None else min(quantity, held)
        if not position.is_open or quantity <= 0 or not _meets_minimums(market, quantity, price):
            return None
        return self._fill(market.symbol, side, quantity, price)

    def _fill(self, symbol: str, side: Side, quantity: Decimal, price: Decimal) -> Fill:
        with exact():
            raw_notional = quantity * price
        notional = round_to_ledger(raw_notional, _against_trader(side))
        with exact():
            raw_fee = self.fee_rate * notional
        return Fill(symbol, side, quantity, price, round_up_to_ledger(raw_fee), notional)


def slippage_bps(side: Side | str, price: Decimal, reference: Decimal | None) -> Decimal | None:
    """How far `price` lies from `reference` against the trader, in basis points of the reference
    (above it for a BUY, below it for a SELL; negative when the fill was better), to the ledger's
    places; None without a reference."""
    if reference is None or reference <= 0:
        return None
    with exact():
        moved = price - reference if str(side) == "BUY" else reference - price
    return divide_to_ledger(moved * _BPS, reference)


def _against_trader(side: Side) -> str:
    """Buys round prices and amounts up, sells down: the paper trader never gets the better hair."""
    return ROUND_UP if side is Side.BUY else ROUND_DOWN


def _meets_minimums(market: Market, quantity: Decimal, price: Decimal) -> bool:
    with exact():
        cost = quantity * price
    return quantity >= market.min_amount and cost >= market.min_cost
