from decimal import Decimal

from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Position, Side

D = Decimal
BTC = Market("BTC/USDT", "BTC", "USDT", amount_step=D("0.00001"), min_amount=D("0.00001"), min_cost=D(5))


def test_buy_spends_the_stake_including_the_fee_rounded_down_to_the_step():
    fill = FillModel(D("0.001"), D(0), D(1)).buy(BTC, D(10_000), D("56012.00"))
    # 10000 / (56012 * 1.001) = 0.178356...; rounded down to the 0.00001 step
    assert fill.quantity == D("0.17835")
    assert fill.price == D("56012.00")
    assert fill.notional == D("9989.7402")
    assert fill.fee == D("9.9897402")
    assert fill.notional + fill.fee <= D(10_000)


def test_stake_fraction_limits_what_a_buy_spends():
    fill = FillModel(D(0), D(0), D("0.25")).buy(BTC, D(1000), D(100))
    assert fill.notional == D(250)


def test_slippage_moves_the_price_against_the_trader():
    model = FillModel(D(0), D(10), D(1))
    assert model.fill_price(D(1000), Side.BUY) == D(1001)
    assert model.fill_price(D(1000), Side.SELL) == D(999)


def test_slippage_finer_than_the_ledger_rounds_against_the_trader():
    model = FillModel(D(0), D("0.01"), D(1))
    close = D("0.000000000000000123")
    assert model.fill_price(close, Side.BUY) > close * (1 + D("0.000001"))
    assert model.fill_price(close, Side.SELL) < close * (1 - D("0.000001"))


def test_a_buy_below_the_minimum_order_is_not_made():
    model = FillModel(D("0.001"), D(0), D(1))
    assert model.buy(BTC, D("4.99"), D(100)) is None  # under min_cost 5
    tiny = Market("BTC/USDT", "BTC", "USDT", amount_step=D("0.001"), min_amount=D("0.01"))
    assert model.buy(tiny, D("0.5"), D(100)) is None  # 0.004 BTC < min_amount
    assert model.buy(BTC, D(0), D(100)) is None


def test_sell_closes_the_whole_position():
    position = Position("BTC/USDT", quantity=D("0.17835"), cost_basis=D("9989.7402"))
    fill = FillModel(D("0.001"), D(0), D(1)).close(BTC, position, D(60000))
    assert fill.side is Side.SELL and fill.quantity == D("0.17835")
    assert fill.notional == D("10701") and fill.fee == D("10.701")


def test_sell_with_nothing_held_or_below_the_minimum_is_not_made():
    model = FillModel(D("0.001"), D(0), D(1))
    assert model.close(BTC, Position("BTC/USDT"), D(60000)) is None
    dust = Position("BTC/USDT", quantity=D("0.00001"), cost_basis=D("0.5"))
    assert model.close(BTC, dust, D(60000)) is None  # 0.6 USDT < min_cost 5


def test_rounding_the_fee_up_never_lets_a_buy_overspend():
    model = FillModel(D("0.0013"), D(0), D(1))
    market = Market("X/USDT", "X", "USDT", amount_step=D("0.000000000000000001"))
    fill = model.buy(market, D("1"), D("0.333333333333333333"))
    assert fill.notional + fill.fee <= D(1)


# -- maker and taker ---------------------------------------------------------------------------


def test_a_resting_limit_or_take_profit_fill_pays_the_maker_rate_and_a_market_or_stop_fill_the_taker_s():
    market = Market("BTC/USDT", "BTC", "USDT", Decimal("0.001"))
    model = FillModel(Decimal("0.004"), Decimal(0), Decimal("0.5"), maker_rate=Decimal("0.001"))
    at_market = model.buy(market, Decimal(1000), Decimal(100))
    resting = model.buy(market, Decimal(1000), Decimal(100), slipped=False)
    assert at_market.fee == at_market.notional * Decimal("0.004")
    assert resting.fee == resting.notional * Decimal("0.001") and resting.quantity > at_market.quantity
    position = Position("BTC/USDT", Decimal(1), Decimal(100))
    assert model.close(market, position, Decimal(110), slipped=False).fee == Decimal("0.11")
    assert model.close(market, position, Decimal(90)).fee == Decimal("0.36")


def test_a_model_takes_a_market_s_own_rates_only_when_it_knows_them():
    model = FillModel(Decimal("0.001"), Decimal(0), Decimal(1))
    priced = Market(
        "BTC/USDT", "BTC", "USDT", Decimal("0.001"), maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0007")
    )
    assert model.at_market_rates(priced) == FillModel(Decimal("0.0007"), Decimal(0), Decimal(1), Decimal("0.0002"))
    assert model.at_market_rates(Market.unrestricted("BTC/USDT")) is model
