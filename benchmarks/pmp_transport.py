"""CPU the bot's process spends per PMP request, for one or more copies of the tree.

Run: .venv/bin/python benchmarks/pmp_transport.py --trees /tmp/base,. [--calls 3000]
     [--in-flight 50] [--rounds 3]

Starts the PMP sandbox (benchmarks/servers.py sandbox, no latency) in its own process, then
for each round and each tree (alternating which goes first) runs a child process that
imports `bot` from that tree and sends `--calls` customer searches through one PmpClient
on the pool's transport (`bot.pmp_pool.default_transport`, private addresses allowed),
`--in-flight` at a time, each search a different word. The figure is the child's own CPU
(user + system) per search, after a warm-up: what PmpClient, httpx and the transport under
it cost, not the sandbox. Medians and ranges over the rounds are printed per tree.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def _child(url: str, calls: int, in_flight: int) -> float:
    from bot.pmp import PmpClient
    from bot.pmp.network import PRIVATE_ALLOWED
    from bot.pmp_pool import default_transport
    from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN

    transport = default_transport(PRIVATE_ALLOWED)
    async with PmpClient(base_url=url, token=DEFAULT_SANDBOX_TOKEN, transport=transport) as pmp:
        words = [f"w{n:05d}" for n in range(calls + in_flight)]

        async def user(start: int, count: int) -> None:
            for n in range(start, start + count):
                await pmp.customers.search(words[n])

        await asyncio.gather(*(user(n, 1) for n in range(in_flight)))  # warm-up
        each = calls // in_flight
        before = time.process_time()
        await asyncio.gather(*(user(in_flight + n * each, each) for n in range(in_flight)))
        return (time.process_time() - before) / (each * in_flight)


def _run_child(tree: Path, url: str, calls: int, in_flight: int) -> float:
    # This file's _child, with `bot` imported from `tree`.
    code = (
        "import asyncio, runpy, sys; sys.path.insert(0, sys.argv[1]); "
        "child = runpy.run_path(sys.argv[5])['_child']; "
        "print(asyncio.run(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tree), url, str(calls), str(in_flight), __file__],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", default=".", help="comma-separated tree paths")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    sys.path.insert(0, str(ROOT))
    from benchmarks.run_all import free_port, server, started

    port = free_port()
    workdir = Path(os.environ.get("TMPDIR", "/tmp"))
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    figures: dict[Path, list[float]] = {tree: [] for tree in trees}
    with started("sandbox", server("sandbox", "--port", str(port)), port, workdir) as sandbox:
        for round_ in range(args.rounds):
            order = trees if round_ % 2 == 0 else list(reversed(trees))
            for tree in order:
                seconds = _run_child(tree, sandbox.url, args.calls, args.in_flight)
                figures[tree].append(seconds * 1e6)
                print(f"round {round_ + 1}: {tree}: {seconds * 1e6:.0f} us CPU per search")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for tree, values in figures.items():
        print(
            f"{tree}: median {statistics.median(values):.0f} us CPU per search "
            f"(range {min(values):.0f}-{max(values):.0f}, {len(values)} rounds of "
            f"{args.calls} searches, {args.in_flight} in flight)"
        )


if __name__ == "__main__":
    main()
