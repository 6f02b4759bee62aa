"""Measuring helpers shared by the benchmarks."""

import resource
import statistics
import time


def median_seconds(fn, runs: int) -> float:
    """Median wall time of `runs` calls of fn()."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_peak_mb() -> float:
    """Peak resident memory of this process image, in MB: VmHWM starts afresh at exec, whereas
    ru_maxrss keeps the parent's resident size at fork (a spawned child of a large parent)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
