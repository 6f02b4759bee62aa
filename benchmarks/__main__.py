"""Run every benchmark module (`bench_*.py`), or those named: `python -m benchmarks pages ingest`.

Each module has `main(argv: list[str]) -> None` that prints its figures.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if m.name.startswith("bench_"))
    wanted = [a for a in argv if not a.startswith("-")] or names
    unknown = set(wanted) - set(names)
    if unknown:
        print(f"unknown benchmark(s) {sorted(unknown)}; available: {names}", file=sys.stderr)
        return 2
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"benchmarks.bench_{name}").main([a for a in argv if a.startswith("-")])
    return 0


raise SystemExit(main(sys.argv[1:]))
