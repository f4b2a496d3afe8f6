//! Contacts: which phone numbers are on WhatsApp, one contact's details and profile picture, and
//! LID ↔ phone number lookups. Each asks WhatsApp through the session, which must be connected.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::Jid;

use crate::auth::Caller;
use crate::envelope::{Page, PageQuery, PageRequest};
use crate::error::ApiError;
use crate::messages::jid::parse_contact;
use crate::model::bounded::{ListRule, PhoneNumber, TextRule, bounded_list, bounded_text, inline};
use crate::model::contact::{Contact, LidMapping, NumberCheck, ProfilePictureRef};
use crate::state::AppState;
use crate::store::contacts::{self as stored, ContactRow};

bounded_list! {
    /// Phone numbers to check: 1 to 256, each once.
    PhoneNumbers(Vec<PhoneNumber>) = ListRule { min: 1, max: 256, unique: true }, items = inline::<PhoneNumber>();
}

bounded_text! {
    /// A LID, `<digits>@lid`.
    Lid = TextRule {
        min: 5,
        max: 40,
        pattern: Some(("^[0-9]{1,32}@lid$", "a LID, `<digits>@lid`")),
    };
}

/// Phone numbers to check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"phoneNumbers": ["+5511999999999", "5511888888888"]}))]
pub struct CheckNumbers {
    /// The numbers, in international form (7 to 15 digits, `+` optional), 1 to 256, each once.
    #[schema(inline)]
    pub phone_numbers: PhoneNumbers,
}

/// What WhatsApp says of each number checked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NumberCheckList {
    /// One result per number, in the order given.
    pub data: Vec<NumberCheck>,
}

crate::envelopes!(Contact => ContactData, ContactPage);
crate::envelopes!(LidMapping => LidMappingData);
crate::envelopes!(ProfilePictureRef => ProfilePictureData);

/// The phone-number JID of `number` (`+` optional).
fn phone_jid(number: &str) -> Jid {
    Jid::pn(number.trim_start_matches('+'))
}

/// Which of the request's numbers are on WhatsApp; those that are become known contacts.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    session: &str,
    request: CheckNumbers,
) -> Result<NumberCheckList, ApiError> {
    let numbers = request
        .phone_numbers
        .as_slice()
        .iter()
        .map(|n| phone_jid(n.as_str()))
        .collect::<Vec<_>>();
    crate::sessions::find(state, caller, session).await?;
    let data = state.engine.check_numbers(session, &numbers).await?;
    for found in &data {
        if let Some(jid) = &found.jid {
            stored::found(&state.db, session, jid, found.lid.as_deref()).await?;
        }
    }
    Ok(NumberCheckList { data })
}

/// One page of the people the session knows, by JID: whoever wrote to it, whoever the account
/// saved in its address book, and whoever a number check found on WhatsApp.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    session: &str,
    query: PageQuery,
) -> Result<Page<Contact>, ApiError> {
    let page = PageRequest::from(query);
    crate::sessions::find(state, caller, session).await?;
    let rows = stored::page(&state.db, session, page.after.as_deref(), page.limit + 1).await?;
    Ok(Page::from_overfetch(rows, page.limit, |c| c.jid.clone()).map(known))
}

/// A stored contact as the API shows it; what only WhatsApp knows (about text, picture,
/// business name) is left out of lists.
fn known(row: ContactRow) -> Contact {
    Contact {
        phone_number: row
            .jid
            .strip_suffix("@s.whatsapp.net")
            .map(|digits| format!("+{digits}")),
        lid: row.lid.or_else(|| row.jid.ends_with("@lid").then(|| row.jid.clone())),
        push_name: row.push_name,
        name: row.name,
        business_name: None,
        about: None,
        profile_url: None,
    }
}

/// Contact `contact_id` (a phone-number JID or a LID) as WhatsApp describes them now, with the
/// name the account saved for them; 404 when no account has it.
pub async fn get(state: &AppState, caller: &Caller, session: &str, contact_id: &str) -> Result<Contact, ApiError> {
    let jid = parse_contact(contact_id)?;
    crate::sessions::find(state, caller, session).await?;
    let mut contact = state.engine.contact(session, &jid).await?;
    if let Some(stored) = stored::one(&state.db, session, &jid.to_non_ad_string()).await? {
        contact.name = stored.name;
        contact.push_name = contact.push_name.or(stored.push_name);
    }
    Ok(contact)
}

/// `contact_id`'s profile picture; 404 when it has none or hides it from the account.
pub async fn picture(
    state: &AppState,
    caller: &Caller,
    session: &str,
    contact_id: &str,
) -> Result<ProfilePictureRef, ApiError> {
    let jid = parse_contact(contact_id)?;
    crate::sessions::find(state, caller, session).await?;
    state.engine.profile_picture(session, &jid).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "`{contact_id}` has no profile picture, or hides it from this account"
        ))
    })
}

/// The phone number behind `lid`.
pub async fn by_lid(state: &AppState, caller: &Caller, session: &str, lid: &str) -> Result<LidMapping, ApiError> {
    let checked = Lid::parse(lid).map_err(|why| ApiError::BadRequest(format!("invalid lid `{lid}`: {why}")))?;
    let jid: Jid = checked
        .as_str()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("`{lid}` is not a LID WhatsApp accepts")))?;
    crate::sessions::find(state, caller, session).await?;
    Ok(state.engine.lid_mapping(session, &jid).await?)
}

/// The LID of the account behind `phone_number`.
pub async fn by_phone(
    state: &AppState,
    caller: &Caller,
    session: &str,
    phone_number: &str,
) -> Result<LidMapping, ApiError> {
    let checked = PhoneNumber::parse(phone_number)
        .map_err(|why| ApiError::BadRequest(format!("invalid phoneNumber `{phone_number}`: {why}")))?;
    let jid = phone_jid(checked.as_str());
    crate::sessions::find(state, caller, session).await?;
    Ok(state.engine.lid_mapping(session, &jid).await?)
}
