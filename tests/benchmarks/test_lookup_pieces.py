"""benchmarks/lookup_pieces.py runs on this tree and prints both figures (it asserts no
timing; the secret keys are checked as dropped before anything is timed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_lookup_pieces_benchmark_prints_both_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lookup_pieces.py"), "--repeat", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert re.search(r"secret keys, 20 rows: [0-9.]+ us of CPU per answer", done.stdout)
    assert re.search(
        r"results, one customer: built in [0-9.]+ us, converted in [0-9.]+ us", done.stdout
    )
