"""A tour of the SDK, type-checked with `mypy --strict` by the test suite.

Run it against a sandbox server (`titan serve --sandbox`) with TITAN_BASE_URL and TITAN_API_KEY
set; it links nothing, so it only needs a key with every scope.
"""

from __future__ import annotations

import asyncio
from typing import List, Optional

import titan
from titan.types import Message, MessageReceivedEvent, Session, SessionStatusEvent, StatusReason


def sync_tour(client: titan.Client) -> List[str]:
    session: Session = client.sessions.create(name="tour", start=False, config={"historySync": False})
    reason: Optional[StatusReason] = session.status_reason
    print(session.name, session.status, reason, session.to_dict())
    names = [s.name for s in client.sessions.list(limit=20)]
    page = client.sessions.list(limit=1)
    if page.has_next_page():
        print("next page starts with", page.get_next_page().data[0].name)
    try:
        client.messages.send(session="tour", chat_id="15550002222@s.whatsapp.net", type="text", text="hi")
    except titan.ConflictError as error:  # the session is not connected
        print(error.status_code, error.error, error.docs, error.request_id)
    except titan.APIStatusError as error:
        print("unexpected", error.status_code)
    history: List[Message] = list(client.messages.list("tour", "15550002222@s.whatsapp.net"))
    print(len(history), "messages")
    accepted = client.sessions.stop_deferred("tour")
    print("outcome will arrive as command.result", accepted.correlation_id)
    client.sessions.delete("tour")
    return names


async def async_tour(client: titan.AsyncClient) -> int:
    count = 0
    async for session in client.sessions.list():
        count += 1 if session.status == "CONNECTED" else 0
    first = await client.sessions.list(limit=5)
    print(len(first.data), "on the first page")
    async for event in client.events.stream(events="session.status"):
        if isinstance(event, SessionStatusEvent):
            status: str = event.payload.status
            print(event.id, event.session, status, event.payload.status_reason)
        break
    return count


def handle(event: titan.Event) -> Optional[str]:
    """What a webhook receiver does with an event: the type narrows on `isinstance`."""
    if isinstance(event, MessageReceivedEvent):
        sender = event.payload.from_
        number = sender.phone_number if isinstance(sender, titan.types.PersonRef) else sender.id
        return f"{number}: {event.payload.text}"
    if isinstance(event, titan.events.UnknownEvent):
        return f"an event type newer than this SDK: {event.event}"
    return None


def verify(body: bytes, headers: dict[str, str], secret: str) -> Optional[titan.Event]:
    try:
        return titan.webhooks.unwrap(body, headers, secret)
    except titan.InvalidWebhookSignatureError:
        return None


if __name__ == "__main__":
    client = titan.Client()
    print(sync_tour(client.with_options(timeout=30.0)))
    print(asyncio.run(async_tour(titan.AsyncClient(max_retries=1))))
