"""How the native client behaves in a Python process: blocking calls release the GIL and yield to
Ctrl-C, a forked child gets a clear error, and the SDK's types hold under `mypy --strict`."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from typing import List

import pytest
import titan
from titan_server import ROOT, Server


def test_blocking_calls_release_the_gil(silent: str) -> None:
    """A call waiting 1 s for an answer that never comes must let this thread run Python in the
    middle of that second; with the GIL held, it could only run before or after the call."""
    client = titan.Client(base_url=silent, api_key="k", timeout=1.0, max_retries=0)
    outcome: List[BaseException] = []
    started: List[float] = []

    def call() -> None:
        started.append(time.perf_counter())
        try:
            client.health.live()
        except titan.APITimeoutError as error:
            outcome.append(error)

    worker = threading.Thread(target=call)
    worker.start()
    mid_call = 0
    while worker.is_alive():
        if started and 0.2 < time.perf_counter() - started[0] < 0.8:
            mid_call += 1
    worker.join()
    assert outcome and mid_call > 0


def test_ctrl_c_interrupts_a_blocking_call(silent: str) -> None:
    """With Python's own Ctrl-C handler, as a script started from a terminal has it. A process
    started as a background job of a non-interactive shell (`make test &` in a script) inherits
    SIGINT ignored, and Python then leaves it ignored: the handler is installed here, so that
    such a run tests the same thing."""
    client = titan.Client(base_url=silent, api_key="k", timeout=120.0, max_retries=0)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            client.health.live()
        assert time.monotonic() - started < 60  # well before the 120 s timeout
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_forked_child_gets_a_clear_error(sandbox: Server) -> None:
    client = titan.Client(base_url=sandbox.base)
    assert client.health.live().status == "ok"
    pid = os.fork()
    if pid == 0:  # the child: the runtime's threads did not survive the fork
        code = 1
        try:
            client.health.live()
        except RuntimeError as error:
            code = 0 if "fork" in str(error) else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_event_types_catch_a_wrong_field(tmp_path: pathlib.Path) -> None:
    """The payload types are real: reading a field another event type has fails `mypy --strict`."""
    package = ROOT / "bindings" / "python" / "python"
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import titan\n\n"
        "def status(event: titan.Event) -> str:\n"
        "    if isinstance(event, titan.types.SessionStatusEvent):\n"
        "        return event.payload.text\n"
        "    return ''\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(wrong)],
        capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(package)},
    )
    assert result.returncode != 0 and '"SessionStatusPayload" has no attribute "text"' in result.stdout, result.stdout


def test_the_example_passes_mypy_strict() -> None:
    example = ROOT / "bindings" / "python" / "examples" / "quickstart.py"
    package = ROOT / "bindings" / "python" / "python" / "titan"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(example), str(package)],
        capture_output=True, text=True, cwd=pathlib.Path(example).parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
