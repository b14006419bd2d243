"""CPU per request spent reading the request's workspace, for one or more copies of the tree.

Run: .venv/bin/python benchmarks/workspace_read.py --trees /tmp/base,. [--requests 2000]
     [--apart-ms 0.5] [--rounds 3]

For each round and tree (alternating which goes first), a child process imports `bot` from
that tree, connects one workspace in a temporary SQLite database (as `pmp-bot serve` keeps
it by default) and calls `WorkspaceStore.get` once per request, one request after the other,
`--apart-ms` apart (an `asyncio.sleep`, as requests arrive in the open loop). The figure is
the child's CPU (every thread, SQLite's included) per request, sleep and all.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


async def _child(requests: int, apart: float) -> float:
    from cryptography.fernet import Fernet

    from bot.config import load_settings
    from bot.storage import Database, WorkspaceStore

    folder = tempfile.mkdtemp(prefix="pmp-bench-ws-")
    database = await Database.connect(f"sqlite:///{folder}/bot.sqlite3")
    try:
        await database.create_schema()
        key = Fernet.generate_key().decode()
        cipher = load_settings(env_file=None, pmp_bot_secret_key=key).token_cipher()
        store = WorkspaceStore(database, cipher)
        await store.save_credentials("T0001", None, "https://crm.example.com", "t0k3n", "U0001")
        for _ in range(50):  # warm-up
            await store.get("T0001")
        before = time.process_time()
        for _ in range(requests):
            await store.get("T0001")
            await asyncio.sleep(apart)
        return (time.process_time() - before) / requests
    finally:
        await database.dispose()


def _run_child(tree: Path, requests: int, apart: float) -> float:
    # This file's _child, with `bot` imported from `tree`.
    code = (
        "import asyncio, runpy, sys; sys.path.insert(0, sys.argv[1]); "
        "child = runpy.run_path(sys.argv[4])['_child']; "
        "print(asyncio.run(child(int(sys.argv[2]), float(sys.argv[3]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tree), str(requests), str(apart), __file__],
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", default=".", help="comma-separated tree paths")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--apart-ms", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    figures: dict[Path, list[float]] = {tree: [] for tree in trees}
    for round_ in range(args.rounds):
        for tree in trees if round_ % 2 == 0 else list(reversed(trees)):
            seconds = _run_child(tree, args.requests, args.apart_ms / 1000)
            figures[tree].append(seconds * 1e6)
            print(f"round {round_ + 1}: {tree}: {seconds * 1e6:.0f} us CPU per request")
    for tree, values in figures.items():
        print(
            f"{tree}: median {statistics.median(values):.0f} us CPU per request "
            f"(range {min(values):.0f}-{max(values):.0f}, {len(values)} rounds)"
        )


if __name__ == "__main__":
    main()
