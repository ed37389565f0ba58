import pytest

from tests.support.fake_binance import DAY_MS, FILES, INTERVAL_MS, TRYOUT_AT, dataset_ms_of, load_rows
from tests.support.paths import DATA, SHARED_DATA

WARMUP = 250


def test_the_bundled_candles_match_the_shared_originals():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"no shared data next to this checkout ({SHARED_DATA})")
    shared = sorted(p.name for p in SHARED_DATA.iterdir())
    assert sorted(p.name for p in DATA.iterdir()) == shared
    for name in shared:
        assert (DATA / name).read_bytes() == (SHARED_DATA / name).read_bytes(), name


def test_the_tryout_day_and_its_warm_up_have_no_gap_in_any_series_the_local_exchange_serves():
    # README's try-out runs the local exchange with "today" on TRYOUT_AT's day: every series it
    # serves must hold that whole day and the 250 candles a strategy warms up on before it.
    day = dataset_ms_of(TRYOUT_AT) // DAY_MS * DAY_MS
    for (_, interval), filename in FILES.items():
        step = INTERVAL_MS[interval]
        first, last = day - WARMUP * step, day + DAY_MS - step
        times = [row[0] for row in load_rows(filename) if first <= row[0] <= last]
        assert times == list(range(first, last + 1, step)), filename
