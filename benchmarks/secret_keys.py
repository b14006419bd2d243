"""CPU spent dropping the secret keys of PMP records (bot.pmp.models), per answer.

Run: .venv/bin/python benchmarks/secret_keys.py [--rows 20] [--repeat 2000] [--tree PATH]

Every record pmp-bot reads from PMP goes through the secret-key filter before anything else
sees it (passwords, reset keys, tokens never leave bot/pmp). This times the filter on an
answer of ``--rows`` records shaped like PMP's customers (43 keys, two of them secrets, one
nested list), ``--repeat`` times, and prints the process CPU per answer. Figures only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def answer(rows: int) -> list[dict[str, object]]:
    row: dict[str, object] = {f"field_{i}": str(i) for i in range(40)}
    row.update(
        {"password": "x", "new_pass_key": "y", "customfields": [{"label": "a", "value": "b"}]}
    )
    return [dict(row) for _ in range(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument(
        "--tree", default=str(Path(__file__).resolve().parents[1]), help="a checkout to time"
    )
    args = parser.parse_args()
    sys.path.insert(0, args.tree)
    from bot.pmp import models

    records = answer(args.rows)
    kept = models._without_secrets(records, frozenset())
    assert all("password" not in row and "new_pass_key" not in row for row in kept)
    started = time.process_time()
    for _ in range(args.repeat):
        models._without_secrets(records, frozenset())
    spent = (time.process_time() - started) / args.repeat
    print(f"{args.rows} rows: {spent * 1e6:.1f} us of CPU per answer")


if __name__ == "__main__":
    main()
