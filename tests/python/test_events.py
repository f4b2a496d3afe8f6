"""Envelopes become their typed event classes (generated from the document's `webhooks`), JIDRefs
become a person or a chat, and an event type newer than the SDK is kept untyped."""

from __future__ import annotations

import titan
from titan.types import ChatRef, MessageReceivedEvent, PersonRef


def envelope(event: str, payload: dict) -> dict:  # type: ignore[type-arg]
    return {"id": "evt_1", "event": event, "session": "s", "timestamp": "2026-01-01T00:00:00.000Z", "payload": payload}


def test_a_message_is_typed_down_to_its_jid_refs() -> None:
    header = {"id": "M1", "chatId": "120363025246125486@g.us", "timestamp": 1, "fromMe": False, "isGroup": True,
              "from": {"id": "120363025246125486@g.us"},
              "sender": {"phoneNumber": "+15550001111", "lid": "77@lid", "mode": "lid"}}
    event = titan.events.parse(envelope("message.received", {**header, "type": "text", "text": "hi", "unavailable": False}))
    assert isinstance(event, MessageReceivedEvent)
    assert event.payload.text == "hi" and event.payload.is_group
    assert isinstance(event.payload.from_, ChatRef) and event.payload.from_.id == "120363025246125486@g.us"
    assert isinstance(event.payload.sender, PersonRef)
    assert (event.payload.sender.phone_number, event.payload.sender.lid) == ("+15550001111", "77@lid")


def test_every_documented_type_has_its_class() -> None:
    for name in ["session.status", "message.ack", "group.participant", "command.result", "history.sync"]:
        cls = type(titan.events.parse(envelope(name, {})))
        assert cls is not titan.events.UnknownEvent and cls.__module__ == "titan.types", name


def test_an_event_type_newer_than_the_sdk_is_kept() -> None:
    event = titan.events.parse(envelope("label.created", {"labelId": "7"}))
    assert isinstance(event, titan.events.UnknownEvent)
    assert (event.event, event.payload) == ("label.created", {"labelId": "7"})
