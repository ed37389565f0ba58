"""Jobs run by a few workers at once, each with a resource of its own (a network client), and
their results handed back in the order the jobs were given.

A download's pages are known before the first request goes out, so the next page's request can
be on its way while this one is read, checked and committed: what the exchange and the network
take per request then overlaps papertrade's own work instead of adding to it.
"""

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from papertrade.threads import leave_interrupts_to_the_main_thread

Worker = TypeVar("Worker")
Job = TypeVar("Job")
Result = TypeVar("Result")


def in_order(workers: Sequence[Worker], jobs: Sequence[Job], run: Callable[[Worker, Job], Result]) -> Iterator[Result]:
    """`run(worker, job)` for every job, yielded in job order: job k runs on worker k mod n,
    each worker one job at a time, and runs ahead of the caller by at most that one job.

    A job that raises ends it: its exception is raised in its place, after every result before
    it, and no later job starts. Leaving early (the caller stops, or raises) waits for each
    worker to finish the job it is on, so no work outlives the loop; only Ctrl-C leaves at once
    (raised in here, or thrown in by a caller that took it: `generator.throw(KeyboardInterrupt)`).
    The workers block SIGINT, so Ctrl-C always interrupts the caller's thread.
    """
    lanes = [_Lane(worker, jobs[index :: len(workers)], run) for index, worker in enumerate(workers)]
    for lane in lanes:
        lane.start()
    patient = True
    try:
        for index in range(len(jobs)):
            yield lanes[index % len(lanes)].take()
    except KeyboardInterrupt:
        patient = False
        raise
    finally:
        for lane in lanes:
            lane.stop()
        for lane in lanes if patient else ():
            lane.join()


class _Lane(Generic[Worker, Job, Result]):
    """One worker's share of the jobs, run in a thread of its own."""

    def __init__(self, worker: Worker, jobs: Sequence[Job], run: Callable[[Worker, Job], Result]) -> None:
        self._worker, self._jobs, self._run = worker, jobs, run
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._room = threading.Semaphore(1)  # results not yet taken, or jobs running: at most one
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="in-order-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def take(self) -> Result:
        done, value = self._results.get()
        self._room.release()
        if not done:
            raise value
        return value

    def stop(self) -> None:
        self._stopped = True
        self._room.release()  # wakes the worker if it waits for room

    def join(self) -> None:
        self._thread.join()

    def _work(self) -> None:
        leave_interrupts_to_the_main_thread()
        for job in self._jobs:
            self._room.acquire()
            if self._stopped:
                return
            try:
                self._results.put((True, self._run(self._worker, job)))
            except BaseException as exc:  # raised by `take`, in the caller's thread
                self._results.put((False, exc))
                return
