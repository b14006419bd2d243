"""Per-call overhead of PmpClient.get / .search against a raw httpx call to the same URL.

Run: .venv/bin/python benchmarks/client_overhead.py [--calls 500] [--warmup 50]

Starts the PMP sandbox on 127.0.0.1, then times N calls of each kind, interleaving client and
raw calls (alternating which goes first) so drift on a busy machine hits both equally. The raw
call sends the same request with the same pooled httpx.AsyncClient setup and decodes the JSON;
the client additionally checks the answer, maps errors and builds pydantic records. Prints
mean / p50 / p95 in milliseconds and the client/raw ratios (target: <= 1.2x).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bot.pmp import PmpClient
from bot.pmp.network import PRIVATE_ALLOWED
from bot.pmp.resources import search_segment
from bot.sandbox import running_sandbox

Call = Callable[[], Awaitable[Any]]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _summary(samples: list[float]) -> tuple[float, float, float]:
    return statistics.fmean(samples), _percentile(samples, 0.5), _percentile(samples, 0.95)


async def _timed(call: Call) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def _compare(client_call: Call, raw_call: Call, calls: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        await client_call()
        await raw_call()
    client_ms: list[float] = []
    raw_ms: list[float] = []
    for index in range(calls):
        if index % 2:
            client_ms.append(await _timed(client_call))
            raw_ms.append(await _timed(raw_call))
        else:
            raw_ms.append(await _timed(raw_call))
            client_ms.append(await _timed(client_call))
    return {"client": _summary(client_ms), "raw": _summary(raw_ms)}


def _print_row(name: str, result: dict[str, Any]) -> None:
    client_mean, client_p50, client_p95 = result["client"]
    raw_mean, raw_p50, raw_p95 = result["raw"]
    print(
        f"| {name} | {client_mean:.3f} / {client_p50:.3f} / {client_p95:.3f} "
        f"| {raw_mean:.3f} / {raw_p50:.3f} / {raw_p95:.3f} "
        f"| {client_mean / raw_mean:.2f}x | {client_p50 / raw_p50:.2f}x |"
    )


async def run(calls: int, warmup: int) -> None:
    with running_sandbox(seed=True) as sandbox:
        async with (
            PmpClient(
                base_url=sandbox.base_url,
                token=sandbox.token,
                max_retries=0,
                address_policy=PRIVATE_ALLOWED,  # the sandbox is on 127.0.0.1
            ) as pmp,
            httpx.AsyncClient(
                base_url=f"{sandbox.base_url}/api/",
                headers={"authtoken": sandbox.token, "accept": "application/json"},
                timeout=10.0,
            ) as raw,
        ):
            customers = await pmp.customers.list()
            if not customers:
                raise SystemExit("the sandbox has no seeded customers to look up")
            customer = customers[0]
            term = (customer.company or "a").split()[0]
            get_path = f"customers/{customer.id}"
            search_path = f"customers/search/{search_segment(term)}"

            async def raw_get(path: str) -> Any:
                response = await raw.get(path)
                response.raise_for_status()
                return response.json()

            hits = len(await pmp.customers.search(term))
            results = {
                "get": await _compare(
                    lambda: pmp.customers.get(customer.id),
                    lambda: raw_get(get_path),
                    calls,
                    warmup,
                ),
                "search": await _compare(
                    lambda: pmp.customers.search(term),
                    lambda: raw_get(search_path),
                    calls,
                    warmup,
                ),
            }
    print(f"PMP client overhead: {calls} interleaved calls each after {warmup} warm-up calls")
    print(
        f"(get: customer #{customer.id}; search: {term!r}, {hits} hits; "
        "times in ms: mean / p50 / p95)"
    )
    print()
    print("| call | PmpClient | raw httpx + json | ratio (mean) | ratio (p50) |")
    print("|---|---|---|---|---|")
    for name, result in results.items():
        _print_row(name, result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="timed calls of each kind")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.warmup))


if __name__ == "__main__":
    main()
