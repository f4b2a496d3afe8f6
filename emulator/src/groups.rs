//! Groups with real state: the `w:g2` IQs (create, query, participating, membership changes,
//! subject, description, settings, invites, leave, requests to join while approval is on), the
//! `w:gp2` notifications every member's devices get after each change, and group messages (one shared `skmsg` plus per-device sender
//! key distributions) fanned out to every member device. Groups use phone-number addressing.

use std::collections::BTreeMap;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::Jid;
use wacore_binary::node::Node;

use crate::conn::{now_secs, random_hex};
use crate::routing::{Me, attr};
use crate::state::Registry;

/// A member's standing in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// An ordinary member.
    Member,
    /// An admin.
    Admin,
    /// The creator (an admin who cannot be demoted by other admins).
    SuperAdmin,
}

impl Rank {
    fn attr(self) -> Option<&'static str> {
        match self {
            Self::Member => None,
            Self::Admin => Some("admin"),
            Self::SuperAdmin => Some("superadmin"),
        }
    }

    fn is_admin(self) -> bool {
        self != Self::Member
    }
}

/// A group description and who set it.
#[derive(Debug, Clone)]
pub struct Description {
    /// The id clients send back as `prev` when they change it.
    pub id: String,
    /// The text.
    pub body: String,
    /// Phone number of the member who set it.
    pub owner: String,
    /// When (unix seconds).
    pub time: u64,
}

/// One group.
#[derive(Debug, Clone)]
pub struct Group {
    /// The id (the user part of `id@g.us`).
    pub id: String,
    /// The name.
    pub subject: String,
    /// Who set the name, and when.
    pub subject_owner: String,
    /// When the name was set (unix seconds).
    pub subject_time: u64,
    /// The creator's phone number.
    pub creator: String,
    /// When it was created (unix seconds).
    pub creation: u64,
    /// The description, if any.
    pub description: Option<Description>,
    /// Members by phone number.
    pub members: BTreeMap<String, Rank>,
    /// Only admins may send.
    pub announce: bool,
    /// Only admins may edit the group's info.
    pub locked: bool,
    /// Disappearing-message timer in seconds (0 = off).
    pub ephemeral: u32,
    /// The current invite code.
    pub invite_code: String,
    /// The group picture's id, once one is set.
    pub picture: Option<u64>,
    /// Joining by invite needs an admin's approval.
    pub approval: bool,
    /// Who asked to join while approval was on, by phone number, with when (unix seconds).
    pub requests: BTreeMap<String, u64>,
}

impl Group {
    /// `id@g.us`.
    pub fn jid(&self) -> String {
        format!("{}@g.us", self.id)
    }

    fn rank(&self, phone: &str) -> Option<Rank> {
        self.members.get(phone).copied()
    }

    /// Whether `phone` administers the group.
    pub fn is_admin(&self, phone: &str) -> bool {
        self.rank(phone).is_some_and(Rank::is_admin)
    }

    /// The `<group>` node clients parse as metadata.
    pub fn node(&self) -> Node {
        let mut children: Vec<Node> = self
            .members
            .iter()
            .map(|(phone, rank)| {
                let builder = NodeBuilder::new("participant").attr("jid", pn(phone));
                match rank.attr() {
                    Some(kind) => builder.attr("type", kind).build(),
                    None => builder.build(),
                }
            })
            .collect();
        if let Some(description) = &self.description {
            children.push(
                NodeBuilder::new("description")
                    .attr("id", description.id.clone())
                    .attr("participant", pn(&description.owner))
                    .attr("t", description.time.to_string())
                    .children([NodeBuilder::new("body")
                        .string_content(description.body.clone())
                        .build()])
                    .build(),
            );
        }
        if self.announce {
            children.push(NodeBuilder::new("announcement").build());
        }
        if self.locked {
            children.push(NodeBuilder::new("locked").build());
        }
        if self.approval {
            children.push(approval_mode(true));
        }
        if self.ephemeral > 0 {
            children.push(
                NodeBuilder::new("ephemeral")
                    .attr("expiration", self.ephemeral.to_string())
                    .build(),
            );
        }
        NodeBuilder::new("group")
            .attr("id", self.id.clone())
            .attr("subject", self.subject.clone())
            .attr("s_t", self.subject_time.to_string())
            .attr("s_o", pn(&self.subject_owner))
            .attr("creator", pn(&self.creator))
            .attr("creation", self.creation.to_string())
            .attr("addressing_mode", "pn")
            .attr("size", self.members.len().to_string())
            .children(children)
            .build()
    }
}

/// `<membership_approval_mode><group_join state="on|off"/></membership_approval_mode>`.
fn approval_mode(on: bool) -> Node {
    NodeBuilder::new("membership_approval_mode")
        .children([NodeBuilder::new("group_join")
            .attr("state", if on { "on" } else { "off" })
            .build()])
        .build()
}

fn pn(phone: &str) -> String {
    format!("{phone}@s.whatsapp.net")
}

fn participant(phone: &str) -> Node {
    NodeBuilder::new("participant").attr("jid", pn(phone)).build()
}

fn invite_code() -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..22)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Why a group IQ failed: the `<error code>` the client gets.
type IqResult = Result<Vec<Node>, u16>;

const NOT_FOUND: u16 = 404;
const FORBIDDEN: u16 = 403;
const BAD_REQUEST: u16 = 400;
const CONFLICT: u16 = 409;

/// Answers a `w:g2` IQ from `me`.
pub fn iq(registry: &mut Registry, me: &Me, iq: &Node) -> IqResult {
    let to = attr(iq, "to").unwrap_or_default();
    let kind = attr(iq, "type").unwrap_or_default();
    let action = iq.children().and_then(|c| c.first()).ok_or(BAD_REQUEST)?;
    if let Some(id) = to.strip_suffix("@g.us") {
        return group_iq(registry, me, id, &kind, action);
    }
    match (action.tag.as_ref(), kind.as_str()) {
        ("create", _) => create(registry, me, action),
        ("participating", _) => Ok(vec![
            NodeBuilder::new("groups")
                .children(
                    registry
                        .groups
                        .values()
                        .filter(|g| g.members.contains_key(&me.phone))
                        .map(Group::node),
                )
                .build(),
        ]),
        ("leave", _) => {
            for group in action.get_children_by_tag("group") {
                let id = attr(group, "id").unwrap_or_default();
                let id = id.trim_end_matches("@g.us").to_owned();
                leave(registry, me, &id)?;
            }
            Ok(Vec::new())
        }
        ("invite", "get") => {
            let code = attr(action, "code").ok_or(BAD_REQUEST)?;
            let group = registry
                .groups
                .values()
                .find(|g| g.invite_code == code)
                .ok_or(NOT_FOUND)?;
            Ok(vec![group.node()])
        }
        ("invite", "set") => join(registry, me, &attr(action, "code").ok_or(BAD_REQUEST)?),
        _ => Err(BAD_REQUEST),
    }
}

fn create(registry: &mut Registry, me: &Me, request: &Node) -> IqResult {
    let subject = attr(request, "subject").ok_or(BAD_REQUEST)?;
    let now = now_secs();
    registry.next_group += 1;
    let id = format!("120363{:012}", registry.next_group);
    let mut members = BTreeMap::from([(me.phone.clone(), Rank::SuperAdmin)]);
    for wanted in request.get_children_by_tag("participant") {
        let phone = wanted
            .attrs()
            .optional_jid("jid")
            .and_then(|jid| registry.resolve(&jid).map(|a| a.phone.clone()));
        if let Some(phone) = phone {
            members.entry(phone).or_insert(Rank::Member);
        }
    }
    let description = request.get_optional_child("description").map(|d| Description {
        id: attr(d, "id").unwrap_or_else(|| random_hex(4).to_uppercase()),
        body: body(d),
        owner: me.phone.clone(),
        time: now,
    });
    let ephemeral = request
        .get_optional_child("ephemeral")
        .and_then(|e| attr(e, "expiration"))
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let group = Group {
        id: id.clone(),
        subject,
        subject_owner: me.phone.clone(),
        subject_time: now,
        creator: me.phone.clone(),
        creation: now,
        description,
        members,
        announce: false,
        locked: false,
        ephemeral,
        invite_code: invite_code(),
        picture: None,
        approval: false,
        requests: BTreeMap::new(),
    };
    let node = group.node();
    registry.groups.insert(id.clone(), group);
    let created = NodeBuilder::new("create").children([node.clone()]).build();
    notify(registry, &id, &me.phone, vec![created], &[]);
    Ok(vec![node])
}

/// A change to group `id` that `me` makes, as a `set` IQ's `action` would (the admin API's
/// phone-side changes).
pub fn change(registry: &mut Registry, me: &Me, id: &str, action: &Node) -> IqResult {
    group_iq(registry, me, id, "set", action)
}

/// An operation on one group (`to="<id>@g.us"`).
fn group_iq(registry: &mut Registry, me: &Me, id: &str, kind: &str, action: &Node) -> IqResult {
    let group = registry.groups.get(id).ok_or(NOT_FOUND)?.clone();
    let rank = group.rank(&me.phone).ok_or(FORBIDDEN)?;
    let admin = |allowed: bool| if allowed { Ok(()) } else { Err(FORBIDDEN) };
    let tag = action.tag.to_string();
    match (tag.as_str(), kind) {
        ("query", _) => Ok(vec![group.node()]),
        ("add" | "remove" | "promote" | "demote", _) => {
            admin(rank.is_admin())?;
            change_members(registry, me, id, &tag, action)
        }
        ("subject", _) => {
            admin(!group.locked || rank.is_admin())?;
            let subject = action.content_as_string().map(|s| s.to_string()).unwrap_or_default();
            let now = now_secs();
            let group = registry.groups.get_mut(id).ok_or(NOT_FOUND)?;
            group.subject = subject.clone();
            group.subject_owner = me.phone.clone();
            group.subject_time = now;
            let change = NodeBuilder::new("subject")
                .attr("subject", subject)
                .attr("s_o", pn(&me.phone))
                .attr("s_t", now.to_string())
                .build();
            notify(registry, id, &me.phone, vec![change], &[]);
            Ok(Vec::new())
        }
        ("description", _) => {
            admin(!group.locked || rank.is_admin())?;
            describe(registry, me, id, action)
        }
        ("invite", "get") => {
            admin(rank.is_admin())?;
            Ok(vec![NodeBuilder::new("invite").attr("code", group.invite_code).build()])
        }
        ("invite", _) => {
            admin(rank.is_admin())?;
            let code = invite_code();
            registry.groups.get_mut(id).ok_or(NOT_FOUND)?.invite_code = code.clone();
            notify(registry, id, &me.phone, vec![NodeBuilder::new("revoke").build()], &[]);
            Ok(vec![NodeBuilder::new("invite").attr("code", code).build()])
        }
        ("announcement" | "not_announcement" | "locked" | "unlocked" | "ephemeral" | "not_ephemeral", _) => {
            admin(rank.is_admin() || tag.ends_with("ephemeral"))?;
            let group = registry.groups.get_mut(id).ok_or(NOT_FOUND)?;
            match tag.as_str() {
                "announcement" | "not_announcement" => group.announce = tag == "announcement",
                "locked" | "unlocked" => group.locked = tag == "locked",
                "ephemeral" => {
                    group.ephemeral = attr(action, "expiration")
                        .and_then(|e| e.parse().ok())
                        .ok_or(BAD_REQUEST)?;
                }
                _ => group.ephemeral = 0,
            }
            notify(registry, id, &me.phone, vec![action.clone()], &[]);
            Ok(Vec::new())
        }
        ("membership_approval_mode", _) => {
            admin(rank.is_admin())?;
            let on = action
                .get_optional_child("group_join")
                .and_then(|j| attr(j, "state"))
                .ok_or(BAD_REQUEST)?
                == "on";
            registry.groups.get_mut(id).ok_or(NOT_FOUND)?.approval = on;
            notify(registry, id, &me.phone, vec![approval_mode(on)], &[]);
            Ok(Vec::new())
        }
        ("membership_approval_requests", _) => {
            admin(rank.is_admin())?;
            let requests = group.requests.iter().map(|(phone, time)| {
                NodeBuilder::new("membership_approval_request")
                    .attr("jid", pn(phone))
                    .attr("request_time", time.to_string())
                    .build()
            });
            Ok(vec![
                NodeBuilder::new("membership_approval_requests")
                    .children(requests)
                    .build(),
            ])
        }
        ("membership_requests_action", _) => {
            admin(rank.is_admin())?;
            answer_requests(registry, me, id, action)
        }
        _ => Err(BAD_REQUEST),
    }
}

/// `<membership_requests_action><approve|reject>…`: each pending requester named is let in
/// (members hear `<add reason="membership_approval_request">`) or turned down (admins hear
/// `<revoked_membership_requests>`); anyone with no pending request gets error 404.
fn answer_requests(registry: &mut Registry, me: &Me, id: &str, action: &Node) -> IqResult {
    let verdict = action.children().and_then(|c| c.first()).ok_or(BAD_REQUEST)?;
    let approve = match verdict.tag.as_ref() {
        "approve" => true,
        "reject" => false,
        _ => return Err(BAD_REQUEST),
    };
    let mut results = Vec::new();
    let mut answered = Vec::new();
    for wanted in verdict.get_children_by_tag("participant") {
        let Some(jid) = wanted.attrs().optional_jid("jid") else {
            continue;
        };
        let phone = registry.resolve(&jid).map(|a| a.phone.clone());
        let group = registry.groups.get_mut(id).ok_or(NOT_FOUND)?;
        let mut result = NodeBuilder::new("participant").attr("jid", jid.to_non_ad().to_string());
        match phone.filter(|phone| group.requests.remove(phone).is_some()) {
            Some(phone) => {
                if approve {
                    group.members.insert(phone.clone(), Rank::Member);
                }
                answered.push(participant(&phone));
            }
            None => result = result.attr("error", NOT_FOUND.to_string()),
        }
        results.push(result.build());
    }
    if !answered.is_empty() {
        let change = if approve {
            NodeBuilder::new("add")
                .attr("reason", "membership_approval_request")
                .children(answered)
                .build()
        } else {
            NodeBuilder::new("revoked_membership_requests")
                .children(answered)
                .build()
        };
        notify(registry, id, &me.phone, vec![change], &[]);
    }
    Ok(vec![
        NodeBuilder::new("membership_requests_action")
            .children([NodeBuilder::new(if approve { "approve" } else { "reject" })
                .children(results)
                .build()])
            .build(),
    ])
}

/// `<add>`, `<remove>`, `<promote>`, `<demote>`: one `<participant>` result each (with an
/// `error` code where it failed), and one notification for the changes that happened.
fn change_members(registry: &mut Registry, me: &Me, id: &str, tag: &str, action: &Node) -> IqResult {
    let mut results = Vec::new();
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    for wanted in action.get_children_by_tag("participant") {
        let Some(jid) = wanted.attrs().optional_jid("jid") else {
            continue;
        };
        let phone = registry.resolve(&jid).map(|a| a.phone.clone());
        let group = registry.groups.get_mut(id).ok_or(NOT_FOUND)?;
        let outcome = match (tag, phone) {
            (_, None) => Err(NOT_FOUND),
            ("add", Some(phone)) if group.members.contains_key(&phone) => Err(CONFLICT),
            ("add", Some(phone)) => {
                group.members.insert(phone.clone(), Rank::Member);
                Ok(phone)
            }
            (_, Some(phone)) if !group.members.contains_key(&phone) => Err(NOT_FOUND),
            ("remove", Some(phone)) if group.rank(&phone) == Some(Rank::SuperAdmin) => Err(FORBIDDEN),
            ("remove", Some(phone)) => {
                group.members.remove(&phone);
                removed.push(phone.clone());
                Ok(phone)
            }
            ("promote", Some(phone)) => {
                // The creator stays superadmin; anyone else becomes an admin.
                if let Some(rank @ Rank::Member) = group.members.get_mut(&phone) {
                    *rank = Rank::Admin;
                }
                Ok(phone)
            }
            (_, Some(phone)) if group.rank(&phone) == Some(Rank::SuperAdmin) => Err(FORBIDDEN),
            (_, Some(phone)) => {
                group.members.insert(phone.clone(), Rank::Member);
                Ok(phone)
            }
        };
        let mut result = NodeBuilder::new("participant").attr("jid", jid.to_non_ad().to_string());
        match outcome {
            Ok(phone) => changed.push(participant(&phone)),
            Err(code) => result = result.attr("error", code.to_string()),
        }
        results.push(result.build());
    }
    if !changed.is_empty() {
        let change = NodeBuilder::new_dynamic(tag.to_owned()).children(changed).build();
        notify(registry, id, &me.phone, vec![change], &removed);
    }
    Ok(vec![NodeBuilder::new_dynamic(tag.to_owned()).children(results).build()])
}

/// `me` leaves group `id`; the other members and `me` hear `<remove>`.
fn leave(registry: &mut Registry, me: &Me, id: &str) -> Result<(), u16> {
    let group = registry.groups.get_mut(id).ok_or(NOT_FOUND)?;
    if group.members.remove(&me.phone).is_none() {
        return Err(NOT_FOUND);
    }
    let change = NodeBuilder::new("remove").children([participant(&me.phone)]).build();
    notify(registry, id, &me.phone, vec![change], std::slice::from_ref(&me.phone));
    Ok(())
}

/// Joins the group whose invite code is `code`; members hear `<add reason="invite">`. While the
/// group's approval is on, a newcomer's join is a request instead, which admins hear of.
fn join(registry: &mut Registry, me: &Me, code: &str) -> IqResult {
    let group = registry
        .groups
        .values_mut()
        .find(|g| g.invite_code == code)
        .ok_or(NOT_FOUND)?;
    let id = group.id.clone();
    if group.approval && !group.members.contains_key(&me.phone) {
        group.requests.entry(me.phone.clone()).or_insert_with(now_secs);
        let admins: Vec<String> = group
            .members
            .iter()
            .filter(|(_, rank)| rank.is_admin())
            .map(|(phone, _)| phone.clone())
            .collect();
        let pending = NodeBuilder::new("membership_approval_request")
            .attr("jid", group.jid())
            .build();
        let request = NodeBuilder::new("created_membership_requests")
            .attr("request_method", "invite_link")
            .children([NodeBuilder::new("requested_user").attr("jid", pn(&me.phone)).build()])
            .build();
        send_notification_to(registry, "w:gp2", &id, &me.phone, vec![request], &admins);
        return Ok(vec![pending]);
    }
    let joined = NodeBuilder::new("group").attr("jid", group.jid()).build();
    if group.members.insert(me.phone.clone(), Rank::Member).is_none() {
        let change = NodeBuilder::new("add")
            .attr("reason", "invite")
            .children([participant(&me.phone)])
            .build();
        notify(registry, &id, &me.phone, vec![change], &[]);
    }
    Ok(vec![joined])
}

/// `<description id [prev] [delete]>`: a stale `prev` is a conflict (409).
fn describe(registry: &mut Registry, me: &Me, id: &str, request: &Node) -> IqResult {
    let group = registry.groups.get_mut(id).ok_or(NOT_FOUND)?;
    let current = group.description.as_ref().map(|d| d.id.clone());
    if let Some(prev) = attr(request, "prev")
        && current.as_ref() != Some(&prev)
    {
        return Err(CONFLICT);
    }
    let new_id = attr(request, "id").unwrap_or_else(|| random_hex(4).to_uppercase());
    let change = if attr(request, "delete").as_deref() == Some("true") {
        group.description = None;
        NodeBuilder::new("description")
            .attr("id", new_id)
            .children([NodeBuilder::new("delete").build()])
            .build()
    } else {
        let text = body(request);
        group.description = Some(Description {
            id: new_id.clone(),
            body: text.clone(),
            owner: me.phone.clone(),
            time: now_secs(),
        });
        NodeBuilder::new("description")
            .attr("id", new_id)
            .children([NodeBuilder::new("body").string_content(text).build()])
            .build()
    };
    notify(registry, id, &me.phone, vec![change], &[]);
    Ok(Vec::new())
}

fn body(description: &Node) -> String {
    description
        .get_optional_child("body")
        .and_then(Node::content_as_string)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// The group picture of `id` was set (`Some(picture id)`) or removed by `me`: members get a
/// `picture` notification.
pub fn picture_changed(registry: &mut Registry, me: &Me, id: &str, picture: Option<u64>) {
    let jid = format!("{id}@g.us");
    let change = match picture {
        Some(picture) => NodeBuilder::new("set")
            .attr("jid", jid)
            .attr("id", picture.to_string())
            .attr("author", pn(&me.phone))
            .build(),
        None => NodeBuilder::new("delete")
            .attr("jid", jid)
            .attr("author", pn(&me.phone))
            .build(),
    };
    send_notification(registry, "picture", id, &me.phone, vec![change], &[]);
}

/// Sends a `w:gp2` notification with `changes` by `actor` to every device of every member of
/// group `id`, and of the `also` accounts (members who just left).
fn notify(registry: &mut Registry, id: &str, actor: &str, changes: Vec<Node>, also: &[String]) {
    send_notification(registry, "w:gp2", id, actor, changes, also);
}

fn send_notification(
    registry: &mut Registry,
    kind: &'static str,
    id: &str,
    actor: &str,
    changes: Vec<Node>,
    also: &[String],
) {
    let Some(group) = registry.groups.get(id) else { return };
    let mut phones: Vec<String> = group.members.keys().cloned().collect();
    phones.extend(also.iter().cloned());
    send_notification_to(registry, kind, id, actor, changes, &phones);
}

/// Sends a notification of `kind` about group `id` with `changes` by `actor` to every device of
/// the `phones` accounts.
fn send_notification_to(
    registry: &mut Registry,
    kind: &'static str,
    id: &str,
    actor: &str,
    changes: Vec<Node>,
    phones: &[String],
) {
    let Some(group) = registry.groups.get(id) else { return };
    let notify = registry
        .accounts
        .get(actor)
        .map(|a| a.push_name(None))
        .unwrap_or_default();
    let node = NodeBuilder::new("notification")
        .attr("type", kind)
        .attr("id", random_hex(8))
        .attr("from", group.jid())
        .attr("t", now_secs().to_string())
        .attr("participant", pn(actor))
        .attr("notify", notify)
        .children(changes)
        .build();
    for phone in phones {
        for device in registry.device_ids(phone) {
            registry.deliver(phone, device, node.clone(), false);
        }
    }
}

/// A `<message to="<id>@g.us">` from `me`: every member device but the sender gets one stanza
/// from the group with the sender as `participant`, carrying its own sender-key distribution
/// (if the sender included one) and the shared `skmsg`. A message with a `participant` is a
/// retry resend for that one device. Returns the server ack, or a 403/404 nack for a sender
/// who may not post.
pub fn route_message(registry: &mut Registry, me: &Me, message: &Node, group_jid: &Jid) -> Option<Node> {
    let id = attr(message, "id")?;
    let now = now_secs().to_string();
    let ack = |error: Option<u16>| {
        let builder = NodeBuilder::new("ack")
            .attr("class", "message")
            .attr("id", id.clone())
            .attr("from", group_jid.to_string())
            .attr("t", now.clone());
        match error {
            Some(code) => builder.attr("error", code.to_string()).build(),
            None => builder.build(),
        }
    };
    let Some(group) = registry.groups.get(group_jid.user.as_str()) else {
        return Some(ack(Some(NOT_FOUND)));
    };
    match group.rank(&me.phone) {
        None => return Some(ack(Some(FORBIDDEN))),
        Some(rank) if group.announce && !rank.is_admin() => return Some(ack(Some(FORBIDDEN))),
        Some(_) => {}
    }
    let members: Vec<String> = group.members.keys().cloned().collect();
    let sender = registry.accounts.get(&me.phone)?;
    let push_name = sender.push_name(Some(me.device));
    let lid = format!("{}@lid", sender.lid);
    let mut per_device: BTreeMap<(String, u32), Node> = BTreeMap::new();
    for to in message
        .get_optional_child("participants")
        .into_iter()
        .flat_map(|p| p.get_children_by_tag("to"))
    {
        let (Some(jid), Some(enc)) = (to.attrs().optional_jid("jid"), to.get_optional_child("enc")) else {
            continue;
        };
        if let Some(account) = registry.resolve(&jid) {
            per_device.insert((account.phone.clone(), u32::from(jid.device)), enc.clone());
        }
    }
    let shared: Vec<Node> = message.get_children_by_tag("enc").cloned().collect();
    let only = message
        .attrs()
        .optional_jid("participant")
        .and_then(|jid| Some((registry.resolve(&jid)?.phone.clone(), u32::from(jid.device))));
    for phone in members {
        for device in registry.device_ids(&phone) {
            let target = (phone.clone(), device);
            if (phone == me.phone && device == me.device) || only.as_ref().is_some_and(|o| *o != target) {
                continue;
            }
            let mut encs: Vec<Node> = per_device.remove(&target).into_iter().collect();
            encs.extend(shared.iter().cloned());
            if encs.is_empty() {
                continue;
            }
            let mut builder = NodeBuilder::new("message")
                .attr("from", group_jid.to_string())
                .attr("participant", format!("{}:{}@s.whatsapp.net", me.phone, me.device))
                .attr("participant_lid", lid.clone())
                .attr("addressing_mode", "pn")
                .attr("id", id.clone())
                .attr("t", now.clone())
                .attr("type", attr(message, "type").unwrap_or_else(|| "text".into()))
                .attr("notify", push_name.clone());
            if let Some(edit) = attr(message, "edit") {
                builder = builder.attr("edit", edit);
            }
            registry.deliver(&phone, device, builder.children(encs).build(), true);
        }
    }
    Some(ack(None))
}

/// A receipt from `me` for a group message: relayed to the sender named in `participant`
/// (that device, or all its devices), from the group with `me` as the participant.
pub fn route_receipt(registry: &mut Registry, me: &Me, receipt: &Node, group_jid: &Jid, kind: Option<&str>) {
    let Some(id) = attr(receipt, "id") else { return };
    let Some(sender) = receipt.attrs().optional_jid("participant") else {
        return;
    };
    let Some(account) = registry.resolve(&sender) else {
        return;
    };
    let phone = account.phone.clone();
    for device in account.devices_for(&sender) {
        if phone == me.phone && device == me.device {
            continue;
        }
        let mut builder = NodeBuilder::new("receipt")
            .attr("from", group_jid.to_string())
            .attr("participant", format!("{}:{}@s.whatsapp.net", me.phone, me.device))
            .attr("id", id.clone())
            .attr("t", now_secs().to_string());
        if let Some(kind) = kind {
            builder = builder.attr("type", kind.to_owned());
        }
        let node = match receipt.children() {
            Some(children) => builder.children(children.to_vec()).build(),
            None => builder.build(),
        };
        registry.deliver(&phone, device, node, false);
    }
}
