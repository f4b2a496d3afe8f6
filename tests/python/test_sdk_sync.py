"""titan.Client (the blocking client) against a real sandbox server: keys, sessions, linking,
messages both ways, paging, every exception from a real answer, retries after a real 429, SSE,
and a real webhook delivery verified with titan.webhooks."""

from __future__ import annotations

import asyncio
import json
import pathlib
import queue
import socket
import threading
from typing import Dict, List, Tuple

import pytest
import titan
from conftest import ALICE, BOB, wait_for
from titan_server import MASTER, Server


@pytest.fixture()
def client(sandbox: Server, api_key: str) -> titan.Client:
    return titan.Client(base_url=sandbox.base, api_key=api_key)


def test_keys_are_created_listed_updated_and_revoked(sandbox: Server, client: titan.Client) -> None:
    admin = titan.Client(base_url=sandbox.base, api_key=MASTER)
    created = admin.admin.keys.create(label="reader", scopes=["sessions:read"], lifetime_days=7)
    assert created.key.startswith("titan_") and created.scopes == ["sessions:read"]
    assert created.is_active and created.expires_at is not None
    assert created.to_dict()["isActive"] is True

    mine = client.account.keys.create(label="sdk-made", scopes=["messages:write"])
    assert mine.label == "sdk-made"
    ids = [key.id for key in client.account.keys.list()]
    assert mine.id in ids
    updated = client.account.keys.update(mine.id, label="renamed", is_active=False)
    assert (updated.label, updated.is_active) == ("renamed", False)
    assert client.account.keys.get(mine.id).label == "renamed"
    client.account.keys.delete(mine.id)
    with pytest.raises(titan.NotFoundError):
        client.account.keys.get(mine.id)

    reader = titan.Client(base_url=sandbox.base, api_key=created.key)
    assert isinstance(reader.sessions.list().data, list)


def test_sessions_lifecycle_and_typed_results(client: titan.Client) -> None:
    session = client.sessions.create(name="lifecycle", config={"historySync": False})
    assert isinstance(session, titan.types.Session)
    assert (session.name, session.status, session.config.history_sync) == ("lifecycle", "DISCONNECTED", False)
    assert session.to_dict()["name"] == "lifecycle" and "createdAt" in session.to_dict()
    updated = client.sessions.update("lifecycle", proxy="socks5://127.0.0.1:1080")
    assert updated.proxy == "socks5://127.0.0.1:1080"
    assert client.sessions.update("lifecycle", proxy="").proxy is None  # "" removes it
    assert client.sessions.update("lifecycle").proxy is None  # nothing given: nothing changes
    client.sessions.delete("lifecycle")
    with pytest.raises(titan.NotFoundError):
        client.sessions.get("lifecycle")


def test_list_walks_every_page(client: titan.Client) -> None:
    names = {f"page-{i}" for i in range(5)}
    for name in sorted(names):
        client.sessions.create(name=name)
    first = client.sessions.list(limit=2)
    assert len(first.data) == 2 and first.has_next_page()
    pages = list(first.iter_pages())
    assert len(pages) >= 3 and not pages[-1].has_next_page()
    walked = [session.name for session in client.sessions.list(limit=2)]
    assert names <= set(walked)
    assert len(walked) == len(set(walked)) == sum(len(page.data) for page in pages)
    assert first.get_next_page().data[0].name == pages[1].data[0].name


def test_linked_sessions_exchange_messages(client: titan.Client, linked: Tuple[str, str]) -> None:
    alice, bob = linked
    assert client.sessions.get(alice).phone_number == f"+{ALICE[1]}"
    sent = client.messages.send(session=alice, chat_id=f"{BOB[1]}@s.whatsapp.net", type="text", text="hello from python")
    assert sent.from_me and sent.type == "text" and sent.status in ("pending", "sent", "delivered")

    def received() -> List[titan.types.Message]:
        page = client.messages.list(bob, f"{ALICE[1]}@s.whatsapp.net", limit=50)
        return [m for m in page if m.text == "hello from python"]

    [inbound] = wait_for("bob to receive the message", received)
    assert inbound.id == sent.id and not inbound.from_me
    reply = client.sessions.send_message(bob, chat_id=f"{ALICE[1]}@s.whatsapp.net", type="text", text="hi alice", quoted_message_id=inbound.id)
    assert reply.quoted_message_id == inbound.id
    wait_for("alice's message to be delivered", lambda: any(
        m.id == sent.id and m.status in ("delivered", "read") for m in client.messages.list(alice, f"{BOB[1]}@s.whatsapp.net")
    ))


FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures" / "media"


def test_an_image_sent_from_bytes_downloads_back_identical(client: titan.Client, linked: Tuple[str, str]) -> None:
    alice, bob = linked
    photo = (FIXTURES / "photo.jpg").read_bytes()
    sent = client.messages.send(session=alice, chat_id=f"{BOB[1]}@s.whatsapp.net", type="image", base64=photo, caption="from bytes")
    assert (sent.type, sent.mime_type, sent.file_length, sent.caption) == ("image", "image/jpeg", len(photo), "from bytes")

    def received() -> List[titan.types.Message]:
        page = client.messages.list(bob, f"{ALICE[1]}@s.whatsapp.net", limit=50)
        return [m for m in page if m.id == sent.id]

    [inbound] = wait_for("bob to receive the picture", received)
    assert inbound.media_id is not None and inbound.media_id != sent.media_id
    described = client.media.get(bob, inbound.media_id)
    assert (described.message_id, described.width, described.height) == (sent.id, 640, 480)
    downloaded = client.media.download(bob, inbound.media_id)
    assert isinstance(downloaded, bytes) and downloaded == photo
    with pytest.raises(titan.BadRequestError, match="needs a WebP picture"):
        client.messages.send(session=alice, chat_id=f"{BOB[1]}@s.whatsapp.net", type="sticker", base64=photo)


def test_deferred_commands_answer_accepted(client: titan.Client, linked: Tuple[str, str]) -> None:
    accepted = client.sessions.start_deferred(linked[0])
    assert accepted.correlation_id and accepted.request_id


def test_each_error_status_raises_its_class(sandbox: Server, client: titan.Client) -> None:
    with pytest.raises(titan.BadRequestError) as bad:
        client.sessions.create(name="not a valid name!")
    assert bad.value.status_code == 400 and bad.value.error and bad.value.docs.startswith("http")
    assert bad.value.request_id and bad.value.body["error"] == bad.value.error

    with pytest.raises(titan.AuthenticationError) as unauthenticated:
        titan.Client(base_url=sandbox.base, api_key="titan_not-a-key").sessions.list()
    assert unauthenticated.value.status_code == 401

    limited = client.account.keys.create(label="read-only", scopes=["sessions:read"])
    with pytest.raises(titan.PermissionDeniedError) as denied:
        titan.Client(base_url=sandbox.base, api_key=limited.key).sessions.create(name="forbidden")
    assert denied.value.status_code == 403 and "sessions:manage" in denied.value.error

    with pytest.raises(titan.NotFoundError) as missing:
        client.sessions.get("no-such-session")
    assert missing.value.status_code == 404

    client.sessions.create(name="twice")
    with pytest.raises(titan.ConflictError) as conflict:
        client.with_options(max_retries=0).sessions.create(name="twice")
    assert conflict.value.status_code == 409
    for error in (bad, unauthenticated, denied, missing, conflict):
        assert isinstance(error.value, titan.APIStatusError) and isinstance(error.value, titan.APIError)


def test_server_errors_raise_internal_server_error(server: str) -> None:
    """A pair code needs WhatsApp, which this server cannot reach: Titan answers 502 (after
    waiting 15 s for a connection). The sync and async clients ask at the same time."""
    key = titan.Client(base_url=server, api_key=MASTER).admin.keys.create(label="5xx", scopes=["*"]).key
    client = titan.Client(base_url=server, api_key=key, max_retries=0)
    client.sessions.create(name="offline", start=True)
    failures: List[BaseException] = []

    def sync_call() -> None:
        try:
            client.pairing.request_code("offline", phone_number="+15550009999")
        except titan.InternalServerError as error:
            failures.append(error)

    async def async_call() -> titan.InternalServerError:
        async_client = titan.AsyncClient(base_url=server, api_key=key, max_retries=0)
        with pytest.raises(titan.InternalServerError) as failed:
            await async_client.pairing.request_code("offline", phone_number="+15550009999")
        return failed.value

    worker = threading.Thread(target=sync_call)
    worker.start()
    async_failure = asyncio.run(async_call())
    worker.join()
    for failure in [*failures, async_failure]:
        assert isinstance(failure, titan.InternalServerError)
        assert failure.status_code == 502 and "WhatsApp" in failure.error
    assert len(failures) == 1


def test_connection_failures_and_timeouts(silent: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(titan.APIConnectionError) as refused:
        titan.Client(base_url=f"http://127.0.0.1:{closed}", api_key="k", max_retries=0).health.live()
    assert not isinstance(refused.value, titan.APITimeoutError)
    with pytest.raises(titan.APITimeoutError):
        titan.Client(base_url=silent, api_key="k", timeout=0.3, max_retries=0).health.live()


def test_rate_limited_calls_are_retried_after_retry_after(tmp_path: pathlib.Path) -> None:
    limited = Server(tmp_path, env={"TITAN_RATE_LIMIT": "3", "TITAN_RATE_LIMIT_WINDOW_SECS": "2"})
    try:
        key = titan.Client(base_url=limited.base, api_key=MASTER).admin.keys.create(label="rl", scopes=["*"]).key
        impatient = titan.Client(base_url=limited.base, api_key=key, max_retries=0)
        with pytest.raises(titan.RateLimitError) as limited_error:
            for _ in range(10):
                impatient.sessions.list()
        assert limited_error.value.status_code == 429
        assert int(limited_error.value.headers["retry-after"]) >= 1

        patient = titan.Client(base_url=limited.base, api_key=key, max_retries=3)
        for _ in range(6):  # twice the window's allowance: only the retries get these through
            assert patient.sessions.list().data == []
    finally:
        limited.stop()


def test_event_stream_yields_live_events(client: titan.Client) -> None:
    done = threading.Event()

    def make_events() -> None:
        for i in range(100):
            if done.wait(0.3):
                return
            client.sessions.create(name=f"sse-sync-{i}")

    threading.Thread(target=make_events, daemon=True).start()
    try:
        for event in client.events.stream(events="session.status"):
            if event.session.startswith("sse-sync-"):
                assert event.event == "session.status" and event.id.startswith("evt_")
                assert isinstance(event, titan.types.SessionStatusEvent) and event.payload.status == "DISCONNECTED"
                break
    finally:
        done.set()


def test_webhook_delivery_verifies(client: titan.Client, receiver: Tuple[str, "queue.Queue[Tuple[Dict[str, str], bytes]]"]) -> None:
    url, received = receiver
    hook = client.webhooks.create(url=url, events=["session.status"], session="hooked")
    assert hook.hmac_key
    client.sessions.create(name="hooked")
    headers, body = received.get(timeout=30)
    titan.webhooks.verify(body, headers, hook.hmac_key)
    event = titan.webhooks.unwrap(body, headers, hook.hmac_key)
    assert (event.event, event.session) == ("session.status", "hooked")
    assert isinstance(event, titan.types.SessionStatusEvent), type(event)
    assert event.payload.status == json.loads(body)["payload"]["status"]
    with pytest.raises(titan.InvalidWebhookSignatureError):
        titan.webhooks.verify(body + b" ", headers, hook.hmac_key)
    with pytest.raises(titan.InvalidWebhookSignatureError):
        titan.webhooks.verify(body, headers, "whsec_" + "A" * 32)
    legacy = {k: v for k, v in headers.items() if not k.lower().startswith("webhook-")}
    titan.webhooks.verify(body, legacy, hook.hmac_key)  # the X-Webhook-Signature scheme alone
    deliveries = list(client.webhooks.deliveries.list(hook.id))
    assert deliveries and deliveries[0].event == "session.status"
    assert json.loads(body)["id"] == event.id


def test_numbers_lids_and_the_profile(client: titan.Client, linked: Tuple[str, str]) -> None:
    alice, bob = linked
    checked = client.contacts.check(alice, phone_numbers=[f"+{BOB[1]}", "15550000999"])
    assert [(c.phone_number, c.on_whatsapp) for c in checked] == [(f"+{BOB[1]}", True), ("+15550000999", False)]
    lid = checked[0].lid
    assert lid is not None and lid.endswith("@lid")
    assert client.lids.by_phone_number(alice, BOB[1]).lid == lid
    assert client.lids.phone_number(alice, lid).phone_number == f"+{BOB[1]}"
    contact = client.contacts.get(alice, f"{BOB[1]}@s.whatsapp.net")
    assert (contact.phone_number, contact.lid) == (f"+{BOB[1]}", lid)
    with pytest.raises(titan.NotFoundError):
        client.lids.by_phone_number(alice, "15550000999")
    with pytest.raises(titan.BadRequestError):
        client.contacts.check(alice, phone_numbers=["not a number"])
    client.profile.set_status(bob, value="From Python")
    profile = client.profile.get(bob)
    assert (profile.phone_number, profile.lid, profile.about) == (f"+{BOB[1]}", lid, "From Python")


def test_a_group_is_created_grown_and_left(client: titan.Client, linked: Tuple[str, str]) -> None:
    alice, bob = linked
    bob_jid = f"{BOB[1]}@s.whatsapp.net"
    group = client.groups.create(alice, name="Python group", participants=[bob_jid])
    assert group.name == "Python group" and group.id.endswith("@g.us")
    assert {(p.phone_number, p.is_super_admin) for p in group.participants} == {(f"+{ALICE[1]}", True), (f"+{BOB[1]}", False)}
    assert [r.status for r in client.groups.participants.remove(alice, group.id, participants=[bob_jid])] == ["removed"]
    assert [r.status for r in client.groups.participants.add(alice, group.id, participants=[bob_jid])] == ["added"]
    assert [r.status for r in client.groups.participants.promote(alice, group.id, participants=[bob_jid])] == ["promoted"]
    admins = {p.phone_number for p in client.groups.participants.list(bob, group.id) if p.is_admin}
    assert admins == {f"+{ALICE[1]}", f"+{BOB[1]}"}
    invite = client.groups.invite.get(alice, group.id)
    assert invite.link == f"https://chat.whatsapp.com/{invite.code}"
    assert client.groups.preview_invite(bob, invite_code=invite.code).id == group.id
    client.groups.leave(bob, group.id)
    assert group.id not in [g.id for g in client.groups.list(bob)]
    with pytest.raises((titan.NotFoundError, titan.PermissionDeniedError)):
        client.groups.get(bob, group.id)


def test_chats_and_contacts_are_listed_and_changed(client: titan.Client, linked: Tuple[str, str]) -> None:
    alice, bob = linked
    bob_jid = f"{BOB[1]}@s.whatsapp.net"
    sent = client.sessions.send_message(bob, chat_id=f"{ALICE[1]}@s.whatsapp.net", type="text", text="chat from python")

    def bob_chat() -> List[titan.types.Chat]:
        return [c for c in client.chats.list(alice) if c.id == bob_jid and c.last_message and c.last_message.id == sent.id]

    [chat] = wait_for("bob's chat with his message", bob_chat)
    assert chat.unread_count >= 1 and not chat.archived and not chat.is_group
    assert f"+{BOB[1]}" in [c.phone_number for c in client.contacts.list(alice)]
    client.chats.archive(alice, bob_jid)
    client.chats.mute(alice, bob_jid, duration=3600)
    client.messages.star(alice, chat_id=bob_jid, message_id=sent.id, star=True)
    client.chats.read(alice, bob_jid)
    chat = client.chats.get(alice, bob_jid)
    assert (chat.archived, chat.muted, chat.unread_count) == (True, True, 0)
    assert [m.starred for m in client.messages.list(alice, bob_jid) if m.id == sent.id] == [True]
    assert bob_jid in [c.id for c in client.chats.list(alice, archived=True)]
    client.chats.unarchive(alice, bob_jid)
    client.chats.unmute(alice, bob_jid)
    assert not client.chats.get(alice, bob_jid).archived
    with pytest.raises(titan.NotFoundError):
        client.chats.get(alice, "15550000999@s.whatsapp.net")
    with pytest.raises(titan.BadRequestError):
        client.chats.mute(alice, bob_jid, duration=0)


def test_labels_are_created_put_on_chats_and_deleted(client: titan.Client, linked: Tuple[str, str]) -> None:
    alice, bob = linked
    bob_jid = f"{BOB[1]}@s.whatsapp.net"
    label = client.labels.create(alice, name="Python label", color=2)
    assert (label.name, label.color, label.chat_ids) == ("Python label", 2, [])
    assert client.labels.add_chats(alice, label.id, chat_ids=[bob_jid]).chat_ids == [bob_jid]
    assert client.labels.update(alice, label.id, name="Renamed").name == "Renamed"
    assert [(l.name, l.chat_ids) for l in client.labels.list(alice) if l.id == label.id] == [("Renamed", [bob_jid])]
    assert client.labels.remove_chats(alice, label.id, chat_ids=[bob_jid]).chat_ids == []
    client.labels.delete(alice, label.id)
    assert label.id not in [l.id for l in client.labels.list(alice)]
    with pytest.raises(titan.NotFoundError):
        client.labels.delete(alice, label.id)
    with pytest.raises(titan.BadRequestError):
        client.labels.create(alice, name="x", color=20)


def test_client_tokens_reach_only_what_their_rules_allow(client: titan.Client, sandbox: Server, linked: Tuple[str, str]) -> None:
    alice, _ = linked
    bob_jid = f"{BOB[1]}@s.whatsapp.net"
    rules = client.client_tokens.set_rules(
        alice, recipient_mode="any", allowed_actions="read_contact,send_message", rate_limit=0, max_daily=0
    )
    assert (rules.allowed_actions, rules.enabled) == ("send_message,read_contact", True)
    assert client.client_tokens.get_rules(alice).allowed_actions == "send_message,read_contact"
    minted = client.client_tokens.create(session=alice, ephemeral_id="python-visitor", ttl_seconds=120)
    assert minted.token.startswith("titan_ct_") and minted.ephemeral_id == "python-visitor"
    browser = titan.Client(base_url=sandbox.base, api_key=minted.token)
    sent = browser.sessions.send_message(alice, chat_id=bob_jid, type="text", text="from a python client token")
    assert sent.from_me and sent.text == "from a python client token"
    assert any(c.phone_number == f"+{BOB[1]}" for c in browser.contacts.list(alice))
    with pytest.raises(titan.PermissionDeniedError):
        browser.sessions.list()
    with pytest.raises(titan.PermissionDeniedError):
        browser.messages.typing(alice, chat_id=bob_jid, state="composing")
    client.client_tokens.delete_rules(alice)
    with pytest.raises(titan.PermissionDeniedError):
        list(browser.contacts.list(alice))
    with pytest.raises(titan.ConflictError):
        client.client_tokens.create(session=alice, ephemeral_id="python-visitor")


def test_a_status_reaches_the_recipients_it_names(client: titan.Client, sandbox: Server, linked: Tuple[str, str]) -> None:
    alice, bob = linked
    bob_jid = f"{BOB[1]}@s.whatsapp.net"
    posted = client.messages.send(
        session=alice, chat_id="status@broadcast", type="text", text="python status",
        background_color="#336699", font="system_bold", recipients=[bob_jid],
    )
    assert (posted.chat_id, posted.type, posted.status) == ("status@broadcast", "text", "sent")

    def seen() -> List[titan.types.Message]:
        return [m for m in client.messages.list(bob, "status@broadcast") if m.id == posted.id]

    [status] = wait_for("bob to see alice's status", seen)
    assert (status.text, status.from_me) == ("python status", False)
    assert not any(c.id == "status@broadcast" for c in client.chats.list(bob))
    client.messages.delete(alice, chat_id="status@broadcast", message_id=posted.id, for_everyone=True)
    wait_for("the status to be deleted for bob", lambda: [m for m in seen() if m.type == "revoke"])
    messages_only = client.account.keys.create(label="no status", scopes=["messages:write"])
    limited = titan.Client(base_url=sandbox.base, api_key=messages_only.key)
    with pytest.raises(titan.PermissionDeniedError, match="status:write"):
        limited.messages.send(session=alice, chat_id="status@broadcast", type="text", text="x", recipients=[bob_jid])
    with pytest.raises(titan.BadRequestError, match="for status posts"):
        client.messages.send(session=alice, chat_id=bob_jid, type="text", text="x", recipients=[bob_jid])


def test_a_channel_post_reaches_its_follower(client: titan.Client, linked: Tuple[str, str]) -> None:
    alice, bob = linked
    created = client.channels.create(alice, name="Python channel", description="From the SDK")
    assert (created.role, created.subscriber_count) == ("owner", 0) and created.id.endswith("@newsletter")
    assert client.channels.get_by_invite(bob, created.invite_code).id == created.id
    assert client.channels.follow(bob, created.id).role == "subscriber"
    assert [c.id for c in client.channels.list(bob)] == [created.id]
    post = client.messages.send(session=alice, chat_id=created.id, type="text", text="python channel post")

    def seen() -> List[titan.types.Message]:
        return [m for m in client.messages.list(bob, created.id) if m.id == post.id]

    [received] = wait_for("bob to receive the channel post", seen)
    assert (received.text, received.from_me) == ("python channel post", False)
    with pytest.raises(titan.PermissionDeniedError, match="owner"):
        client.messages.send(session=bob, chat_id=created.id, type="text", text="not mine")
    client.channels.unfollow(bob, created.id)
    client.channels.delete(alice, created.id)
    with pytest.raises(titan.NotFoundError):
        client.channels.get(alice, created.id)
