//! Each event type from a constructed library event: the effect and the documented payload.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use whatsapp_rust::Jid;
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::stanza::groups::{GroupNotificationAction, GroupParticipantInfo};
use whatsapp_rust::wacore::types::call::{CallAction, IncomingCall, MissedCall, MissedReason};
use whatsapp_rust::wacore::types::events::*;
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::wacore::types::presence::{ChatPresence, ChatPresenceMedia, ReceiptType};
use whatsapp_rust::waproto::whatsapp as wa;

use super::{Effect, RingingCalls, map};
use crate::events::EventType;
use crate::model::message::MessageStatus;
use crate::store::chats::ChatChange;
use crate::store::labels::LabelChange;

const BOB: &str = "5511888888888@s.whatsapp.net";
const BOB_LID: &str = "88@lid";
const GROUP: &str = "120363025246125486@g.us";

fn jid(s: &str) -> Jid {
    s.parse().expect("a valid JID")
}

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_736_937_000, 0).expect("a valid time")
}

/// Bob's message `id` in his chat with us (`from_me` for the account's own other device).
fn info(id: &str, from_me: bool) -> MessageInfo {
    MessageInfo {
        source: MessageSource {
            chat: jid(BOB),
            sender: jid(BOB),
            is_from_me: from_me,
            ..Default::default()
        },
        id: id.into(),
        push_name: "Bob".into(),
        timestamp: at(),
        ..Default::default()
    }
}

fn message_event(info: MessageInfo, message: wa::Message) -> Event {
    let inbound = InboundMessage::builder()
        .message(Arc::new(message))
        .info(Arc::new(info))
        .build();
    Event::Messages(
        MessageBatch::builder()
            .messages(vec![inbound].into())
            .origin(BatchOrigin::Live)
            .build(),
    )
}

fn effects(event: &Event) -> Vec<Effect> {
    map(event, &mut RingingCalls::default())
}

/// The only event `event` maps to, with its type.
fn only_event(event: &Event) -> (EventType, Value) {
    let effects = effects(event);
    assert_eq!(effects.len(), 1, "{effects:?}");
    match effects.into_iter().next() {
        Some(Effect::Event(e)) => (e.kind(), e.payload.to_value()),
        other => panic!("expected a plain event, got {other:?}"),
    }
}

/// The one presence `event` reports: the chat it is kept under, and its `presence.update` payload.
fn only_presence(event: &Event) -> (String, Value) {
    let effects = effects(event);
    assert_eq!(effects.len(), 1, "{effects:?}");
    match effects.into_iter().next() {
        Some(Effect::Presence { chat_id, payload }) => (chat_id, serde_json::to_value(*payload).unwrap()),
        other => panic!("expected a presence, got {other:?}"),
    }
}

fn text(s: &str) -> wa::Message {
    wa::Message {
        conversation: Some(s.into()),
        ..Default::default()
    }
}

fn key(id: &str, from_me: bool) -> MessageField<wa::MessageKey> {
    MessageField::some(wa::MessageKey {
        remote_jid: Some(BOB.into()),
        from_me: Some(from_me),
        id: Some(id.into()),
        participant: None,
    })
}

#[test]
fn a_text_is_stored_and_received() {
    let stored = effects(&message_event(info("M1", false), text("Hello!")));
    let [Effect::Store(record, events)] = stored.as_slice() else {
        panic!("{stored:?}")
    };
    assert_eq!((record.kind.as_str(), record.text.as_deref()), ("text", Some("Hello!")));
    assert_eq!(record.status, MessageStatus::Delivered);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind(), EventType::MessageReceived);
    let p = &events[0].payload.to_value();
    assert_eq!(p["id"], "M1");
    assert_eq!(p["text"], "Hello!");
    assert_eq!(p["body"], "Hello!");
    assert_eq!(p["fromMe"], false);
    assert_eq!(p["isGroup"], false);
    assert_eq!(p["pushName"], "Bob");
    assert_eq!(p["timestamp"], 1_736_937_000);
    assert_eq!(
        p["from"],
        json!({"phoneNumber": "+5511888888888", "lid": null, "mode": "pn"})
    );
}

#[test]
fn the_accounts_other_device_sends() {
    let stored = effects(&message_event(info("M2", true), text("from my phone")));
    let [Effect::Store(record, events)] = stored.as_slice() else {
        panic!("{stored:?}")
    };
    assert!(record.from_me);
    assert_eq!(events[0].kind(), EventType::MessageSent);
}

#[test]
fn wrapped_media_keeps_its_type_and_caption() {
    let image = wa::Message {
        image_message: MessageField::some(wa::message::ImageMessage {
            caption: Some("look".into()),
            mimetype: Some("image/jpeg".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let ephemeral = wa::Message {
        ephemeral_message: MessageField::some(wa::message::FutureProofMessage {
            message: MessageField::some(image),
        }),
        ..Default::default()
    };
    let stored = effects(&message_event(info("M3", false), ephemeral));
    let [Effect::Store(record, _)] = stored.as_slice() else {
        panic!("{stored:?}")
    };
    assert_eq!((record.kind.as_str(), record.text.as_deref()), ("image", Some("look")));
}

#[test]
fn a_reaction_is_received_and_announced() {
    let reaction = wa::Message {
        reaction_message: MessageField::some(wa::message::ReactionMessage {
            key: key("M1", true),
            text: Some("👍".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let stored = effects(&message_event(info("R1", false), reaction));
    let [Effect::Store(record, events)] = stored.as_slice() else {
        panic!("{stored:?}")
    };
    assert_eq!(record.kind, "reaction");
    let kinds: Vec<_> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, [EventType::MessageReceived, EventType::MessageReaction]);
    let p = &events[1].payload.to_value();
    assert_eq!((p["id"].as_str(), p["type"].as_str()), (Some("R1"), Some("reaction")));
    assert_eq!(
        (p["reaction"].as_str(), p["reactionTo"].as_str()),
        (Some("👍"), Some("M1"))
    );
}

fn protocol(kind: wa::message::protocol_message::Type, target: &str, edited: Option<wa::Message>) -> wa::Message {
    wa::Message {
        protocol_message: MessageField::some(wa::message::ProtocolMessage {
            key: key(target, false),
            r#type: Some(kind),
            edited_message: edited.map(MessageField::some).unwrap_or_default(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn revokes_and_edits_change_the_stored_message() {
    use wa::message::protocol_message::Type;

    let revoked = effects(&message_event(info("X1", false), protocol(Type::Revoke, "M1", None)));
    let [Effect::Revoke { id, event }] = revoked.as_slice() else {
        panic!("{revoked:?}")
    };
    assert_eq!(id, "M1");
    assert_eq!(event.kind(), EventType::MessageRevoked);
    assert_eq!(event.payload.to_value()["revokedId"], "M1");
    assert_eq!(event.payload.to_value()["id"], "X1");
    assert_eq!(event.payload.to_value()["type"], "revoke");

    let own = effects(&message_event(info("X2", true), protocol(Type::Revoke, "M2", None)));
    let [Effect::Revoke { event, .. }] = own.as_slice() else {
        panic!("{own:?}")
    };
    assert_eq!(event.kind(), EventType::MessageDelete);
    assert_eq!(
        (
            event.payload.to_value()["id"].as_str(),
            event.payload.to_value()["forEveryone"].as_bool()
        ),
        (Some("M2"), Some(true))
    );

    let edit = protocol(Type::MessageEdit, "M1", Some(text("Hello, updated!")));
    let edited = effects(&message_event(info("X3", false), edit));
    let [Effect::Edit { id, text, event }] = edited.as_slice() else {
        panic!("{edited:?}")
    };
    assert_eq!((id.as_str(), text.as_deref()), ("M1", Some("Hello, updated!")));
    assert_eq!(event.kind(), EventType::MessageEdited);
    assert_eq!(event.payload.to_value()["text"], "Hello, updated!");
    assert_eq!(event.payload.to_value()["edited"], true);
    assert_eq!(event.payload.to_value()["type"], "edited");

    let key_share = protocol(Type::AppStateSyncKeyShare, "K", None);
    assert!(effects(&message_event(info("X4", false), key_share)).is_empty());
}

#[test]
fn a_poll_is_stored_with_its_secret_and_a_vote_on_it_opens() {
    let creation = wa::message::PollCreationMessage {
        name: Some("Favorite color?".into()),
        options: ["Blue", "Green"]
            .map(|name| wa::message::poll_creation_message::Option {
                option_name: Some(name.into()),
                ..Default::default()
            })
            .into(),
        selectable_options_count: Some(1),
        ..Default::default()
    };
    let poll_message = wa::Message {
        poll_creation_message_v3: MessageField::some(creation),
        message_context_info: MessageField::some(wa::MessageContextInfo {
            message_secret: Some(vec![5; 32]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let stored = effects(&message_event(info("P1", false), poll_message));
    let [Effect::Store(record, events)] = stored.as_slice() else {
        panic!("{stored:?}")
    };
    let poll = record.poll.clone().expect("the poll is kept");
    assert_eq!(
        (record.kind.as_str(), record.text.as_deref()),
        ("poll", Some("Favorite color?"))
    );
    assert_eq!(poll.options, ["Blue", "Green"]);
    assert_eq!(poll.creators, [BOB]);
    assert_eq!(events[0].payload.to_value()["pollOptions"], json!(["Blue", "Green"]));

    // We vote from another device of ours: the vote is keyed by Bob as creator and us as voter.
    let picked = [whatsapp_rust::wacore::poll::compute_option_hash("Green").to_vec()];
    let (payload, iv) =
        whatsapp_rust::wacore::poll::encrypt_poll_vote_with_secret(&picked, &[5; 32], "P1", BOB, BOB).expect("encrypt");
    let vote = wa::Message {
        poll_update_message: MessageField::some(wa::message::PollUpdateMessage {
            poll_creation_message_key: key("P1", false),
            vote: MessageField::some(wa::message::PollEncValue {
                enc_payload: Some(payload),
                enc_iv: Some(iv.to_vec()),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let voted = effects(&message_event(info("V1", false), vote));
    let [Effect::Vote { poll_id, vote, payload }] = voted.as_slice() else {
        panic!("{voted:?}")
    };
    assert_eq!(poll_id, "P1");
    assert_eq!((payload.poll_id.as_str(), payload.kind.as_str()), ("P1", "poll"));
    let choices = poll.open(poll_id, vote).expect("the stored secret opens the vote");
    assert_eq!(choices[0].name.as_deref(), Some("Green"));
}

#[test]
fn an_undecryptable_message_is_received_as_unavailable() {
    let event = Event::UndecryptableMessage(
        UndecryptableMessage::builder()
            .info(Arc::new(info("U1", false)))
            .is_unavailable(true)
            .unavailable_type(UnavailableType::Unknown)
            .decrypt_fail_mode(DecryptFailMode::Show)
            .build(),
    );
    let (kind, p) = only_event(&event);
    assert_eq!(kind, EventType::MessageReceived);
    assert_eq!(
        (p["unavailable"].as_bool(), p["type"].as_str()),
        (Some(true), Some("unknown"))
    );
}

fn receipt(kind: ReceiptType) -> Event {
    Event::Receipt(
        Receipt::builder()
            .source(MessageSource {
                chat: jid(BOB),
                sender: jid(BOB),
                ..Default::default()
            })
            .message_ids(vec!["M1".into()])
            .timestamp(at())
            .r#type(kind)
            .offline(false)
            .build(),
    )
}

#[test]
fn receipts_advance_messages_or_read_the_chat() {
    let read = effects(&receipt(ReceiptType::Read));
    let [Effect::Ack { ids, status, event }] = read.as_slice() else {
        panic!("{read:?}")
    };
    assert_eq!(
        (ids.as_slice(), *status),
        (["M1".to_owned()].as_slice(), MessageStatus::Read)
    );
    assert_eq!(event.kind(), EventType::MessageAck);
    assert_eq!(event.payload.to_value()["type"], "read");
    assert_eq!(event.payload.to_value()["messageIds"], json!(["M1"]));

    let (kind, p) = only_event(&receipt(ReceiptType::ReadSelf));
    assert_eq!(kind, EventType::ChatRead);
    assert_eq!(p["id"], BOB);
    assert!(effects(&receipt(ReceiptType::PlayedSelf)).is_empty());
}

#[test]
fn presence_and_typing() {
    let online = Event::Presence(
        PresenceUpdate::builder()
            .from(jid(BOB))
            .unavailable(true)
            .last_seen(at())
            .build(),
    );
    let (chat, p) = only_presence(&online);
    assert_eq!(chat, BOB);
    assert_eq!(
        (p["state"].as_str(), p["unavailable"].as_bool()),
        (Some("unavailable"), Some(true))
    );
    assert_eq!(p["lastSeen"], 1_736_937_000);

    let recording = Event::ChatPresence(
        ChatPresenceUpdate::builder()
            .source(MessageSource {
                chat: jid(BOB_LID),
                sender: jid(BOB_LID),
                sender_alt: Some(jid(BOB)),
                ..Default::default()
            })
            .state(ChatPresence::Composing)
            .media(ChatPresenceMedia::Audio)
            .build(),
    );
    let (chat, p) = only_presence(&recording);
    assert_eq!(chat, BOB, "kept under the phone-number chat");
    assert_eq!(
        (p["state"].as_str(), p["media"].as_str()),
        (Some("composing"), Some("audio"))
    );
    assert_eq!(
        p["sender"],
        json!({"phoneNumber": "+5511888888888", "lid": BOB_LID, "mode": "lid"})
    );
}

fn group_update(action: GroupNotificationAction) -> Event {
    Event::GroupUpdate(
        GroupUpdate::builder()
            .group_jid(jid(GROUP))
            .participant(jid(BOB))
            .timestamp(at())
            .is_lid_addressing_mode(false)
            .action(action)
            .build(),
    )
}

fn member(s: &str) -> GroupParticipantInfo {
    GroupParticipantInfo {
        jid: jid(s),
        phone_number: None,
        display_name: None,
        r#type: None,
        lid: None,
        username: None,
        join_time: None,
        group_history_sent_state: None,
    }
}

#[test]
fn group_changes() {
    let added = group_update(GroupNotificationAction::Add {
        participants: vec![member("5511777777777@s.whatsapp.net")],
        reason: None,
    });
    let (kind, p) = only_event(&added);
    assert_eq!(kind, EventType::GroupParticipant);
    assert_eq!(p["id"], GROUP);
    assert_eq!(p["joined"][0]["phoneNumber"], "+5511777777777");
    assert_eq!((p["left"].clone(), p["promoted"].clone()), (json!([]), json!([])));

    let demoted = group_update(GroupNotificationAction::Demote {
        participants: vec![member(BOB)],
    });
    assert_eq!(only_event(&demoted).1["demoted"][0]["phoneNumber"], "+5511888888888");

    let renamed = group_update(GroupNotificationAction::Subject {
        subject: "New Group Name".into(),
        subject_owner: None,
        subject_time: None,
    });
    let (kind, p) = only_event(&renamed);
    assert_eq!(kind, EventType::GroupUpdate);
    assert_eq!(
        (p["newSubject"].as_str(), p["action"].clone()),
        (Some("New Group Name"), Value::Null)
    );
    assert_eq!(p["author"]["phoneNumber"], "+5511888888888");

    let described = group_update(GroupNotificationAction::Description {
        id: "d1".into(),
        description: Some("About us".into()),
    });
    assert_eq!(only_event(&described).1["newDescription"], "About us");
    assert_eq!(
        only_event(&group_update(GroupNotificationAction::Announce)).1["announce"],
        true
    );
    assert!(effects(&group_update(GroupNotificationAction::RevokeInvite)).is_empty());

    let picture = Event::PictureUpdate(
        PictureUpdate::builder()
            .jid(jid(GROUP))
            .timestamp(at())
            .removed(false)
            .picture_id("p1".to_owned())
            .build(),
    );
    let (kind, p) = only_event(&picture);
    assert_eq!((kind, p["newPicture"].as_str()), (EventType::GroupUpdate, Some("p1")));
}

fn call(action: CallAction, offline: bool) -> Event {
    Event::IncomingCall(
        IncomingCall::builder()
            .from(jid(BOB))
            .stanza_id("S1".to_owned())
            .timestamp(at())
            .offline(offline)
            .action(action)
            .build(),
    )
}

fn offer(id: &str) -> CallAction {
    CallAction::Offer {
        call_id: id.into(),
        call_creator: jid(BOB),
        caller_pn: None,
        caller_country_code: None,
        device_class: None,
        joinable: false,
        is_video: true,
        audio: vec![],
        group_jid: None,
    }
}

fn terminate(id: &str, reason: Option<&str>) -> CallAction {
    CallAction::Terminate {
        call_id: id.into(),
        call_creator: jid(BOB),
        reason: reason.map(str::to_owned),
        duration: None,
        audio_duration: None,
    }
}

fn kinds(effects: Vec<Effect>) -> Vec<EventType> {
    effects
        .into_iter()
        .map(|e| match e {
            Effect::Event(e) => e.kind(),
            other => panic!("expected a plain event, got {other:?}"),
        })
        .collect()
}

#[test]
fn calls_ring_and_end() {
    let mut calls = RingingCalls::default();
    let rang = map(&call(offer("C1"), false), &mut calls);
    let [Effect::Event(event)] = rang.as_slice() else {
        panic!("{rang:?}")
    };
    assert_eq!(event.kind(), EventType::CallReceived);
    assert_eq!(event.payload.to_value()["id"], "C1");
    assert_eq!(event.payload.to_value()["isVideo"], true);
    assert_eq!(event.payload.to_value()["from"]["phoneNumber"], "+5511888888888");
    assert_eq!(
        kinds(map(&call(terminate("C1", None), false), &mut calls)),
        [EventType::CallMissed]
    );
    // A terminate for a call that is no longer ringing is not a second missed call.
    assert!(map(&call(terminate("C1", None), false), &mut calls).is_empty());

    map(&call(offer("C2"), false), &mut calls);
    let accept = CallAction::Accept {
        call_id: "C2".into(),
        call_creator: jid(BOB),
        audio: vec![],
    };
    assert_eq!(kinds(map(&call(accept, false), &mut calls)), [EventType::CallAccepted]);
    assert!(map(&call(terminate("C2", None), false), &mut calls).is_empty());

    map(&call(offer("C3"), false), &mut calls);
    let reject = CallAction::Reject {
        call_id: "C3".into(),
        call_creator: jid(BOB),
        reason: None,
    };
    assert_eq!(kinds(map(&call(reject, false), &mut calls)), [EventType::CallRejected]);

    map(&call(offer("C4"), false), &mut calls);
    assert!(map(&call(terminate("C4", Some("accepted_elsewhere")), false), &mut calls).is_empty());

    // An offer replayed from the offline queue does not ring; the library reports it missed.
    assert!(map(&call(offer("C5"), true), &mut calls).is_empty());
    let missed = Event::MissedCall(MissedCall::new(jid(BOB), "C5".into(), at(), MissedReason::Offline));
    let (kind, p) = only_event(&missed);
    assert_eq!(
        (kind, p["id"].as_str(), p["offline"].as_bool()),
        (EventType::CallMissed, Some("C5"), Some(true))
    );
}

#[test]
fn contact_profile_changes() {
    let renamed = Event::PushNameUpdate(
        PushNameUpdate::builder()
            .jid(jid(BOB))
            .message(Box::new(info("N1", false)))
            .old_push_name("Bob".into())
            .new_push_name("Robert".into())
            .build(),
    );
    let (kind, p) = only_event(&renamed);
    assert_eq!(kind, EventType::ContactUpdate);
    assert_eq!(
        (p["change"].as_str(), p["pushName"].as_str()),
        (Some("pushName"), Some("Robert"))
    );
    assert_eq!(p["from"]["phoneNumber"], "+5511888888888");

    let updated = Event::ContactUpdated(ContactUpdated::builder().jid(jid(BOB)).timestamp(at()).build());
    assert_eq!(only_event(&updated).1["change"], "profile");

    let picture = Event::PictureUpdate(
        PictureUpdate::builder()
            .jid(jid(BOB))
            .timestamp(at())
            .removed(true)
            .build(),
    );
    let (kind, p) = only_event(&picture);
    assert_eq!(
        (kind, p["change"].as_str(), p["removed"].as_bool()),
        (EventType::ContactUpdate, Some("picture"), Some(true))
    );
    // A removed picture has no id: the key stays, as null, as it always did.
    assert_eq!(p.get("pictureId"), Some(&Value::Null));
    assert!(
        only_event(&updated).1.get("pictureId").is_none(),
        "only picture changes carry it"
    );
}

/// The chat change `event` makes: the chat, the change, and its event (`None` when it is not
/// announced).
fn only_chat_change(event: &Event) -> (String, ChatChange, Option<(EventType, Value)>) {
    let effects = effects(event);
    assert_eq!(effects.len(), 1, "{effects:?}");
    match effects.into_iter().next() {
        Some(Effect::Chat { chat_id, change, event }) => {
            (chat_id, change, event.map(|e| (e.kind(), e.payload.to_value())))
        }
        other => panic!("expected a chat change, got {other:?}"),
    }
}

#[test]
fn chat_changes_from_other_devices() {
    use wa::sync_action_value as action;

    let archive = |full: bool| {
        Event::ArchiveUpdate(
            ArchiveUpdate::builder()
                .jid(jid(BOB))
                .timestamp(at())
                .action(Box::new(action::ArchiveChatAction {
                    archived: Some(true),
                    ..Default::default()
                }))
                .from_full_sync(full)
                .build(),
        )
    };
    let (chat, change, event) = only_chat_change(&archive(false));
    assert_eq!((chat.as_str(), change), (BOB, ChatChange::Archived(true)));
    let (kind, p) = event.unwrap();
    assert_eq!(kind, EventType::ChatArchive);
    assert_eq!((p["id"].as_str(), p["archived"].as_bool()), (Some(BOB), Some(true)));
    assert_eq!(p["from"]["phoneNumber"], "+5511888888888");
    let (_, change, event) = only_chat_change(&archive(true));
    assert_eq!(
        (change, event),
        (ChatChange::Archived(true), None),
        "a full sync's replay is kept, not announced"
    );

    let mute = |end: Option<i64>, muted: bool| {
        Event::MuteUpdate(
            MuteUpdate::builder()
                .jid(jid(BOB))
                .timestamp(at())
                .action(Box::new(action::MuteAction {
                    muted: Some(muted),
                    mute_end_timestamp: end,
                    ..Default::default()
                }))
                .from_full_sync(false)
                .build(),
        )
    };
    let (_, change, event) = only_chat_change(&mute(Some(1_800_000_000_000), true));
    let (kind, p) = event.unwrap();
    assert_eq!(
        (change, kind, p["muted"].as_bool(), p["mutedUntil"].as_i64()),
        (
            ChatChange::Muted(Some(1_800_000_000)),
            EventType::ChatMute,
            Some(true),
            Some(1_800_000_000)
        ),
        "WhatsApp's milliseconds become Unix seconds"
    );
    assert_eq!(only_chat_change(&mute(Some(-1), true)).1, ChatChange::Muted(Some(-1)));
    let (_, change, event) = only_chat_change(&mute(Some(0), false));
    assert_eq!(
        (change, event.unwrap().1["muted"].as_bool()),
        (ChatChange::Muted(None), Some(false))
    );

    let pin = Event::PinUpdate(
        PinUpdate::builder()
            .jid(jid(BOB))
            .timestamp(at())
            .action(Box::new(action::PinAction { pinned: Some(true) }))
            .from_full_sync(false)
            .build(),
    );
    assert_eq!(
        only_chat_change(&pin),
        (BOB.to_owned(), ChatChange::Pinned(true), None),
        "a pin has no event type of its own"
    );

    let read = Event::MarkChatAsReadUpdate(
        MarkChatAsReadUpdate::builder()
            .jid(jid(BOB))
            .timestamp(at())
            .action(Box::new(action::MarkChatAsReadAction {
                read: Some(false),
                ..Default::default()
            }))
            .from_full_sync(false)
            .build(),
    );
    let (_, change, event) = only_chat_change(&read);
    let (kind, p) = event.unwrap();
    assert_eq!(
        (change, kind, p["read"].as_bool()),
        (ChatChange::Read(false), EventType::ChatRead, Some(false))
    );

    let clear = Event::ClearChatUpdate(
        ClearChatUpdate::builder()
            .jid(jid(BOB))
            .delete_starred(false)
            .delete_media(true)
            .timestamp(at())
            .action(Box::default())
            .from_full_sync(false)
            .build(),
    );
    let (_, change, event) = only_chat_change(&clear);
    assert_eq!(
        (change, event.unwrap().0),
        (
            ChatChange::Cleared {
                delete_starred: false,
                at: at().timestamp_millis()
            },
            EventType::ChatClear
        )
    );

    let delete = Event::DeleteChatUpdate(
        DeleteChatUpdate::builder()
            .jid(jid(BOB))
            .delete_media(false)
            .timestamp(at())
            .action(Box::default())
            .from_full_sync(false)
            .build(),
    );
    let (_, change, event) = only_chat_change(&delete);
    assert_eq!((change, event.unwrap().0), (ChatChange::Deleted, EventType::ChatDelete));

    let star = Event::StarUpdate(
        StarUpdate::builder()
            .chat_jid(jid(BOB))
            .message_id("M1".into())
            .from_me(false)
            .timestamp(at())
            .action(Box::new(action::StarAction { starred: Some(true) }))
            .from_full_sync(false)
            .build(),
    );
    match effects(&star).as_slice() {
        [
            Effect::Star {
                chat_id,
                id,
                starred: true,
                event: Some(event),
            },
        ] => {
            let p = event.payload.to_value();
            assert_eq!((chat_id.as_str(), id.as_str()), (BOB, "M1"));
            assert_eq!(
                (event.kind(), p["id"].as_str(), p["starred"].as_bool()),
                (EventType::MessageUpdate, Some("M1"), Some(true))
            );
        }
        other => panic!("expected a star, got {other:?}"),
    }

    let deleted_for_me = Event::DeleteMessageForMeUpdate(
        DeleteMessageForMeUpdate::builder()
            .chat_jid(jid(BOB))
            .message_id("M1".into())
            .from_me(false)
            .timestamp(at())
            .action(Box::default())
            .from_full_sync(false)
            .build(),
    );
    let (kind, p) = only_event(&deleted_for_me);
    assert_eq!(
        (kind, p["forEveryone"].as_bool()),
        (EventType::MessageDelete, Some(false))
    );
}

/// The label change `event` makes: the label, the change, and its event payload (`None` when
/// it is not announced).
fn only_label_change(event: &Event) -> (String, LabelChange, Option<Value>) {
    let effects = effects(event);
    assert_eq!(effects.len(), 1, "{effects:?}");
    match effects.into_iter().next() {
        Some(Effect::Label { id, change, event }) => {
            let event = event.map(|e| {
                assert_eq!(e.kind(), EventType::LabelsUpdate);
                e.payload.to_value()
            });
            (id, change, event)
        }
        other => panic!("expected a label change, got {other:?}"),
    }
}

#[test]
fn labels() {
    use wa::sync_action_value as action;

    let edit = Event::LabelEditUpdate(
        LabelEditUpdate::builder()
            .label_id("5".into())
            .timestamp(at())
            .action(Box::new(action::LabelEditAction {
                name: Some("Customers".into()),
                color: Some(3),
                ..Default::default()
            }))
            .from_full_sync(false)
            .build(),
    );
    let (id, change, p) = only_label_change(&edit);
    let p = p.unwrap();
    assert_eq!(
        (id.as_str(), change, p["name"].as_str(), p["deleted"].as_bool()),
        (
            "5",
            LabelChange::Set {
                name: "Customers".into(),
                color: 3
            },
            Some("Customers"),
            Some(false)
        )
    );

    let assigned = Event::LabelAssociationUpdate(
        LabelAssociationUpdate::builder()
            .label_id("5".into())
            .chat_jid(jid(BOB))
            .timestamp(at())
            .action(Box::new(action::LabelAssociationAction {
                labeled: Some(true),
                ..Default::default()
            }))
            .from_full_sync(false)
            .build(),
    );
    let (_, change, p) = only_label_change(&assigned);
    let p = p.unwrap();
    assert_eq!(change, LabelChange::Chat(BOB.into(), true));
    assert_eq!((p["labelId"].as_str(), p["labeled"].as_bool()), (Some("5"), Some(true)));
    assert_eq!(p["from"]["phoneNumber"], "+5511888888888");
    assert!(
        p.get("name").is_none() && p.get("color").is_none(),
        "an assignment has no label fields"
    );

    let unnamed = Event::LabelEditUpdate(
        LabelEditUpdate::builder()
            .label_id("6".into())
            .timestamp(at())
            .action(Box::new(action::LabelEditAction::default()))
            .from_full_sync(false)
            .build(),
    );
    let (_, _, p) = only_label_change(&unnamed);
    let p = p.unwrap();
    assert_eq!(
        (p.get("name"), p.get("color")),
        (Some(&Value::Null), Some(&Value::Null))
    );

    let deleted = Event::LabelEditUpdate(
        LabelEditUpdate::builder()
            .label_id("5".into())
            .timestamp(at())
            .action(Box::new(action::LabelEditAction {
                deleted: Some(true),
                ..Default::default()
            }))
            .from_full_sync(true)
            .build(),
    );
    assert_eq!(
        only_label_change(&deleted),
        ("5".into(), LabelChange::Deleted, None),
        "a full sync's replay is kept, not announced"
    );
}

#[test]
fn channels_and_history() {
    let live = Event::NewsletterLiveUpdate(
        NewsletterLiveUpdate::builder()
            .newsletter_jid(jid("120363012345678901@newsletter"))
            .messages(vec![
                NewsletterLiveUpdateMessage::builder()
                    .server_id(7)
                    .reactions(vec![
                        NewsletterLiveUpdateReaction::builder()
                            .code("❤".into())
                            .count(4)
                            .build(),
                    ])
                    .build(),
            ])
            .build(),
    );
    let (kind, p) = only_event(&live);
    assert_eq!(kind, EventType::NewsletterUpdate);
    assert_eq!(p["from"], json!({"id": "120363012345678901@newsletter"}));
    assert_eq!(p["messages"][0]["reactions"][0]["count"], 4);

    let mex = |op: &str, root: &str| {
        Event::MexNotification(
            MexNotification::builder()
                .op_name(op.into())
                .payload(json!({"data": {root: {"id": "120363012345678901@newsletter",
                    "thread_metadata": {"name": {"text": "Renamed"}, "description": {"text": "New words"}}}}}))
                .build(),
        )
    };
    for (op, root) in [
        (
            "NotificationNewsletterUpdate",
            "xwa2_notify_newsletter_on_metadata_update",
        ),
        (
            "NotificationNewsletterAdminMetadataUpdate",
            "xwa2_notify_newsletter_on_admin_metadata_update",
        ),
    ] {
        let (kind, p) = only_event(&mex(op, root));
        assert_eq!(kind, EventType::NewsletterUpdate);
        assert_eq!(
            (&p["id"], &p["name"], &p["description"], &p["messages"]),
            (
                &json!("120363012345678901@newsletter"),
                &json!("Renamed"),
                &json!("New words"),
                &json!([])
            ),
            "{op}: {p:#}"
        );
    }
    assert!(
        effects(&mex("NotificationNewsletterJoin", "xwa2_notify_newsletter_on_join")).is_empty(),
        "other MEX notifications are not announced"
    );

    let chunk = LazyHistorySync::new(
        whatsapp_rust::bytes::Bytes::from_static(b"zlib"),
        100,
        3,
        Some(1),
        Some(50),
    );
    let (kind, p) = only_event(&Event::HistorySync(Box::new(chunk)));
    assert_eq!(kind, EventType::HistorySync);
    assert_eq!(
        (p["syncType"].as_str(), p["data"].as_str()),
        (Some("RECENT"), Some("emxpYg=="))
    );
    assert_eq!((p["chunkOrder"].as_u64(), p["progress"].as_u64()), (Some(1), Some(50)));
}

#[test]
fn connection_events_are_not_mapped_here() {
    assert!(effects(&Event::Connected(Connected::builder().build())).is_empty());
}
