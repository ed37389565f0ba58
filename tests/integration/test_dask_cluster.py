"""Trials on real Dask clusters: a LocalCluster of two processes, and `dask scheduler` with two
`dask worker` processes started here on 127.0.0.1 (random free ports), as on other machines."""

import json
import os
import signal
import subprocess
import time
from decimal import Decimal

import pytest

from tests.support.cli import run_inprocess
from tests.support.paths import DATA, VENV_BIN

pytestmark = pytest.mark.slow  # processes start: a few seconds

HOURLY = str(DATA / "binance_BTC-USDT_1h.csv")
GRID = ("optimize", "--strategy", "sma-cross", "--data", HOURLY, "--to", "2021-01-15", "--param", "fast=5..15:5",
        "--param", "slow=20..40:10", "--sampler", "grid", "--objective", "Return [%]", "--json")  # fmt: skip


class Cluster:
    """`dask scheduler` and two `dask worker`s (no nanny: a killed worker stays dead)."""

    def __init__(self, directory) -> None:
        self.file = directory / "scheduler.json"
        self.processes: dict[str, subprocess.Popen] = {}
        self._start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(self.file))  # fmt: skip
        self._wait(lambda: self.file.exists())
        for name in ("w1", "w2"):
            self._start(name, "worker", "--scheduler-file", str(self.file), "--host", "127.0.0.1", "--nthreads", "1",
                        "--no-nanny", "--no-dashboard", "--name", name)  # fmt: skip
        self.address = json.loads(self.file.read_text())["address"]
        self._wait(lambda: len(self.workers()) == 2)

    def _start(self, name: str, *args: str) -> None:
        self.processes[name] = subprocess.Popen([str(VENV_BIN / "dask"), *args], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)  # fmt: skip

    def workers(self) -> dict[str, str]:
        """Worker name -> address, as the scheduler knows them."""
        from distributed import Client

        with Client(self.address, timeout="10s") as client:
            return {info["name"]: address for address, info in client.scheduler_info()["workers"].items()}

    def _wait(self, ready, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            assert time.monotonic() < deadline, "the Dask cluster did not start"
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        os.kill(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

    def stop(self) -> None:
        """Workers first (a worker whose scheduler went away keeps trying to reconnect)."""
        for process in reversed(self.processes.values()):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = Cluster(tmp_path_factory.mktemp("dask"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def here(tmp_path_factory) -> dict:
    """The grid run in this process, one trial after another."""
    from tests.support.cli import run_captured

    ledger = tmp_path_factory.mktemp("here") / "l.db"
    return cells(json.loads(run_captured("--db", str(ledger), *GRID, "--workers", "1", "--study", "here").stdout))


def cells(document: dict) -> dict:
    return {(t["params"]["fast"], t["params"]["slow"]): (t["state"], t["stats"]) for t in document["trials"]}


def test_a_grid_on_a_local_cluster_equals_the_one_run_here(here, capsys, tmp_path):
    local = run_inprocess(capsys, "--db", str(tmp_path / "l.db"), *GRID, "--workers", "2", "--study", "local")
    assert local.code == 0, local.stderr
    local_study = json.loads(local.stdout)
    assert cells(local_study) == here
    assert len({t["worker"] for t in local_study["trials"]}) == 2


def test_a_grid_on_a_dask_cluster_records_both_workers_and_equals_the_one_run_here(here, cluster, capsys, tmp_path):
    remote = run_inprocess(capsys, "--db", str(tmp_path / "l.db"), *GRID, "--scheduler", cluster.address,
                           "--study", "remote")  # fmt: skip
    assert remote.code == 0, remote.stderr
    study = json.loads(remote.stdout)
    assert cells(study) == here
    assert {t["worker"] for t in study["trials"]} == set(cluster.workers().values())


def test_a_worker_killed_mid_study_loses_no_trial_and_repeats_none(cluster, tmp_path):
    """The last test of the module: it leaves the cluster with one worker."""
    from papertrade.adapters.cluster import DaskCluster
    from papertrade.adapters.csv_candles import load_columns
    from papertrade.adapters.studies import OptunaStudies
    from papertrade.domain.portfolio import parse_fill_model
    from papertrade.domain.search import params_key
    from papertrade.services import optimize as service

    candles = load_columns(HOURLY)
    setup = service.Setup("sma-cross", Decimal(10000), parse_fill_model("0.001", "0", "1"), "BTC/USDT", "USDT",
                          service.parse_objectives(["Return [%]"]))  # fmt: skip
    space = service.parse_space("sma-cross", ["fast=5..20:5", "slow=25..40:5"], {}, [])
    workers, killed = cluster.workers(), []

    def kill_one_after_the_first_trial(done, total, best):
        if not killed:
            killed.append(workers["w1"])
            cluster.kill("w1")

    dask = DaskCluster.connect(cluster.address, 10)
    try:
        result = service.optimize(OptunaStudies(f"sqlite:///{tmp_path / 'studies.db'}"), dask, candles, "killed",
                                  setup, service.Search(space, "grid"), service.data_description(
                                      candles, "BTC/USDT", None), kill_one_after_the_first_trial)  # fmt: skip
    finally:
        dask.close()
    assert killed and cluster.processes["w1"].returncode == -signal.SIGKILL
    assert len(result.trials) == 16 == len({params_key(t.params) for t in result.trials})
    assert {t.state for t in result.trials} == {"complete"}
    assert result.trials[-1].worker == workers["w2"] != killed[0]
