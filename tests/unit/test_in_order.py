"""A download's requests run a few at once, and their pages come back in the order asked."""

import threading

import pytest

from papertrade.adapters.in_order import in_order


def lanes_alive() -> int:
    return sum(thread.name == "in-order-worker" for thread in threading.enumerate())


def test_results_come_back_in_job_order_when_a_later_job_finishes_first():
    second_done = threading.Event()
    finished: list[int] = []

    def run(worker: str, job: int) -> tuple[str, int]:
        if job == 0:
            assert second_done.wait(10)  # job 1, on the other worker, ends first
        finished.append(job)
        if job == 1:
            second_done.set()
        return worker, job

    results = list(in_order(["a", "b"], list(range(6)), run))
    assert results == [("a", 0), ("b", 1), ("a", 2), ("b", 3), ("a", 4), ("b", 5)]
    assert finished[:2] == [1, 0] and lanes_alive() == 0


def test_a_failed_job_raises_in_its_place_and_no_job_starts_after_the_loop_is_left():
    started: list[int] = []

    def run(_worker: str, job: int) -> int:
        started.append(job)
        if job == 3:
            raise ConnectionError("job 3 failed")
        return job

    taken = []
    with pytest.raises(ConnectionError, match="job 3"):
        for result in in_order(["a", "b"], list(range(20)), run):
            taken.append(result)
    assert taken == [0, 1, 2]
    assert max(started) <= 4 and lanes_alive() == 0  # one worker may have begun job 4, none began more


def test_leaving_early_waits_for_the_jobs_running_and_starts_no_other():
    started: list[int] = []

    def run(_worker: str, job: int) -> int:
        started.append(job)
        return job

    jobs = in_order(["a", "b"], list(range(20)), run)
    assert [next(jobs), next(jobs)] == [0, 1]
    jobs.close()
    assert lanes_alive() == 0 and max(started) <= 3


def test_each_worker_runs_one_job_at_a_time_and_at_most_one_ahead_of_the_caller():
    running: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    lock = threading.Lock()
    started: list[int] = []

    def run(worker: str, job: int) -> int:
        with lock:
            running[worker] += 1
            most[worker] = max(most[worker], running[worker])
            started.append(job)
        with lock:
            running[worker] -= 1
        return job

    jobs = in_order(["a", "b"], list(range(10)), run)
    for taken in range(4):
        assert next(jobs) == taken
        assert max(started) <= taken + 2  # the taken one's worker may start its next job only now
    jobs.close()
    assert most == {"a": 1, "b": 1}
