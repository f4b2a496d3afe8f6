"""titan.AsyncClient on the same scenarios as the blocking client (test_sdk_sync.py): keys,
sessions, messages between linked sessions, paging with `async for`, each exception, retries
after a real 429, and SSE events."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any, Coroutine, List, Tuple, TypeVar

import pytest
import titan
from conftest import ALICE, BOB
from titan_server import MASTER, Server

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def eventually(what: str, check: Any, timeout: float = 30.0) -> Any:
    async def poll() -> Any:
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)

    try:
        return await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def test_async_keys_and_sessions(sandbox: Server, api_key: str) -> None:
    async def scenario() -> None:
        admin = titan.AsyncClient(base_url=sandbox.base, api_key=MASTER)
        created = await admin.admin.keys.create(label="async-reader", scopes=["sessions:read"])
        assert created.key.startswith("titan_")
        async with titan.AsyncClient(base_url=sandbox.base, api_key=api_key) as client:
            mine = await client.account.keys.create(label="async-made", scopes=["messages:write"])
            assert mine.id in [key.id async for key in client.account.keys.list()]
            assert (await client.account.keys.update(mine.id, label="renamed")).label == "renamed"
            await client.account.keys.delete(mine.id)

            session = await client.sessions.create(name="async-lifecycle")
            assert isinstance(session, titan.types.Session) and session.status == "DISCONNECTED"
            assert (await client.sessions.get("async-lifecycle")).name == "async-lifecycle"
            await client.sessions.delete("async-lifecycle")
            with pytest.raises(titan.NotFoundError):
                await client.sessions.get("async-lifecycle")

    run(scenario())


def test_async_list_walks_every_page(sandbox: Server, api_key: str) -> None:
    async def scenario() -> None:
        client = titan.AsyncClient(base_url=sandbox.base, api_key=api_key)
        names = {f"apage-{i}" for i in range(5)}
        await asyncio.gather(*(client.sessions.create(name=name) for name in names))
        first = await client.sessions.list(limit=2)
        assert len(first.data) == 2 and first.has_next_page()
        second = await first.get_next_page()
        assert second.data[0].name != first.data[0].name
        pages = [page async for page in first.iter_pages()]
        walked = [session.name async for session in client.sessions.list(limit=2)]
        assert names <= set(walked) and len(pages) >= 3
        assert len(walked) == len(set(walked)) == sum(len(page.data) for page in pages)

    run(scenario())


def test_async_linked_sessions_exchange_messages(sandbox: Server, api_key: str, linked: Tuple[str, str]) -> None:
    alice, bob = linked

    async def scenario() -> None:
        client = titan.AsyncClient(base_url=sandbox.base, api_key=api_key)
        sent = await client.messages.send(session=bob, chat_id=f"{ALICE[1]}@s.whatsapp.net", type="text", text="async hello")
        assert sent.from_me

        async def received() -> List[titan.types.Message]:
            return [m async for m in client.messages.list(alice, f"{BOB[1]}@s.whatsapp.net") if m.text == "async hello"]

        [inbound] = await eventually("alice to receive the message", received)
        assert inbound.id == sent.id and not inbound.from_me
        seen = await client.messages.mark_seen(alice, chat_id=f"{BOB[1]}@s.whatsapp.net", message_ids=[inbound.id])
        assert seen.message_ids == [inbound.id]

        async def read() -> bool:
            history = [m async for m in client.messages.list(bob, f"{ALICE[1]}@s.whatsapp.net")]
            return any(m.id == sent.id and m.status == "read" for m in history)

        await eventually("bob's message to be read", read)

    run(scenario())


def test_async_errors_raise_the_same_classes(sandbox: Server, api_key: str) -> None:
    async def scenario() -> None:
        client = titan.AsyncClient(base_url=sandbox.base, api_key=api_key)
        with pytest.raises(titan.BadRequestError) as bad:
            await client.sessions.create(name="not a valid name!")
        assert bad.value.status_code == 400 and bad.value.docs.startswith("http") and bad.value.request_id
        with pytest.raises(titan.AuthenticationError):
            await titan.AsyncClient(base_url=sandbox.base, api_key="titan_nope").sessions.list()
        limited = await client.account.keys.create(label="async-read-only", scopes=["sessions:read"])
        with pytest.raises(titan.PermissionDeniedError):
            await titan.AsyncClient(base_url=sandbox.base, api_key=limited.key).sessions.create(name="forbidden")
        with pytest.raises(titan.NotFoundError):
            await client.sessions.get("no-such-session")
        await client.sessions.create(name="async-twice")
        with pytest.raises(titan.ConflictError):
            await client.with_options(max_retries=0).sessions.create(name="async-twice")
        with pytest.raises(titan.APIConnectionError):
            await titan.AsyncClient(base_url="http://127.0.0.1:9", api_key="k", max_retries=0).health.live()

    run(scenario())


def test_async_rate_limited_calls_are_retried(tmp_path: pathlib.Path) -> None:
    limited = Server(tmp_path, env={"TITAN_RATE_LIMIT": "3", "TITAN_RATE_LIMIT_WINDOW_SECS": "2"})

    async def scenario() -> None:
        key = (await titan.AsyncClient(base_url=limited.base, api_key=MASTER).admin.keys.create(label="rl", scopes=["*"])).key
        impatient = titan.AsyncClient(base_url=limited.base, api_key=key, max_retries=0)
        with pytest.raises(titan.RateLimitError):
            for _ in range(10):
                await impatient.sessions.list()
        patient = impatient.with_options(max_retries=3)
        for _ in range(6):
            assert (await patient.sessions.list()).data == []

    try:
        run(scenario())
    finally:
        limited.stop()


def test_async_event_stream_yields_live_events(sandbox: Server, api_key: str) -> None:
    async def scenario() -> None:
        client = titan.AsyncClient(base_url=sandbox.base, api_key=api_key)

        async def make_events() -> None:
            for i in range(100):
                await asyncio.sleep(0.3)
                await client.sessions.create(name=f"sse-async-{i}")

        maker = asyncio.ensure_future(make_events())
        try:
            async for event in client.events.stream(events="session.status"):
                if event.session.startswith("sse-async-"):
                    assert isinstance(event, titan.types.SessionStatusEvent) and event.payload.status == "DISCONNECTED"
                    break
        finally:
            maker.cancel()

    run(asyncio.wait_for(scenario(), 60))
