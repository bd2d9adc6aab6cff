"""Optional py-spy profiles of what a benchmark measures (``bench/run.py --profile DIR``).

py-spy records the given process only while the measured part runs (samples of the
thread holding the GIL only, ``--gil``), in two formats:
an SVG flame graph and py-spy's "raw" collapsed stacks, which ``bench/pyspy_top.py``
turns into the top frames with percentages (docs/performance.md quotes them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path


def pyspy_binary() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def recorder(directory: str | None):
    """A ``profile(pid, name)`` context manager factory, or None when not profiling."""
    if not directory:
        return None
    binary = pyspy_binary()
    if binary is None:
        sys.exit("bench: --profile needs py-spy (.venv/bin/pip install py-spy)")
    Path(directory).mkdir(parents=True, exist_ok=True)

    @contextmanager
    def profile(pid: int, name: str):
        procs = [
            subprocess.Popen(  # noqa: S603 - py-spy, fixed arguments
                [
                    binary,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "200",
                    "--nonblocking",
                    # Only the thread holding the GIL: where the CPU goes. Without it, daphne's
                    # request threads waiting on a lock or the GIL count as busy.
                    "--gil",
                    "--format",
                    fmt,
                    "-o",
                    str(Path(directory) / f"{name}.{ext}"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for fmt, ext in (("flamegraph", "svg"), ("raw", "txt"))
        ]
        try:
            yield
        finally:
            for p in procs:
                p.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()

    return profile


def self_pid() -> int:
    return os.getpid()
