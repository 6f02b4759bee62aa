"""`python -m reformkpi notify` as a process forked from one that has already imported it, for a
test that starts and kills many runs: importing took about three quarters of each fresh run.

The fork comes from multiprocessing's fork server (a single-threaded process that imported this
module once), never from the test process: that one runs the SMTP server's thread and has used
the store's runtime, which a forked child would inherit half-alive."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.process import BaseProcess

from reformkpi import cli


def _notify(env: dict[str, str]) -> None:
    os.environ.update(env)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the run's counts, as `python -m reformkpi notify` prints them: not needed here
    raise SystemExit(cli.main(["notify"]))


def start(env: dict[str, str]) -> BaseProcess:
    """A notifier run with these environment variables added; its exitcode is -9 once SIGKILLed."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    p = ctx.Process(target=_notify, args=(env,), daemon=True)
    p.start()
    return p
