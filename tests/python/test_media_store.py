"""Persisting media to the media store: a directory, and a real S3-compatible server (moto's server
mode, started here on loopback), on SQLite and on PostgreSQL (when TITAN_TEST_DATABASE_URL is set).

A received picture is persisted on request (`POST …/media/{mediaId}/persist`) and a received
voice note by the session's `persistMedia` setting; each object read back from the store is the
file that was sent, and a persisted file still downloads once its session is stopped.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import sys
import urllib.parse
import uuid
from typing import Any, Dict, Iterator

import boto3
import httpx
import pytest

import titan
from conftest import ALICE, BOB, link, wait_for
from titan_server import MASTER, Server, free_port
from test_rejections import psql

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures" / "media"
CAROL = ("carol", "15550006666")
BUCKET = "titan-media"
S3_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """moto's S3 server on a free loopback port, with an empty bucket; its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(pathlib.Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        def up() -> bool:
            try:
                return httpx.put(f"{endpoint}/{BUCKET}", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("moto's S3 server", up)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_object(url: str, endpoint: str) -> bytes:
    """The object at `url` (`file:///…` or `s3://bucket/key`), read straight from its store."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return pathlib.Path(urllib.parse.unquote(parsed.path)).read_bytes()
    assert parsed.scheme == "s3", url
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1")
    return bytes(client.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read())


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Iterator[Dict[str, str]]:
    """Environment for the server's database: its own SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield {}
        return
    base = os.environ.get("TITAN_TEST_DATABASE_URL")
    if not base:
        assert not os.environ.get("CI"), "CI must set TITAN_TEST_DATABASE_URL"
        pytest.skip("TITAN_TEST_DATABASE_URL is not set: skipping the PostgreSQL run")
    name = f"titan_media_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    psql(base, f"CREATE DATABASE {name}")
    try:
        yield {"DATABASE_URL": urllib.parse.urlparse(base)._replace(path=f"/{name}").geturl()}
    finally:
        psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("store", ["directory", "s3"])
def test_received_media_is_persisted_and_reads_back_identical(
    store: str, database: Dict[str, str], s3: str, tmp_path: pathlib.Path
) -> None:
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    location = str(tmp_path / "store") if store == "directory" else f"s3://{BUCKET}/{prefix}"
    env = {**database, **S3_ENV, "AWS_ENDPOINT_URL": s3, "TITAN_MEDIA_STORE": location, "TITAN_RATE_LIMIT": "100000"}
    server = Server(tmp_path, sandbox=True, env=env)
    try:
        admin = titan.Client(base_url=server.base, api_key=MASTER)
        key = admin.admin.keys.create(label="media-store", scopes=["*"]).key
        client = titan.Client(base_url=server.base, api_key=key)
        http = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        for name, number in (ALICE, BOB):
            link(http, server, name, number)
        link(http, server, *CAROL, config={"persistMedia": True})
        alice, bob, carol = ALICE[0], BOB[0], CAROL[0]

        def received(session: str, message_id: str, sender: str) -> Any:
            page = client.messages.list(session, f"{sender}@s.whatsapp.net", limit=50)
            found = [m for m in page if m.id == message_id]
            return found[0] if found else None

        # On request: bob persists a picture alice sent.
        photo = (FIXTURES / "photo.jpg").read_bytes()
        sent = client.messages.send(session=alice, chat_id=f"{BOB[1]}@s.whatsapp.net", type="image", base64=photo)
        picture = wait_for("bob to receive the picture", lambda: received(bob, sent.id, ALICE[1]))
        described = client.media.get(bob, picture.media_id)
        assert (described.persisted, described.s3_url) == (False, None)
        persisted = client.media.persist(bob, picture.media_id)
        expected_prefix = f"file://{tmp_path / 'store'}/bob/" if store == "directory" else f"s3://{BUCKET}/{prefix}/bob/"
        assert persisted.persisted and persisted.s3_url.startswith(expected_prefix), persisted.s3_url
        assert persisted.s3_url.endswith(f"{picture.media_id}.jpg")
        assert sha256(read_object(persisted.s3_url, s3)) == sha256(photo)
        assert client.media.get(bob, picture.media_id).s3_url == persisted.s3_url
        assert client.media.persist(bob, picture.media_id).s3_url == persisted.s3_url, "persisted once"

        # A persisted file downloads from the store, even with its session stopped.
        client.sessions.stop(bob)
        assert client.media.download(bob, picture.media_id) == photo
        with pytest.raises(titan.NotFoundError):
            client.media.persist(bob, "med_0000000000")

        # By the session's setting: carol persists the voice note alice sends as it arrives.
        voice = (FIXTURES / "voice.ogg").read_bytes()
        note = client.messages.send(session=alice, chat_id=f"{CAROL[1]}@s.whatsapp.net", type="voice", base64=voice)
        arrived = wait_for("carol to receive the voice note", lambda: received(carol, note.id, ALICE[1]))
        automatic = wait_for("carol's voice note to be persisted",
                             lambda: (lambda m: m if m.persisted else None)(client.media.get(carol, arrived.media_id)))
        assert automatic.s3_url.endswith(f"{arrived.media_id}.ogg")
        assert sha256(read_object(automatic.s3_url, s3)) == sha256(voice)
    finally:
        server.stop()
