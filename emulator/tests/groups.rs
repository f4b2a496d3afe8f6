//! A three-member group between real whatsapp-rust clients: creation, a message from A reaching
//! B and C, membership notifications, an admin-only setting, and joining by invite code.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{Companion, jid, pair, text};
use wa_emulator::Emulator;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::stanza::groups::GroupNotificationAction;
use whatsapp_rust::{GroupCreateOptions, GroupParticipantOptions, Jid, JoinGroupResult};

/// The next group message with text `body`: its chat and its sender's phone number.
async fn group_text(companion: &mut Companion, body: &str) -> (Jid, String) {
    companion
        .wait_for("a group message", |e| match e {
            Event::Messages(batch) => batch.messages.iter().find_map(|m| {
                (m.message.conversation.as_deref() == Some(body) && m.info.source.is_group)
                    .then(|| (m.info.source.chat.clone(), m.info.source.sender.user.to_string()))
            }),
            _ => None,
        })
        .await
}

/// The next `w:gp2` change of `group` that `pick` accepts.
async fn group_update<T>(
    companion: &mut Companion,
    group: &Jid,
    what: &str,
    mut pick: impl FnMut(&GroupNotificationAction) -> Option<T>,
) -> T {
    companion
        .wait_for(what, |e| match e {
            Event::GroupUpdate(update) if update.group_jid == *group => pick(&update.action),
            _ => None,
        })
        .await
}

fn phones(participants: &[whatsapp_rust::wacore::stanza::groups::GroupParticipantInfo]) -> Vec<String> {
    participants.iter().map(|p| p.jid.user.to_string()).collect()
}

#[tokio::test]
async fn a_three_member_group_from_creation_to_invite_join() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (a, b, c) = ("15550000101", "15550000102", "15550000103");
    let (mut alice, alice_device) = pair(&emulator, a, "alice").await;
    let (mut bob, bob_device) = pair(&emulator, b, "bob").await;
    let (mut carol, carol_device) = pair(&emulator, c, "carol").await;
    for (phone, device) in [(a, alice_device), (b, bob_device), (c, carol_device)] {
        emulator.wait_for_prekeys(phone, device).await;
    }

    let options = GroupCreateOptions::builder()
        .subject("Weekend trip")
        .participants(vec![
            GroupParticipantOptions::new(jid(b)),
            GroupParticipantOptions::new(jid(c)),
        ])
        .build();
    let created = alice.handle.client().groups().create_group(options).await.unwrap();
    let group = created.metadata.id.clone();
    assert_eq!(created.metadata.subject, "Weekend trip");
    assert_eq!(created.metadata.participants.len(), 3);
    group_update(&mut bob, &group, "the create notification", |a| {
        matches!(a, GroupNotificationAction::Create { .. }).then_some(())
    })
    .await;
    let listed = bob.handle.client().groups().get_participating().await.unwrap();
    assert_eq!(listed.get(&group).map(|g| g.subject.as_str()), Some("Weekend trip"));

    // A message from Alice reaches Bob and Carol, from the group, sent by Alice.
    alice
        .handle
        .client()
        .send_message(group.clone(), text("who brings the tent?"))
        .await
        .unwrap();
    for member in [&mut bob, &mut carol] {
        assert_eq!(
            group_text(member, "who brings the tent?").await,
            (group.clone(), a.to_owned())
        );
    }

    // Membership changes reach the members as notifications.
    let clients = alice.handle.client();
    let groups = clients.groups();
    let promoted = groups.promote_participants(group.clone(), &[jid(b)]).await.unwrap();
    assert!(promoted.iter().all(|p| p.is_ok()));
    let who = group_update(&mut bob, &group, "promote", |a| match a {
        GroupNotificationAction::Promote { participants } => Some(phones(participants)),
        _ => None,
    })
    .await;
    assert_eq!(who, vec![b.to_owned()]);
    let removed = groups.remove_participants(group.clone(), &[jid(c)]).await.unwrap();
    assert!(removed.iter().all(|p| p.is_ok()));
    let who = group_update(&mut bob, &group, "remove", |a| match a {
        GroupNotificationAction::Remove { participants, .. } => Some(phones(participants)),
        _ => None,
    })
    .await;
    assert_eq!(who, vec![c.to_owned()]);
    group_update(&mut carol, &group, "her own removal", |a| {
        matches!(a, GroupNotificationAction::Remove { .. }).then_some(())
    })
    .await;
    let again = groups.remove_participants(group.clone(), &[jid(c)]).await.unwrap();
    assert!(!again[0].is_ok(), "removing a non-member reports an error");
    let added = groups.add_participants(group.clone(), &[jid(c)]).await.unwrap();
    assert!(added.iter().all(|p| p.is_ok()));
    let who = group_update(&mut bob, &group, "add", |a| match a {
        GroupNotificationAction::Add { participants, .. } => Some(phones(participants)),
        _ => None,
    })
    .await;
    assert_eq!(who, vec![c.to_owned()]);

    // Only admins may change settings: Carol (a member) is refused, Bob (an admin) is not.
    assert!(
        carol
            .handle
            .client()
            .groups()
            .set_announce(group.clone(), true)
            .await
            .is_err()
    );
    bob.handle
        .client()
        .groups()
        .set_subject(&group, whatsapp_rust::GroupSubject::new("Trip").unwrap())
        .await
        .unwrap();
    let subject = group_update(&mut alice, &group, "subject", |a| match a {
        GroupNotificationAction::Subject { subject, .. } => Some(subject.clone()),
        _ => None,
    })
    .await;
    assert_eq!(subject, "Trip");

    // The group picture, set by an admin, is what members get.
    let picture = groups
        .set_profile_picture(group.clone(), b"group jpeg".to_vec())
        .await
        .unwrap();
    let seen = carol
        .handle
        .client()
        .contacts()
        .get_profile_picture(&group, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.id, picture.id);
    bob.wait_for("the picture notification", |e| {
        matches!(e, Event::PictureUpdate(p) if p.jid == group).then_some(())
    })
    .await;

    // Carol leaves, then joins again with the invite link; the others hear the join.
    carol.handle.client().groups().leave(group.clone()).await.unwrap();
    group_update(&mut alice, &group, "leave", |a| {
        matches!(a, GroupNotificationAction::Remove { .. }).then_some(())
    })
    .await;
    let link = groups.get_invite_link(group.clone(), false).await.unwrap();
    let code = link.rsplit('/').next().unwrap().to_owned();
    let info = carol.handle.client().groups().get_invite_info(&code).await.unwrap();
    assert_eq!(info.subject, "Trip");
    let joined = carol
        .handle
        .client()
        .groups()
        .join_with_invite_code(&code)
        .await
        .unwrap();
    assert!(matches!(joined, JoinGroupResult::Joined(ref j) if *j == group));
    let reason = group_update(&mut alice, &group, "join by invite", |a| match a {
        GroupNotificationAction::Add { reason, participants } => Some((reason.clone(), phones(participants))),
        _ => None,
    })
    .await;
    assert_eq!(reason, (Some("invite".to_owned()), vec![c.to_owned()]));
    assert!(
        carol
            .handle
            .client()
            .groups()
            .join_with_invite_code("not-a-code")
            .await
            .is_err(),
        "an unknown code joins nothing"
    );

    // After the changes, a message from Bob reaches Alice and the rejoined Carol.
    bob.handle
        .client()
        .send_message(group.clone(), text("I do"))
        .await
        .unwrap();
    for member in [&mut alice, &mut carol] {
        assert_eq!(group_text(member, "I do").await, (group.clone(), b.to_owned()));
    }
    for companion in [alice, bob, carol] {
        companion.handle.shutdown().await;
    }
    emulator.stop().await.unwrap();
}
