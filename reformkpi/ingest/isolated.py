"""A page's upload is read, checked and diffed in a child process with a memory and a time cap.

The checks in `parse` refuse what a file declares; this is the backstop for what it hides (a
footer that lies, a pathological sheet): the child dies, not the server, and the analyst gets a
message. Run as `python -m reformkpi.ingest.isolated`, it reads its request from stdin and
writes the prepared upload to stdout, both pickled: only this module talks to it.
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

from reformkpi import config
from reformkpi.config import Limits
from reformkpi.ingest import Upload, prepare as prepare_here, profiles
from reformkpi.ingest.problems import Problem
from reformkpi.store import Store

OUT_OF_MEMORY = 3
WORKER_NICENESS = 10
log = logging.getLogger(__name__)


def prepare(uri: str, data: bytes, file_name: str, profile, replace: bool = False,
            limits: Limits = Limits()):
    """`ingest.prepare` in a child process; a child over its caps gives a refused upload."""
    request = pickle.dumps((uri, data, file_name, profile, replace, limits), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        done = subprocess.run([sys.executable, "-m", __name__], input=request, capture_output=True,
                              timeout=limits.worker_seconds, cwd=config.IMPORT_ROOT, check=False,
                              env={**os.environ, "MALLOC_ARENA_MAX": "2"})
    except subprocess.TimeoutExpired:  # run() has killed the child
        problem = Problem("too_slow", fields={"limit": limits.worker_seconds})
    else:
        if done.returncode == 0:
            return pickle.loads(done.stdout)  # our own child's answer, not the file's bytes
        if done.returncode == -signal.SIGXCPU:
            problem = Problem("too_slow", fields={"limit": limits.worker_seconds})
        elif done.returncode == OUT_OF_MEMORY:
            problem = Problem("too_much_memory", fields={"limit": limits.worker_memory_mb})
        else:
            log.error("upload worker exited with %s: %s", done.returncode, done.stderr.decode(errors="replace")[-2000:])
            problem = Problem("worker_failed")
    return Upload(file_name, hashlib.sha256(data).hexdigest(), profile or profiles.Profile(), errors=[problem])


def _child() -> int:
    uri, data, file_name, profile, replace, limits = pickle.loads(sys.stdin.buffer.read())
    cap = limits.worker_memory_mb * config.MB
    # The data limit counts what the process writes to (heap, arrays, thread stacks), not the
    # address space that thread pools reserve and never touch.
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    cpu = math.ceil(limits.worker_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    os.nice(WORKER_NICENESS)  # other sessions' pages come first when the cores are busy
    try:
        up = prepare_here(Store(uri), data, file_name, profile, replace, limits=limits)
        sys.stdout.buffer.write(pickle.dumps(up, protocol=pickle.HIGHEST_PROTOCOL))
    except MemoryError:
        return OUT_OF_MEMORY
    return 0


if __name__ == "__main__":
    sys.exit(_child())
