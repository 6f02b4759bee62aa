"""Measuring helpers shared by the benchmarks."""

import resource
import statistics
import threading
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


class PeakSampler:
    """The peak of each named reading (a callable returning a number), sampled in a thread while the
    block runs: `with PeakSampler(rss=lambda: ...) as s: ...` then `s.peak["rss"]`."""

    def __init__(self, every: float = 0.5, **readings):
        self.every, self.readings = every, readings
        self.peak = dict.fromkeys(readings, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for name, read in self.readings.items():
                self.peak[name] = max(self.peak[name], read())
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
