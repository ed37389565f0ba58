"""The synthetic funding series of the tests (tests/data/funding/SOURCES.md says why and how).

No real funding history is on these machines, so the swap `BTC/USDT:USDT` of the tests has the
real spot candles of tests/data/ohlcv as its candles and this made-up funding series:

- funding times on Binance's 8-hour schedule, 00:00, 08:00 and 16:00 UTC, from the first 1h
  candle to the close of the last;
- at funding time F (ms), with n = F // 8h: rate = ((7 n) mod 13 - 5) x 0.0001, so the rate
  runs through -0.0005 .. 0.0007 and changes sign and size from one funding time to the next;
- mark price: the open of the 1h candle opening at F (the price at F), as text; none when that
  candle is missing (then papertrade's rule takes the close of the candle the funding is
  booked on).

    python -m tests.support.synthetic_funding   # writes tests/data/funding/binance_BTC-USDT-USDT_funding.csv
"""

from decimal import Decimal

from tests.support.paths import REPO

EIGHT_HOURS = 8 * 3_600_000
HOUR = 3_600_000
FILE = REPO / "tests" / "data" / "funding" / "binance_BTC-USDT-USDT_funding.csv"


def synthetic_rate(funding_ts: int) -> Decimal:
    n = funding_ts // EIGHT_HOURS
    return Decimal((7 * n) % 13 - 5) * Decimal("0.0001")


def synthetic_funding(hourly_rows) -> list[tuple[int, str, str | None]]:
    """(funding time, rate, mark price or None) over the 1h candle rows (ts, open, ...) given."""
    if not hourly_rows:
        return []
    opens = {row[0]: row[1] for row in hourly_rows}
    first, end = hourly_rows[0][0], hourly_rows[-1][0] + HOUR
    start = -(-first // EIGHT_HOURS) * EIGHT_HOURS
    return [(ts, str(synthetic_rate(ts)), opens.get(ts)) for ts in range(start, end + 1, EIGHT_HOURS)]


def main() -> None:
    from tests.support.fake_binance import load_rows

    rows = synthetic_funding(load_rows("binance_BTC-USDT_1h.csv"))
    lines = ["timestamp,rate,mark_price"] + [f"{ts},{rate},{mark or ''}" for ts, rate, mark in rows]
    FILE.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
