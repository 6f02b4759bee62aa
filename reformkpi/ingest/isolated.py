"""Reading an uploaded file, or a records export, in a child process with a memory and a time cap.

The checks in `parse` and `records.staging` refuse what a file declares; this is the backstop for
what it hides (a footer that lies, a pathological sheet): the child dies, not the server or the
operator's shell, and the analyst gets a message. `run(func, args, limits)` calls
`func(*args)` in `python -m reformkpi.ingest.isolated`, which reads the call from stdin and
writes back, both pickled (only this module talks to it), any progress reports, then the
result, the file's problems, or the store's refusal (a damaged store, a full disk: raised here
as they are, not blamed on the file).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable

import duckdb

from reformkpi import config
from reformkpi.config import Limits
from reformkpi.ingest import Upload, prepare as prepare_here, profiles
from reformkpi.ingest.problems import IngestError, Problem
from reformkpi.store import Store, StoreError

OUT_OF_MEMORY = 3
WORKER_NICENESS = 10
log = logging.getLogger(__name__)


def run(func: Callable, args: tuple, limits: Limits = Limits(), timed: bool = True,
        progress: Callable | None = None):
    """`func(*args)` (with `progress=` a relay to `progress` when given) in a child capped at
    `limits.worker_memory_mb` of data and, if `timed`, `limits.worker_seconds` of CPU and wall
    time. IngestError with the file's problems, or with the cap passed when the child is stopped."""
    request = pickle.dumps((func, args, progress is not None, limits, timed), protocol=pickle.HIGHEST_PROTOCOL)
    with tempfile.TemporaryFile() as err:
        # The child works in the caller's folder, where relative file, store and temporary paths
        # point (`records-ingest export.csv`); it imports the core from where this process did.
        path = os.pathsep.join(filter(None, (str(config.IMPORT_ROOT), os.environ.get("PYTHONPATH"))))
        child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=err, env={**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONPATH": path})
        late = threading.Event()

        def stop():
            late.set()
            child.kill()

        timer = threading.Timer(limits.worker_seconds, stop) if timed else None
        answer = None
        assert child.stdin is not None and child.stdout is not None  # both are pipes
        try:
            if timer:
                timer.start()
            child.stdin.write(request)
            child.stdin.close()
            # Our own child's answers, not the file's bytes.
            while answer is None:
                kind, value = pickle.load(child.stdout)
                if kind == "progress" and progress is not None:
                    progress(value)
                else:
                    answer = kind, value
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):  # the child stopped before answering
            pass
        except BaseException:  # the caller stopped listening (a rerun of the page, Ctrl-C)
            child.kill()
            raise
        finally:
            code = child.wait()
            if timer:
                timer.cancel()
            child.stdout.close()
        if answer is not None and code == 0:
            kind, value = answer
            if kind == "problems":
                raise IngestError(value)
            if kind == "store":
                raise value
            return value
        if late.is_set() or code == -signal.SIGXCPU:
            problem = Problem("too_slow", fields={"limit": limits.worker_seconds})
        elif code == OUT_OF_MEMORY:
            problem = Problem("too_much_memory", fields={"limit": limits.worker_memory_mb})
        else:
            err.seek(0)
            log.error("worker exited with %s: %s", code, err.read().decode(errors="replace")[-2000:])
            problem = Problem("worker_failed")
    raise IngestError([problem])


def prepare(uri: str, data: bytes, file_name: str, profile, replace: bool = False,
            limits: Limits = Limits()) -> Upload:
    """`ingest.prepare` in a child process; a child over its caps gives a refused upload."""
    try:
        return run(_prepare, (uri, data, file_name, profile, replace, limits), limits)
    except IngestError as e:
        return Upload(file_name, hashlib.sha256(data).hexdigest(), profile or profiles.Profile(), errors=e.problems)


def _prepare(uri: str, data: bytes, file_name: str, profile, replace: bool, limits: Limits) -> Upload:
    return prepare_here(Store(uri), data, file_name, profile, replace, limits=limits)


def _child() -> int:
    # Answers go through a private copy of stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    func, args, relay, limits, timed = pickle.loads(sys.stdin.buffer.read())
    cap = limits.worker_memory_mb * config.MB
    # The data limit counts what the process writes to (heap, arrays, thread stacks), not the
    # address space that thread pools reserve and never touch.
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    if timed:
        cpu = math.ceil(limits.worker_seconds)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    os.nice(WORKER_NICENESS)  # other sessions' pages come first when the cores are busy

    def send(kind: str, value) -> None:
        pickle.dump((kind, value), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        result = func(*args, progress=lambda p: send("progress", p)) if relay else func(*args)
        send("result", result)
    except IngestError as e:
        send("problems", e.problems)
    except StoreError as e:
        send("store", e)
    except (MemoryError, duckdb.OutOfMemoryException):  # pyarrow's ArrowMemoryError is a MemoryError
        return OUT_OF_MEMORY
    return 0


if __name__ == "__main__":
    sys.exit(_child())
