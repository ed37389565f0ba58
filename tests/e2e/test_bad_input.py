"""Input that is wrong in ways a first hour meets: each is refused through the real entry point
with one clear line and exit 2, never an internal error (exit 1) or a silent default, and the
ledger is left as it was."""

import pytest

from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state, migrate
from tests.support.paths import DATA

HOURS = str(DATA / "binance_BTC-USDT_1h.csv")
REPLAY = ["replay", "1", "BTC/USDT", "--data", HOURS]

# arguments, environment, what the one error line says
CASES = [
    (["create-portfolio", "b", "100", "--strategy", "../x:Y"], {}, "must look like package.module:ClassName"),
    (["backtest", "--strategy", "../x:Y", "--data", HOURS], {}, "must look like package.module:ClassName"),
    (["create-portfolio", "b", "100", "--strategy", "my strategies:Y"], {}, "must look like package.module:ClassName"),
    (["create-portfolio", "b", "100", "--exchange", "nope"], {}, "ccxt has no exchange 'nope'"),
    (["create-portfolio", "b", "100", "--exchange", "binanse"], {}, "did you mean binance"),
    (["create-portfolio", "b", "100", "--param", "oversold=NaN"], {}, "oversold: must be a finite number"),
    (["create-portfolio", "b", "100", "--param", "overbought=inf"], {}, "overbought: must be a finite number"),
    (["create-portfolio", "b", "\u0661\u0660\u0660\u0660"], {}, "cash must be a plain number"),  # Arabic-Indic 1000
    (["create-portfolio", "b", "100", "--fee-rate", "\uff10.\uff11"], {}, "must be a plain number"),  # full-width 0.1
    (["backtest", "--strategy", "rsi", "--data", HOURS, "--cash", "\uff11\uff10\uff10\uff10"], {}, "plain number"),
    (["--db", "", "portfolios"], {}, "--db is empty"),
    (["portfolios"], {"PAPERTRADE_DATABASE_URL": ""}, "PAPERTRADE_DATABASE_URL is empty"),
    (["status", "1"], {"PAPERTRADE_DATABASE_URL": "  "}, "PAPERTRADE_DATABASE_URL is empty"),
    (["cron", "1", "BTC/USDT", "--log", "{tmp}"], {}, "names a directory"),
    (["cron", "1", "BTC/USDT", "--log", "{tmp}/logs/"], {}, "names a directory"),
    (["cron", "1", "BTC/USDT", "--log", ""], {}, "--log must name a file"),
    ([*REPLAY, "--from", "2021-04-01", "--to", "2021-03-01"], {}, "is after --to"),
    ([*REPLAY, "--from", "2999-01-01"], {}, "has no candles from 2999-01-01 to its end (it holds 2020-12-01"),
    ([*REPLAY, "--from", "2010-01-01", "--to", "2010-02-01"], {}, "has no candles from 2010-01-01"),
    ([*REPLAY, "--from", "\u0662\u0660\u0662\u0661"], {}, "takes milliseconds or an ISO time"),
    ([*REPLAY, "--to", "99999999999999999999"], {}, "is not a time between 1970 and 9999"),
    (["backtest", "--strategy", "rsi", "--data", HOURS, "--from", "2021-04-01", "--to", "2021-03-01"], {}, "after"),
    (["trade", "1", "BTC/USDT", "DRY"], {"PAPERTRADE_CCXT_CONFIG": "{bad"}, "PAPERTRADE_CCXT_CONFIG is not valid JSON"),
    (
        ["trade", "1", "BTC/USDT", "DRY"],
        {"PAPERTRADE_CCXT_CONFIG": "[1]"},
        "PAPERTRADE_CCXT_CONFIG must be a JSON object",
    ),
    (["portfolios"], {"PAPERTRADE_DB_BUSY_TIMEOUT": "soon"}, "PAPERTRADE_DB_BUSY_TIMEOUT must be a valid number"),
    (["demo", "--dir", "{tmp}/a-file"], {}, "is a file, not a directory"),
    (["run", "/dev/zero"], {}, "/dev/zero is not a bots file: it is a device"),  # was read without bound
    (["run", "{tmp}"], {}, "is not a bots file: it is a directory"),
]


@pytest.fixture
def ledger(tmp_path, monkeypatch, capsys):
    """A SQLite ledger with portfolio 1, named by PAPERTRADE_DATABASE_URL; a plain file beside it."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate(url)  # a ledger at head, without paying Alembic again: creating one is tested elsewhere
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", url)
    assert run_inprocess(capsys, "create-portfolio", "existing", "10000").code == 0
    (tmp_path / "a-file").write_text("not a directory")
    return url


@pytest.mark.parametrize(("args", "env", "message"), CASES, ids=lambda v: str(v)[:60] if isinstance(v, list) else None)
def test_bad_input_is_refused_with_one_line_and_exit_2(ledger, tmp_path, monkeypatch, capsys, args, env, message):
    before = ledger_state(ledger)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_inprocess(capsys, *[arg.replace("{tmp}", str(tmp_path)) for arg in args])
    assert result.code == 2, result.stderr
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith("papertrade: error: "), result.stderr
    assert message in result.error_lines[0], result.stderr
    assert result.stdout == ""
    assert ledger_state(ledger) == before


@pytest.mark.parametrize("command", [["create-portfolio", "b", "1"], ["status", "1"], ["db", "upgrade"]])
def test_a_database_path_too_long_for_sqlite_is_refused_and_nothing_is_made(tmp_path, capsys, command):
    """Every part of the path is a legal name and the whole is under the system's limit, but
    SQLite cannot open a file by it: exit 2, and no directory is left behind."""
    deep = tmp_path.joinpath(*["d" * 60] * 10) / "ledger.db"
    result = run_inprocess(capsys, "--db", str(deep), *command)
    assert result.code == 2, result.stderr
    assert len(result.error_lines) == 1 and "too long for SQLite" in result.error_lines[0], result.stderr
    assert not (tmp_path / ("d" * 60)).exists()


def test_a_database_path_just_short_enough_for_sqlite_works(tmp_path, capsys):
    from papertrade.adapters.database import SQLITE_MAX_PATH

    folder = tmp_path.joinpath(*["d" * 60] * 6)
    name = "l" * (SQLITE_MAX_PATH - len(str(folder).encode()) - 1)
    result = run_inprocess(capsys, "--db", str(folder / name), "create-portfolio", "b", "1")
    assert result.code == 0, result.stderr
    assert len(str(folder / name).encode()) == SQLITE_MAX_PATH


# -- candle files: backtest and replay read them alike ----------------------------------------


def _not_candle_files(tmp_path):
    import os

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "ls").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    return {
        "device": ("/dev/zero", "/dev/zero is not a candle file: it is a device"),
        "directory": (str(tmp_path), "is not a candle file: it is a directory"),
        "fifo": (str(tmp_path / "fifo"), "is not a candle file: it is a pipe"),
        "binary": (str(tmp_path / "ls"), "is not a candle file: it holds binary data"),
    }


@pytest.mark.parametrize("command", ["backtest", "replay"])
@pytest.mark.parametrize("kind", ["device", "directory", "fifo", "binary"])
def test_what_is_not_a_candle_file_is_refused_without_reading_it(ledger, tmp_path, capsys, command, kind):
    """`--data /dev/zero` once read until the kernel killed it; a binary file was an internal error."""
    data, message = _not_candle_files(tmp_path)[kind]
    args = ["backtest", "--strategy", "rsi"] if command == "backtest" else ["replay", "1", "BTC/USDT"]
    before = ledger_state(ledger)
    result = run_inprocess(capsys, *args, "--data", data)
    assert result.code == 2, result.stderr
    assert len(result.error_lines) == 1 and message in result.error_lines[0], result.stderr
    assert ledger_state(ledger) == before


def _hours(tmp_path, name: str, edit=lambda rows: rows, prefix: bytes = b"", end: str = "\n") -> str:
    header, *rows = (DATA / "binance_BTC-USDT_1h.csv").read_text().splitlines()[:400]
    path = tmp_path / name
    path.write_bytes(prefix + end.join([header, *edit(rows)]).encode() + end.encode())
    return str(path)


BAD_HOURS = {
    "out of order": lambda rows: [*rows[:300], rows[301], rows[300], *rows[302:]],
    "a word": lambda rows: [*rows[:300], rows[300].replace(",", ",x", 1), *rows[301:]],
    "six fields short": lambda rows: [*rows[:300], rows[300].rsplit(",", 1)[0], *rows[301:]],
    "a repeated candle": lambda rows: [*rows[:301], rows[300], *rows[301:]],
}


@pytest.mark.parametrize("bad", list(BAD_HOURS))
def test_backtest_and_replay_refuse_a_bad_file_with_the_same_line(ledger, tmp_path, capsys, bad):
    path = _hours(tmp_path, "binance_BTC-USDT_1h.csv", BAD_HOURS[bad])
    backtest = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", path)
    replay = run_inprocess(capsys, "replay", "1", "BTC/USDT", "--data", path)
    assert backtest.code == replay.code == 2
    assert backtest.error_lines == replay.error_lines and len(replay.error_lines) == 1
    assert f"{path} line 30" in replay.error_lines[0], replay.stderr  # lines 302 or 303
    assert "pandas" not in backtest.stderr.lower() and "tokenizing" not in backtest.stderr


def test_a_byte_order_mark_and_windows_line_ends_are_accepted_by_backtest_and_replay(ledger, tmp_path, capsys):
    path = _hours(tmp_path, "binance_BTC-USDT_1h.csv", prefix=b"\xef\xbb\xbf", end="\r\n")
    backtest = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", path, "--json")
    assert backtest.code == 0, backtest.stderr
    replay = run_inprocess(capsys, "replay", "1", "BTC/USDT", "--data", path, "--json")
    assert replay.code == 0, replay.stderr
