"""Starts the real `titan` binary for the Python suites and the SDK benchmark.

The binary is the one `cargo test --workspace --features titan-server/sandbox` builds into
CARGO_TARGET_DIR (or ./target), or the one TITAN_BIN names.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import time
import urllib.request
from typing import Dict, Optional

ROOT = pathlib.Path(__file__).resolve().parents[2]
MASTER = "python-master-key-0123456789"


def binary() -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = pathlib.Path(os.environ.get("TITAN_BIN", target / "debug" / "titan"))
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: run `make test` (or `cargo test --workspace --features titan-server/sandbox`) first, or set TITAN_BIN")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One titan process on a temporary SQLite database, stopped by `stop()`."""

    def __init__(self, data_dir: pathlib.Path, *, sandbox: bool = False, env: Optional[Dict[str, str]] = None) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.phone = ""
        environment = dict(
            os.environ,
            DATABASE_URL=f"sqlite://{data_dir}/titan.db",
            TITAN_BIND=f"127.0.0.1:{port}",
            MASTER_KEY=MASTER,
            TITAN_SECRET_KEY_FILE=str(data_dir / "secret.key"),
            TITAN_MEDIA_STORE=str(data_dir / "media"),
            TITAN_WEBHOOK_ALLOW_PRIVATE="true",
            TITAN_WHATSAPP_URL="ws://127.0.0.1:9/ws/chat",
        )
        arguments = [str(binary()), "serve"]
        if sandbox:
            phone_port = free_port()
            self.phone = f"http://127.0.0.1:{phone_port}"
            environment.pop("TITAN_WHATSAPP_URL")
            environment["TITAN_SANDBOX_BIND"] = f"127.0.0.1:{phone_port}"
            arguments.append("--sandbox")
        environment.update(env or {})
        self.log = open(data_dir / "titan.log", "wb")
        self.process = subprocess.Popen(arguments, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    raise RuntimeError(f"the titan server did not start; see {data_dir / 'titan.log'}")
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
