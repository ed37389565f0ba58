"""A plain (non-editable) install carries its migrations: build the wheel, install it apart, use it."""

import json
import subprocess
import sys
import zipfile

import pytest

from tests.support.paths import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("papertrade-*.whl")
    return built


def test_the_wheel_ships_the_migrations_and_the_demo_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "papertrade/migrations/env.py",
        "papertrade/migrations/script.py.mako",
        "papertrade/migrations/versions/0001_initial.py",
        "papertrade/migrations/versions/0002_market_cache.py",
        "papertrade/migrations/versions/0004_notifications.py",
        "papertrade/data/binance_BTC-USDT_1h_2021-01_2021-04.csv",  # the offline demo's candles
        "papertrade/data/SOURCES.md",
        "papertrade/web/templates/portfolio.html",  # the dashboard's pages and their script
        "papertrade/web/static/dashboard.js",
    } <= names


def test_a_plain_install_brings_what_plots_need_and_the_web_extra_the_dashboard(wheel):
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    requires = [
        line.removeprefix("Requires-Dist: ") for line in metadata.splitlines() if line.startswith("Requires-Dist")
    ]
    core = {r.split(">")[0].split("[")[0].strip() for r in requires if "extra ==" not in r}
    web = {r.split(">")[0].strip() for r in requires if "extra == 'web'" in r or 'extra == "web"' in r}
    assert {"matplotlib", "plotly"} <= core  # report --plot FILE.png and FILE.html after `pip install papertrade`
    assert {"fastapi", "uvicorn", "jinja2"} <= web


def test_the_installed_wheel_creates_and_migrates_a_ledger(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    db = tmp_path / "ledger.db"

    def papertrade(*args):
        code = "import sys, papertrade.cli.app as a; print(a.__file__, file=sys.stderr); a.main(sys.argv[1:])"
        return subprocess.run(
            [sys.executable, "-c", code, "--db", str(db), *args],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(site), "HOME": str(tmp_path)},
            cwd=tmp_path,
        )

    created = papertrade("create-portfolio", "My RSI Bot", "10000", "--json")
    assert created.returncode == 0, created.stderr
    assert created.stderr.startswith(str(site)), "ran the checkout instead of the installed wheel"
    assert json.loads(papertrade("status", "1", "--json").stdout)["cash"] == "10000"
    assert "(head)" in papertrade("db", "current").stdout
    as_module = subprocess.run(
        [sys.executable, "-m", "papertrade", "--db", str(db), "portfolios", "--json"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site), "HOME": str(tmp_path)},
        cwd=tmp_path,
    )  # the console script's own entry point, papertrade.console:main
    assert as_module.returncode == 0 and json.loads(as_module.stdout)[0]["name"] == "My RSI Bot"
