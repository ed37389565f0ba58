"""`papertrade walk-forward` in process, on a slice of the hourly file."""

import json

import pytest

from tests.support.cli import run_inprocess
from tests.support.paths import DATA

HOURLY = str(DATA / "binance_BTC-USDT_1h.csv")
ARGS = ("walk-forward", "--strategy", "sma-cross", "--data", HOURLY, "--to", "2021-01-20", "--param", "fast=5..10:5",
        "--param", "slow=20..30:10", "--sampler", "grid", "--objective", "Return [%]", "--workers", "1")  # fmt: skip


@pytest.fixture
def papertrade(capsys, tmp_path):
    return lambda *args: run_inprocess(capsys, "--db", str(tmp_path / "ledger.db"), *args)


def test_folds_their_choices_and_the_out_of_sample_result(papertrade, tmp_path):
    result = papertrade(*ARGS, "--train", "20d", "--test", "10d", "--study", "wf", "--json", "--plot",
                        str(tmp_path / "wf.html"))  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    folds = document["folds"]
    assert len(folds) == 3 and [f["study"] for f in folds] == ["wf.fold1", "wf.fold2", "wf.fold3"]
    for fold in folds:
        assert fold["train"]["last_ts"] < fold["test"]["first_ts"]
        assert fold["test"]["last_ts"] - fold["test"]["first_ts"] == (10 * 24 - 1) * 3_600_000
        assert fold["in_sample"]["objective"] == fold["in_sample"]["stats"]["Return [%]"]
        assert fold["out_of_sample"]["objective"] == fold["out_of_sample"]["stats"]["Return [%]"]
    in_sample = [f["in_sample"]["stats"]["Return (Ann.) [%]"] for f in folds]
    out = document["out_of_sample"]["Return (Ann.) [%]"]
    assert document["walk_forward_efficiency"] == pytest.approx(out / (sum(in_sample) / 3))
    assert document["stability"]["fast"]["values"] == [f["params"]["fast"] for f in folds]
    assert (tmp_path / "wf.html").stat().st_size > 10_000
    studies = json.loads(papertrade("studies", "--json").stdout)
    assert [s["study"] for s in studies] == ["wf.fold1", "wf.fold2", "wf.fold3"]


def test_anchored_folds_train_from_the_first_candle(papertrade):
    result = papertrade(*ARGS, "--train", "20d", "--test", "10d", "--anchored", "--json")
    folds = json.loads(result.stdout)["folds"]
    assert len({f["train"]["first_ts"] for f in folds}) == 1
    assert [f["train"]["candles"] for f in folds] == sorted(f["train"]["candles"] for f in folds)


def test_the_text_output_names_each_fold_and_the_efficiency(papertrade):
    result = papertrade(*ARGS, "--train", "600", "--test", "300")
    assert result.code == 0, result.stderr
    assert "rolling folds on BTC/USDT 1h, chosen by Return [%]" in result.stdout
    assert "Walk-forward efficiency:" in result.stdout and "fast:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--train", "14x", "--test", "5d"), "--train takes"),
        (("--train", "14d", "--test", "0"), "--test takes"),
        (("--train", "60d", "--test", "5d"), "hold no fold"),
        (("--train", "14d", "--test", "5d", "--plot", "wf.txt"), ".png or .html"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(papertrade, tmp_path, args, message):
    result = papertrade(*ARGS, *args)
    assert result.code == 2 and message in result.stderr and len(result.error_lines) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_create_portfolio_takes_the_last_fold_s_choice(papertrade):
    result = papertrade(*ARGS, "--train", "20d", "--test", "10d", "--study", "wf", "--json", "--create-portfolio",
                        "Walked")  # fmt: skip
    document = json.loads(result.stdout)
    last = document["folds"][-1]
    assert document["portfolio"] == {"id": 1, "name": "Walked", "study": "wf.fold3", "trial": last["trial"]}
    status = json.loads(papertrade("status", "1", "--json").stdout)
    assert status["params"] == last["params"]
    assert (status["from_study"]["study"], status["from_study"]["trial"]) == ("wf.fold3", last["trial"])
    assert papertrade("audit", "verify", "1").code == 0


def test_the_chart_is_a_png_too_and_never_overwrites_the_ledger(papertrade, tmp_path):
    from tests.support.databases import new_sqlite_ledger

    ledger = tmp_path / "ledger.db"
    new_sqlite_ledger(ledger)
    before = ledger.read_bytes()
    (tmp_path / "chart.html").symlink_to(ledger)
    refused = papertrade(*ARGS, "--train", "20d", "--test", "10d", "--plot", str(tmp_path / "chart.html"))
    assert refused.code == 2 and "ledger" in refused.stderr and ledger.read_bytes() == before
    written = papertrade(*ARGS, "--train", "20d", "--test", "10d", "--plot", str(tmp_path / "wf.png"))
    assert written.code == 0, written.stderr
    assert (tmp_path / "wf.png").read_bytes().startswith(b"\x89PNG")
