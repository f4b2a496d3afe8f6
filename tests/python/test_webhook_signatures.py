"""Webhook signatures checked with Python's own hmac, independently of the server's Rust code.

Runs the `titan` binary (conftest.py's `server` fixture) on a temporary SQLite database,
registers a webhook pointing at a receiver in this process (`receiver`), makes an event happen, and verifies both `X-Webhook-Signature` and the
Standard Webhooks signature.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.request

import pytest
from titan_server import MASTER


def call(method: str, url: str, token: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


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
