//! Contacts and the session's own profile, asked of WhatsApp through a connected session: which
//! numbers are on WhatsApp (usync), LID ↔ phone number (the client's mapping first, usync when it
//! has none), profile pictures, and the account's about text and picture.

use whatsapp_rust::features::ContactError;
use whatsapp_rust::{Client, Jid};

use super::{Engine, EngineError};
use crate::model::contact::{Contact, LidMapping, NumberCheck, Profile, ProfilePictureRef};
use crate::store::messages;

impl Engine {
    /// What WhatsApp says of each of `numbers` (phone-number JIDs), in their order.
    pub async fn check_numbers(&self, session: &str, numbers: &[Jid]) -> Result<Vec<NumberCheck>, EngineError> {
        let client = self.require_connected(session)?;
        let answers = client
            .contacts()
            .is_on_whatsapp(numbers)
            .await
            .map_err(|e| contact_error("number check", e))?;
        Ok(numbers
            .iter()
            .map(|asked| {
                let answer = answers
                    .iter()
                    .find(|a| a.jid.user == asked.user || a.pn_jid.as_ref().is_some_and(|pn| pn.user == asked.user));
                let registered = answer.filter(|a| a.is_registered);
                NumberCheck {
                    phone_number: format!("+{}", asked.user),
                    on_whatsapp: registered.is_some(),
                    jid: registered.map(|_| asked.to_non_ad_string()),
                    lid: registered.and_then(|a| a.lid.as_ref()).map(Jid::to_non_ad_string),
                    is_business: registered.is_some_and(|a| a.is_business),
                    business_name: registered
                        .and_then(|a| a.verified_name.as_ref())
                        .and_then(|v| v.name.clone())
                        .filter(|n| !n.is_empty()),
                }
            })
            .collect())
    }

    /// The LID and phone number of the account `jid` names (either form): from the client's
    /// mapping, else from WhatsApp; `Unknown` when no account has it.
    pub async fn lid_mapping(&self, session: &str, jid: &Jid) -> Result<LidMapping, EngineError> {
        self.lid_mappings(session, std::slice::from_ref(jid))
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| EngineError::Unknown(format!("WhatsApp knows no account for `{jid}`")))
    }

    /// [`Self::lid_mapping`] of each of `jids`, in their order (`None` where no account has it):
    /// the ones the client's mapping lacks are asked of WhatsApp in one query.
    pub async fn lid_mappings(&self, session: &str, jids: &[Jid]) -> Result<Vec<Option<LidMapping>>, EngineError> {
        let client = self.require_connected(session)?;
        let mut found = Vec::with_capacity(jids.len());
        for jid in jids {
            let known = client
                .get_lid_pn_entry(jid)
                .await
                .map_err(|e| EngineError::Internal(e.context("read the LID mapping")))?;
            found.push(known.map(|entry| LidMapping {
                lid: format!("{}@lid", entry.lid),
                phone_number: format!("+{}", entry.phone_number),
            }));
        }
        let missing: Vec<Jid> = jids
            .iter()
            .zip(&found)
            .filter(|(_, mapping)| mapping.is_none())
            .map(|(jid, _)| jid.clone())
            .collect();
        if missing.is_empty() {
            return Ok(found);
        }
        let answers = client
            .contacts()
            .is_on_whatsapp(&missing)
            .await
            .map_err(|e| contact_error("LID lookup", e))?;
        for answer in answers.into_iter().filter(|a| a.is_registered) {
            let asked = answer.jid.user.clone();
            let pair = if answer.jid.is_lid() {
                answer.pn_jid.map(|pn| (answer.jid, pn))
            } else {
                answer.lid.map(|lid| (lid, answer.jid))
            };
            let Some((lid, pn)) = pair else { continue };
            for (slot, jid) in found.iter_mut().zip(jids) {
                if slot.is_none() && jid.user == asked {
                    *slot = Some(LidMapping {
                        lid: lid.to_non_ad_string(),
                        phone_number: format!("+{}", pn.user),
                    });
                }
            }
        }
        Ok(found)
    }

    /// `jid`'s profile picture; `None` when it has none or hides it from the account.
    pub async fn profile_picture(&self, session: &str, jid: &Jid) -> Result<Option<ProfilePictureRef>, EngineError> {
        let client = self.require_connected(session)?;
        let picture = client
            .contacts()
            .get_profile_picture(jid, false)
            .await
            .map_err(|e| contact_error("profile picture", e))?;
        Ok(picture.map(|p| ProfilePictureRef { id: p.id, url: p.url }))
    }

    /// Contact `jid` (either JID form): their JIDs, about text, business name and picture as
    /// WhatsApp gives them to the account, and the display name of their latest message;
    /// `Unknown` when no account has the JID.
    pub async fn contact(&self, session: &str, jid: &Jid) -> Result<Contact, EngineError> {
        let mapping = self.lid_mapping(session, jid).await?;
        let client = self.require_connected(session)?;
        let pn = Jid::pn(mapping.phone_number.trim_start_matches('+'));
        let shown = shown_to(&client, &pn).await?;
        let push_name = messages::push_name_of(&self.shared.db, session, [&pn.to_string(), &mapping.lid]).await?;
        Ok(Contact {
            phone_number: Some(mapping.phone_number),
            lid: Some(mapping.lid),
            push_name,
            name: None,
            business_name: shown.business_name,
            about: shown.about,
            profile_url: shown.profile_url,
        })
    }

    /// The account's own profile: its identity, about text and picture.
    pub async fn profile(&self, session: &str) -> Result<Profile, EngineError> {
        let client = self.require_connected(session)?;
        let pn = client
            .pn()
            .ok_or_else(|| EngineError::Conflict(format!("session `{session}` has no account yet: pair it first")))?
            .to_non_ad();
        let shown = shown_to(&client, &pn).await?;
        Ok(Profile {
            phone_number: Some(format!("+{}", pn.user)),
            lid: client.lid().map(|l| l.to_non_ad_string()),
            push_name: Some(client.push_name()).filter(|n| !n.is_empty()),
            about: shown.about,
            profile_url: shown.profile_url,
        })
    }

    /// Sets the account's about text.
    pub async fn set_about(&self, session: &str, text: &str) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        client
            .profile()
            .set_status_text(text)
            .await
            .map_err(|e| EngineError::refused("about text", e))
    }

    /// Sets the account's profile picture to `jpeg`, or removes it (`None`).
    pub async fn set_profile_picture(&self, session: &str, jpeg: Option<Vec<u8>>) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let profile = client.profile();
        match jpeg {
            Some(jpeg) => profile.set_profile_picture(jpeg).await,
            None => profile.remove_profile_picture().await,
        }
        .map(drop)
        .map_err(|e| EngineError::refused("profile picture", e))
    }
}

/// What an account shows the session's account of itself.
struct Shown {
    about: Option<String>,
    business_name: Option<String>,
    profile_url: Option<String>,
}

/// What account `pn` shows `client`'s account: its about text and business name (usync) and
/// where its profile picture is.
async fn shown_to(client: &Client, pn: &Jid) -> Result<Shown, EngineError> {
    let contacts = client.contacts();
    let info = contacts
        .get_user_info(std::slice::from_ref(pn))
        .await
        .map_err(|e| contact_error("contact's details", e))?;
    let info = info.into_values().next();
    let picture = contacts
        .get_profile_picture(pn, false)
        .await
        .map_err(|e| contact_error("profile picture", e))?;
    Ok(Shown {
        about: info.as_ref().and_then(|i| i.status.clone()).filter(|s| !s.is_empty()),
        business_name: info
            .and_then(|i| i.verified_name)
            .and_then(|v| v.name)
            .filter(|n| !n.is_empty()),
        profile_url: picture.map(|p| p.url),
    })
}

/// What a failed contact request means: a JID usync cannot ask about is the caller's mistake.
fn contact_error(what: &str, error: ContactError) -> EngineError {
    match error {
        ContactError::InvalidJid(why) => EngineError::Invalid(format!("cannot make the {what}: {why}")),
        ContactError::Iq(iq) => EngineError::refused_iq(what, &iq),
        other => EngineError::refused(what, other),
    }
}
