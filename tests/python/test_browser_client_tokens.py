"""A client token used by a real browser (headless Chromium, Debian's `chromium`): the same page,
served from an origin the session's client rules allow and from one they do not, calls the API
with the token. Chromium sends its CORS preflight and enforces the answer, so the allowed page
reads the contact list and the other is blocked before its request is made.

Outside CI the test is skipped when `chromium` is not installed; under CI (`CI` set) it fails,
since `.ci/run` installs it.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, Tuple

import pytest
import titan
from conftest import ALICE, BOB, wait_for
from titan_server import Server

PAGE = """<!doctype html>
<html><body><pre id="out">pending</pre>
<script>
fetch("{api}/api/sessions/{session}/contacts", {{headers: {{Authorization: "Bearer {token}"}}}})
  .then((r) => r.json().then((body) => {{
    document.getElementById("out").textContent = "status " + r.status + " " + JSON.stringify(body.data.map((c) => c.phoneNumber));
  }}))
  .catch((e) => {{ document.getElementById("out").textContent = "blocked " + e.name; }});
</script></body></html>
"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed")
    return found


def serve_page(page: Dict[str, str]) -> Tuple[ThreadingHTTPServer, str]:
    """An HTTP server on its own loopback port (its own origin) answering `page["html"]`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def rendered(browser: str, url: str, profile: pathlib.Path) -> str:
    """The page's DOM once its scripts have run (virtual time lets the fetch finish)."""
    run = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


@pytest.fixture()
def page() -> Iterator[Tuple[Dict[str, str], str, str]]:
    """The page both origins serve (set `["html"]`), the allowed origin and the refused one."""
    html = {"html": ""}
    allowed_server, allowed = serve_page(html)
    refused_server, refused = serve_page(html)
    yield html, allowed, refused
    allowed_server.shutdown()
    refused_server.shutdown()


def test_a_browser_reads_with_a_client_token_only_from_an_allowed_origin(
    sandbox: Server, api_key: str, linked: Tuple[str, str], tmp_path: pathlib.Path, page: Tuple[Dict[str, str], str, str]
) -> None:
    browser = chromium()
    alice, bob = linked
    html, allowed, refused = page
    client = titan.Client(base_url=sandbox.base, api_key=api_key)
    # Bob writes first, so he is among Alice's contacts.
    client.sessions.send_message(bob, chat_id=f"{ALICE[1]}@s.whatsapp.net", type="text", text="hello from bob")
    wait_for("bob among alice's contacts", lambda: any(c.phone_number == f"+{BOB[1]}" for c in client.contacts.list(alice)))
    client.client_tokens.set_rules(alice, recipient_mode="conversation", allowed_actions="read_contact", allowed_origins=allowed)
    token = client.client_tokens.create(session=alice, ephemeral_id="chromium", ttl_seconds=300).token
    html["html"] = PAGE.format(api=sandbox.base, session=alice, token=token)

    read = rendered(browser, allowed, tmp_path / "allowed")
    assert "status 200" in read and f"+{BOB[1]}" in read, read
    blocked = rendered(browser, refused, tmp_path / "refused")
    assert "blocked TypeError" in blocked, blocked
    client.client_tokens.delete_rules(alice)
