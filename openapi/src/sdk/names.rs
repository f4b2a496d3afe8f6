//! Where each operation lives in the Python and Node SDKs: `resource.path.method`, by
//! operationId. Names are an SDK decision (short verbs under the resource they act on, as in
//! `client.sessions.list()`), so they are chosen here once, for both languages; generation
//! fails for an operation missing from this table, so a new endpoint cannot ship unnamed.

/// `(operationId, "resource[.sub].method")`, method in snake_case.
pub const SDK_NAMES: &[(&str, &str)] = &[
    ("adminListKeys", "admin.keys.list"),
    ("adminCreateKey", "admin.keys.create"),
    ("adminGetKey", "admin.keys.get"),
    ("adminUpdateKey", "admin.keys.update"),
    ("adminDeleteKey", "admin.keys.delete"),
    ("listKeys", "account.keys.list"),
    ("createKey", "account.keys.create"),
    ("getKey", "account.keys.get"),
    ("updateKey", "account.keys.update"),
    ("deleteKey", "account.keys.delete"),
    ("listSessions", "sessions.list"),
    ("createSession", "sessions.create"),
    ("getSession", "sessions.get"),
    ("updateSession", "sessions.update"),
    ("deleteSession", "sessions.delete"),
    ("startSession", "sessions.start"),
    ("stopSession", "sessions.stop"),
    ("restartSession", "sessions.restart"),
    ("logoutSession", "sessions.logout"),
    ("getPairingQr", "pairing.qr"),
    ("getPairQr", "pairing.pair_qr"),
    ("requestPairingCode", "pairing.request_code"),
    ("getMedia", "media.get"),
    ("downloadMedia", "media.download"),
    ("persistMedia", "media.persist"),
    ("sendMessage", "messages.send"),
    ("sendSessionMessage", "sessions.send_message"),
    ("listChatMessages", "messages.list"),
    ("markMessagesSeen", "messages.mark_seen"),
    ("reactToMessage", "messages.react"),
    ("editMessage", "messages.edit"),
    ("deleteMessage", "messages.delete"),
    ("sendTyping", "messages.typing"),
    ("getBlocklist", "contacts.blocklist"),
    ("blockContact", "contacts.block"),
    ("unblockContact", "contacts.unblock"),
    ("listGroups", "groups.list"),
    ("createGroup", "groups.create"),
    ("getGroup", "groups.get"),
    ("leaveGroup", "groups.leave"),
    ("joinGroup", "groups.join"),
    ("previewGroupInvite", "groups.preview_invite"),
    ("setGroupSubject", "groups.set_subject"),
    ("deleteGroup", "groups.delete"),
    ("updateGroupSettings", "groups.update_settings"),
    ("setGroupDescription", "groups.set_description"),
    ("listGroupParticipants", "groups.participants.list"),
    ("addGroupParticipants", "groups.participants.add"),
    ("removeGroupParticipants", "groups.participants.remove"),
    ("promoteGroupParticipants", "groups.participants.promote"),
    ("demoteGroupParticipants", "groups.participants.demote"),
    ("getGroupInvite", "groups.invite.get"),
    ("revokeGroupInvite", "groups.invite.revoke"),
    ("setPresence", "presence.set"),
    ("subscribePresence", "presence.subscribe"),
    ("subscribePresenceByBody", "presence.subscribe_by_body"),
    ("setProfileName", "profile.set_name"),
    ("listWebhooks", "webhooks.list"),
    ("createWebhook", "webhooks.create"),
    ("getWebhook", "webhooks.get"),
    ("updateWebhook", "webhooks.update"),
    ("deleteWebhook", "webhooks.delete"),
    ("listWebhookDeliveries", "webhooks.deliveries.list"),
    ("retryWebhookDelivery", "webhooks.deliveries.retry"),
    ("streamEvents", "events.stream"),
    ("healthz", "health.live"),
    ("readyz", "health.ready"),
];

/// The SDK place of `operation_id`: resource path and method name.
pub fn sdk_name(operation_id: &str) -> Option<(Vec<String>, String)> {
    let (_, dotted) = SDK_NAMES.iter().find(|(id, _)| *id == operation_id)?;
    let mut parts: Vec<String> = dotted.split('.').map(str::to_owned).collect();
    let method = parts.pop()?;
    Some((parts, method))
}
