"""Webhook signatures checked with Python's own hmac, independently of the server's Rust code.

Runs the `titan` binary (built by `cargo test` into CARGO_TARGET_DIR or ./target, or the one
named by TITAN_BIN) on a temporary SQLite database, registers a webhook pointing at a receiver
in this process, makes an event happen, and verifies both `X-Webhook-Signature` and the
Standard Webhooks signature.
"""

import base64
import hashlib
import hmac
import json
import os
import pathlib
import queue
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MASTER = "python-master-key-0123456789"


def binary() -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = pathlib.Path(os.environ.get("TITAN_BIN", target / "debug" / "titan"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: run `cargo test` (or `make test`) first, or set TITAN_BIN")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method: str, url: str, token: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


@pytest.fixture()
def server(tmp_path: pathlib.Path):
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite://{tmp_path}/titan.db",
        TITAN_BIND=f"127.0.0.1:{port}",
        MASTER_KEY=MASTER,
        TITAN_SECRET_KEY_FILE=str(tmp_path / "secret.key"),
        TITAN_WEBHOOK_ALLOW_PRIVATE="true",
        TITAN_WHATSAPP_URL="ws://127.0.0.1:9/ws/chat",
    )
    process = subprocess.Popen([binary(), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the titan server did not start")
            time.sleep(0.05)
    yield base
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture()
def receiver():
    received: queue.Queue = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()


@pytest.mark.parametrize("given_key", [None, "a-key-the-user-chose-123"])
def test_deliveries_verify_with_pythons_hmac(server: str, receiver, given_key: str | None) -> None:
    url, received = receiver
    key = call("POST", f"{server}/admin/keys", MASTER, {"label": "py", "scopes": ["*"]})["data"]["key"]
    webhook = {"url": url, "events": ["session.status"]}
    if given_key:
        webhook["hmacKey"] = given_key
    secret = call("POST", f"{server}/api/webhooks", key, webhook)["data"]["hmacKey"]
    call("POST", f"{server}/api/sessions", key, {"name": "py-session"})

    headers, body = received.get(timeout=30)
    headers = {k.lower(): v for k, v in headers.items()}
    envelope = json.loads(body)
    assert envelope["event"] == "session.status" and envelope["session"] == "py-session"

    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-webhook-signature"] == f"sha256={expected}"

    # Standard Webhooks: HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed by the base64 part of whsec_ keys.
    assert headers["webhook-id"] == envelope["id"]
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300
    standard_key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = base64.b64encode(hmac.new(standard_key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{digest}"
    tampered = hmac.new(secret.encode(), body + b" ", hashlib.sha256).hexdigest()
    assert headers["x-webhook-signature"] != f"sha256={tampered}"
