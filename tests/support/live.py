"""Running against the local exchange on the real clock, as separate processes do."""

import time
from datetime import UTC, datetime

DAY = 86_400_000
HOUR = 3_600_000


def wait_clear_of_boundary(timeframe_ms: int, margin_s: float = 30) -> None:
    """Sleep past a candle boundary that is about to pass, so every process sees one candle."""
    now = time.time()
    left = timeframe_ms / 1000 - now % (timeframe_ms / 1000)
    if left < margin_s:
        time.sleep(left + 2)


def dataset_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)
