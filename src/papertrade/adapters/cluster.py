"""Where trials run: in this process, on a Dask LocalCluster of this machine's cores, or on an
existing Dask cluster (`dask scheduler` and `dask worker` processes, on any machines).

The candles go to every worker once (`scatter(..., broadcast=True)`); each trial is a task that
takes them by reference. Results are consumed as they finish (`as_completed`). A worker that
dies takes only its unfinished tasks with it: the scheduler runs them again elsewhere, and each
task's result is taken once.
"""

import logging
import socket
from collections import deque

from papertrade.errors import InputError, TemporaryError

IN_PROCESS = "in-process"


class InProcess:
    """The `Cluster` port in this process: each trial runs when it is submitted."""

    slots = 1

    def __init__(self) -> None:
        self._done: deque = deque()

    def share(self, data: object) -> object:
        return data

    def submit(self, key, function, shared, job) -> None:
        self._done.append((key, function(shared, job), f"{IN_PROCESS} ({socket.gethostname()})"))

    def next_done(self):
        return self._done.popleft()

    def cancel(self) -> None:
        self._done.clear()

    def close(self) -> None:
        pass


class DaskCluster:
    """The `Cluster` port on a Dask client: its own LocalCluster, or a scheduler's cluster."""

    def __init__(self, client, local_cluster=None) -> None:
        from distributed import as_completed

        self._client, self._local = client, local_cluster
        self._pending: dict = {}
        self._finished = as_completed()
        self.slots = max(1, sum(client.nthreads().values()))

    @classmethod
    def local(cls, workers: int) -> "DaskCluster":
        """A LocalCluster of `workers` processes with one thread each."""
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)  # fmt: skip
        return cls(Client(cluster), cluster)

    @classmethod
    def connect(cls, address: str, timeout: float) -> "DaskCluster":
        """The cluster whose scheduler listens at `address` (tcp://HOST:PORT); exit 75 when it
        cannot be reached within `timeout` seconds, 2 when the address is not one."""
        from distributed import Client

        if not address.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")) or ":" not in address[6:]:
            raise InputError(f"--scheduler takes an address like tcp://HOST:8786, not {address!r}")
        try:
            client = Client(address, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as exc:
            raise TemporaryError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        if not client.nthreads():
            client.close()
            raise TemporaryError(f"the Dask scheduler at {address} has no workers")
        return cls(client)

    def share(self, data: object) -> object:
        return self._client.scatter(data, broadcast=True, hash=False)

    def submit(self, key, function, shared, job) -> None:
        future = self._client.submit(_on_worker, function, shared, job, pure=False)
        self._pending[future.key] = key
        self._finished.add(future)

    def next_done(self):
        future = next(self._finished)
        key = self._pending.pop(future.key)
        result, worker = future.result()
        return key, result, worker

    def cancel(self) -> None:
        futures = [future for future in self._finished.futures] if hasattr(self._finished, "futures") else []
        self._finished.clear()
        if futures:
            self._client.cancel(futures)
        self._pending.clear()

    def close(self) -> None:
        self._client.close()
        if self._local is not None:
            self._local.close()


def _on_worker(function, data, job):
    """Run one trial on a Dask worker, and say which worker it was (its address)."""
    from distributed import get_worker

    return function(data, job), get_worker().address
