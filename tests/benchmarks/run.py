"""Run every benchmark (tests/benchmarks/bench_*.py) and say which targets were met.

Each benchmark prints its figures and a PASS/FAIL line per target, and exits 1 on a miss.
Run: python tests/benchmarks/run.py [engine|graph|app|worst ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    failed = []
    for script in scripts:
        print(f"=== {script.stem} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        print(f"({script.stem}: {time.perf_counter() - start:.0f} s, exit {code})\n", flush=True)
        if code:
            failed.append(script.stem)
    print("benchmarks: " + (f"targets missed in {', '.join(failed)}" if failed else "all met"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
