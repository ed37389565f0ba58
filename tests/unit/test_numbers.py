"""The one rule for numbers people read (`papertrade.domain.numbers`), on figures the demo and a
first week of paper trading produced, and on a BTC-quoted portfolio; and the surfaces that must
follow it (report, dashboard, notifications, charts)."""

from decimal import Decimal

from papertrade.domain import numbers
from papertrade.domain.notifications import OutboxEvent, daily_payload, render
from papertrade.reports.statistics import STAT_KINDS

D = Decimal


def test_fees_are_rounded_up_everywhere_so_commissions_and_the_fees_column_agree():
    paid = D("209.40997")  # a report's Commissions [$], exactly
    assert numbers.fee(paid, "USDT") == "209.41"
    assert numbers.statistic(paid, STAT_KINDS["Commissions [$]"], "USDT") == "209.41"
    assert numbers.fee(D("114.9616"), "USDT") == "114.97"


def test_cash_and_gains_are_rounded_down_and_losses_up_in_size():
    assert numbers.money(D("0.317775"), "USDT") == "0.31"
    assert numbers.money(D("10614.518165409008"), "USDT") == "10,614.51"
    assert numbers.money(D("-18.431"), "USDT") == "-18.44"
    assert numbers.money(D("-0"), "USDT") == "0.00"


def test_a_btc_quoted_portfolio_keeps_a_satoshi():
    assert numbers.money(D("0.12345678"), "BTC") == "0.12345678"
    assert numbers.money(D("0.123456789"), "BTC") == "0.12345678"
    assert numbers.fee(D("0.000012341"), "BTC") == "0.00001235"
    assert numbers.statistic(D("1.5"), "money", "BTC") == "1.50000000"


def test_an_amount_smaller_than_its_places_is_shown_exactly_not_as_zero():
    assert numbers.money(D("0.0006"), "USDT") == "0.0006"


def test_prices_are_exact_in_their_shortest_form_and_quotients_lose_their_noise():
    assert numbers.price(D("56012")) == "56012.00"
    assert numbers.price(D("0.00001234")) == "0.00001234"
    assert numbers.price(D("30285.25506")) == "30285.25506"
    average_cost = D("29374.123456789012345678")  # a quotient on the ledger's 18 places
    assert numbers.price(average_cost) == "29374.12346"
    assert numbers.price(D("0.000012345678901234567")) == "0.0000123456789"


def test_a_column_of_quantities_is_aligned_to_the_amount_step():
    assert numbers.quantities([D("0.021"), D("0.02147"), None]) == ["0.02100", "0.02147", "-"]
    assert numbers.quantities([D("0.021"), D("1")], step=D("0.00001")) == ["0.02100", "1.00000"]
    rows = [("BTC/USDT", D("0.021")), ("ETH/USDT", D("1.5")), ("BTC/USDT", D("0.02147"))]
    assert numbers.quantities_by_symbol(rows) == ["0.02100", "1.5", "0.02147"]
    steps = {"BTC/USDT": D("0.000001"), "ETH/USDT": D("0.0001")}
    assert numbers.quantities_by_symbol(rows, steps) == ["0.021000", "1.5000", "0.021470"]


def test_the_dashboard_shows_the_same_money_as_the_command_line():
    from papertrade.web.pages import Renderer

    env = Renderer("ledger.db", 15).env
    cash = env.from_string("{{ v | money(q) }}").render(v=D("0.317775"), q="USDT")
    fees = env.from_string("{{ v | fee(q) }}").render(v=D("114.9616"), q="USDT")
    btc = env.from_string("{{ v | money(q) }}").render(v=D("0.12345678"), q="BTC")
    commissions = env.from_string("{{ v | statistic('Commissions [$]', q) }}").render(v=D("209.40997"), q="USDT")
    assert (cash, fees, btc, commissions) == ("0.31", "114.97", "0.12345678", "209.41")


def test_a_notification_uses_the_one_rule_for_a_btc_quoted_portfolio():
    trade = {"candle_ts": 0, "symbol": "ETH/BTC", "side": "BUY", "quantity": D("1.5"), "price": D("0.0312345")}
    payload = daily_payload(
        3,
        "btc bot",
        "BTC",
        "2021-01-01",
        D("1"),
        (D("0.12345678"), D("1.0123456789")),
        [{**trade, "fee": D("0.00004686")}],
    )
    body = render(OutboxEvent(1, "daily", payload, 0)).body
    assert "equity 1.01234567 BTC (cash 0.12345678 BTC)" in body
    assert "PnL +0.01234567 BTC" in body and "fees 0.00004686 BTC" in body
    assert "BUY 1.5 ETH/BTC @ 0.0312345" in body


def test_a_chart_labels_the_starting_cash_in_the_one_format():
    import numpy as np

    from papertrade.views.chart_data import ChartData
    from papertrade.views.charts import figure

    chart = ChartData("t", "BTC", 0.5, np.array([0, 3_600_000]), np.array([0.5, 0.6]), {})
    drawn = figure(chart)
    names = [trace.name for trace in drawn.data]
    assert "starting cash 0.50000000" in names, names
    # in the legend, not an annotation on the equity line (where the line starts, it hid the label)
    assert not [a.text for a in drawn.layout.annotations if "starting cash" in a.text]
