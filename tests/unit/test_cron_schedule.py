import pytest

from papertrade.cli.cron import schedule


@pytest.mark.parametrize(
    ("timeframe", "fields"),
    [
        ("1m", "* * * * *"),
        ("5m", "1-59/5 * * * *"),
        ("15m", "1-59/15 * * * *"),
        ("1h", "1 * * * *"),
        ("4h", "1 */4 * * *"),
        ("12h", "1 */12 * * *"),
        ("1d", "1 0 * * *"),
    ],
)
def test_cron_fires_one_minute_after_each_candle_closes(timeframe, fields):
    assert schedule(timeframe) == fields
