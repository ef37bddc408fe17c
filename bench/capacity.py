"""How fast the null server answers when N clients post to it at once."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests

from bench.harness import Budget


@dataclass(frozen=True)
class LoadResult:
    """Requests answered and how long the load took."""

    clients: int
    requests: int
    failed: int
    elapsed_s: float
    mean_latency_s: float

    @property
    def rate(self) -> float:
        """Answered requests per second."""
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0


def post_load(
    url: str, payload: bytes, *, clients: int, per_client: int, max_s: float
) -> LoadResult:
    """Post ``payload`` from ``clients`` threads, each on its own keep-alive session.

    Every thread stops after ``per_client`` requests or when ``max_s`` is up.
    """
    budget = Budget(max_s)
    counts = [0] * clients
    failures = [0] * clients
    latency = [0.0] * clients

    def client(slot: int) -> None:
        with requests.Session() as session:
            for _ in range(per_client):
                if budget.over:
                    return
                started = time.perf_counter()
                try:
                    reply = session.post(
                        url, files={"file": ("file", payload)}, timeout=(2, 10)
                    )
                    ok = reply.status_code == 200
                except requests.RequestException:
                    ok = False
                latency[slot] += time.perf_counter() - started
                counts[slot] += ok
                failures[slot] += not ok

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max_s + 15)
    elapsed = time.perf_counter() - started
    done = sum(counts) + sum(failures)
    return LoadResult(
        clients, sum(counts), sum(failures), elapsed, sum(latency) / max(done, 1)
    )
