"""Fixtures shared by the Python suites: real titan servers, API keys, linked sessions, a webhook
receiver. Everything runs over real HTTP against the `titan` binary (see titan_server.py)."""

from __future__ import annotations

import json
import pathlib
import queue
import socket
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from titan_server import MASTER, Server  # noqa: E402

T = TypeVar("T")

# The two sandbox phones the SDK suites link.
ALICE = ("alice", "15550001111")
BOB = ("bob", "15550002222")


def wait_for(what: str, check: Callable[[], T], timeout: float = 30.0) -> T:
    """Polls `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture()
def server(tmp_path: pathlib.Path) -> Iterator[str]:
    """A titan server (no sandbox; WhatsApp unreachable), for one test."""
    instance = Server(tmp_path)
    yield instance.base
    instance.stop()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A titan server in sandbox mode (its emulator and phone in-process), for the whole run."""
    instance = Server(tmp_path_factory.mktemp("sandbox"), sandbox=True, env={"TITAN_RATE_LIMIT": "100000"})
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def api_key(sandbox: Server) -> str:
    """A key with every scope, minted through the SDK's admin resource with the master key."""
    import titan

    admin = titan.Client(base_url=sandbox.base, api_key=MASTER)
    return admin.admin.keys.create(label="pytest", scopes=["*"]).key


def phone(server: Server, action: str, body: Dict[str, Any]) -> None:
    """Acts on the sandbox phone (e.g. `scan-qr`)."""
    request = urllib.request.Request(
        f"{server.phone}/admin/{action}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60):
        pass


def link(client: Any, server: Server, name: str, number: str, config: Optional[Dict[str, Any]] = None) -> None:
    """Creates session `name` (with `config`) through `client` (an httpx client holding a key) and
    links it by scanning its QR code with the sandbox phone of `number`."""
    created = client.post("/api/sessions", json={"name": name, "start": True, "config": config or {}})
    assert created.status_code == 201, created.text

    def qr() -> Any:
        answer = client.get(f"/api/sessions/{name}/pairing/qr")
        return answer.status_code == 200 and answer.json()["data"]

    code = wait_for(f"{name}'s QR code", qr)["code"]
    phone(server, "scan-qr", {"qr": code, "phone": number})
    wait_for(f"{name} to connect", lambda: client.get(f"/api/sessions/{name}").json()["data"]["status"] == "CONNECTED")


@pytest.fixture(scope="session")
def linked(sandbox: Server, api_key: str) -> Tuple[str, str]:
    """alice and bob, each linked by scanning its QR code with its sandbox phone."""
    import titan

    client = titan.Client(base_url=sandbox.base, api_key=api_key)
    for name, number in (ALICE, BOB):
        client.sessions.create(name=name, start=True)
        qr = client.pairing.qr(name)
        assert qr.qr.startswith("data:image/png;base64,")
        phone(sandbox, "scan-qr", {"qr": qr.code, "phone": number})
        wait_for(f"{name} to connect", lambda: client.sessions.get(name).status == "CONNECTED")
    return ALICE[0], BOB[0]


@pytest.fixture()
def silent() -> Iterator[str]:
    """A TCP server that accepts connections and never answers: calls to it can only time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: List[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


@pytest.fixture()
def receiver() -> Iterator[Tuple[str, "queue.Queue[Tuple[Dict[str, str], bytes]]"]]:
    """A webhook receiver in this process: its URL and the (headers, body) it got."""
    received: "queue.Queue[Tuple[Dict[str, str], bytes]]" = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()
