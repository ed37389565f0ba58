"""What a person reads: report titles with the portfolio's name, counts in the singular when
there is one, no -0.00, and tables that stay aligned with wide characters."""

import re

from papertrade.cli.output import width_of
from papertrade.cli.report import human_value
from tests.support.cli import run_inprocess
from tests.support.paths import DATA

BTC = str(DATA / "binance_BTC-USDT_1h.csv")


def test_a_report_is_titled_with_the_portfolios_name_and_one_candle_is_one_candle(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    assert run_inprocess(capsys, "--db", db, "create-portfolio", "Night owl", "1000").code == 0
    replayed = run_inprocess(capsys, "--db", db, "replay", "1", "BTC/USDT", "--data", BTC, "--from",
                             "2021-01-01T00:00", "--to", "2021-01-01T00:00")  # fmt: skip
    assert replayed.stdout.startswith("Replayed 1 candle of BTC/USDT into portfolio 1: 1 neutral;"), replayed.stdout
    report = run_inprocess(capsys, "--db", db, "report", "1")
    assert report.stdout.splitlines()[0] == 'Portfolio 1 "Night owl"'


def test_a_statistic_that_rounds_to_zero_is_never_shown_negative():
    assert human_value(-0.001, "number") == "0.00" and human_value(-0.006, "number") == "-0.01"


def test_the_dashboard_never_shows_minus_zero():
    from papertrade.domain.numbers import money
    from papertrade.web.pages import statistic

    assert money("-0.001", "USDT") == "-0.001" and money("-0.01", "USDT") == "-0.01" and money("-0", "USDT") == "0.00"
    assert statistic(-0.004, "Sharpe Ratio") == "0.00"


def test_tables_stay_aligned_with_wide_characters(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    for name in ("東京ボット", "plain"):
        assert run_inprocess(capsys, "--db", db, "create-portfolio", name, "1000").code == 0
    lines = run_inprocess(capsys, "--db", db, "portfolios").stdout.splitlines()
    columns = {width_of(line[: line.index("rsi")]) for line in lines[2:]}
    assert len(columns) == 1 and width_of(lines[0][: lines[0].index("STRATEGY")]) in columns


def test_orders_help_says_its_json_is_a_list(capsys):
    text = " ".join(run_inprocess(capsys, "orders", "--help").stdout.split())
    assert "JSON list" in text and "one JSON object" not in text


def test_the_readme_no_longer_says_there_are_no_resting_orders():
    from tests.support.paths import REPO

    assert "no resting orders yet" not in (REPO / "README.md").read_text()


def test_replay_counts_carry_thousands_separators_like_the_candle_count(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    assert run_inprocess(capsys, "--db", db, "create-portfolio", "Long run", "1000").code == 0
    replayed = run_inprocess(capsys, "--db", db, "replay", "1", "BTC/USDT", "--data", BTC, "--from",
                             "2021-01-01T00:00", "--to", "2021-02-20T00:00")  # fmt: skip
    counts = replayed.stdout.split(": ", 1)[1].split(";")[0]
    assert replayed.stdout.startswith("Replayed 1,") and re.fullmatch(
        r"\d+ executed, 1,\d{3} neutral|1,\d{3} neutral", counts
    ), replayed.stdout


def test_progress_bars_count_with_thousands_separators():
    from rich.progress import Progress

    from papertrade.cli.progress import CountColumn

    progress = Progress()
    progress.add_task("", total=39_813, completed=4_000)
    progress.add_task("", total=None, completed=1_200)
    column = CountColumn()
    assert [column.render(t).plain for t in progress.tasks] == ["4,000/39,813", "1,200/?"]
