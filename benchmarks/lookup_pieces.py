"""CPU of two pieces of every lookup, for any checkout: PMP records' secret-key filter and
the results' Block Kit.

Run: .venv/bin/python benchmarks/lookup_pieces.py [--rows 20] [--repeat 2000] [--tree PATH]

- secret keys: every record pmp-bot reads from PMP goes through the filter that drops its
  secrets (passwords, reset keys, tokens) before anything else sees it. Timed on an answer of
  ``--rows`` records shaped like PMP's customers (43 keys, two of them secrets, one nested
  list).
- results: ``bot.blocks.results.build_results`` for one customer found by a search (the
  benchmark's lookups find one each), then Bolt's conversion of the blocks to the JSON it
  posts (slack_sdk's ``to_dict``, which validates each block).

Each is run ``--repeat`` times; the figure is process CPU per call. ``--tree`` times another
checkout (a worktree of an older commit) with the same script. Figures only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def secret_answer(rows: int) -> list[dict[str, object]]:
    row: dict[str, object] = {f"field_{i}": str(i) for i in range(40)}
    row.update(
        {"password": "x", "new_pass_key": "y", "customfields": [{"label": "a", "value": "b"}]}
    )
    return [dict(row) for _ in range(rows)]


CUSTOMER = {
    "userid": "7",
    "company": "Acme Widgets",
    "phonenumber": "555 0100",
    "city": "Springfield",
    "country": "0",
    "website": "https://acme.example",
    "datecreated": "2024-01-02 10:00:00",
    "active": "1",
}


def per_call(repeat: int, call: Any) -> float:
    started = time.process_time()
    for _ in range(repeat):
        call()
    return (time.process_time() - started) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument(
        "--tree", default=str(Path(__file__).resolve().parents[1]), help="a checkout to time"
    )
    args = parser.parse_args()
    sys.path.insert(0, args.tree)
    from slack_bolt.context.respond.internals import _build_message

    from bot.blocks.results import build_results
    from bot.pmp import models

    records = secret_answer(args.rows)
    kept = models._without_secrets(records, frozenset())
    assert all("password" not in row and "new_pass_key" not in row for row in kept)
    spent = per_call(args.repeat, lambda: models._without_secrets(records, frozenset()))
    print(f"secret keys, {args.rows} rows: {spent:.1f} us of CPU per answer")

    customer = models.Customer.from_wire(CUSTOMER)

    def build() -> Any:
        return build_results(
            "customer", [customer], base_url="https://pmp.example.com", query="acme"
        )

    message = build()
    built = per_call(args.repeat, build)
    converted = per_call(
        args.repeat, lambda: _build_message(text=message.text, blocks=message.blocks)
    )
    print(f"results, one customer: built in {built:.1f} us, converted in {converted:.1f} us")


if __name__ == "__main__":
    main()
