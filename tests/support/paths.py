from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "ohlcv"
SHARED_DATA = REPO.parent / "shared" / "data" / "ohlcv"
VENV_BIN = REPO / ".venv" / "bin"
