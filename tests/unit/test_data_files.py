import pytest

from tests.support.paths import DATA, SHARED_DATA


def test_the_bundled_candles_match_the_shared_originals():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"no shared data next to this checkout ({SHARED_DATA})")
    shared = sorted(p.name for p in SHARED_DATA.iterdir())
    assert sorted(p.name for p in DATA.iterdir()) == shared
    for name in shared:
        assert (DATA / name).read_bytes() == (SHARED_DATA / name).read_bytes(), name
