//! Polls: what Titan keeps of each poll (its options, the message secret that keys its votes,
//! and how voters address its creator), and how a vote's ciphertext becomes the options it picked.
//! WhatsApp votes name options only by SHA-256 hash, encrypted with the poll's secret, so a vote
//! can only be read by whoever stored the poll.

use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::poll::{PollVoteCiphertext, compute_option_hash, decrypt_poll_vote_with_secret};

/// Fewest options a poll may have.
pub const MIN_OPTIONS: usize = 2;
/// Most options a poll may have (WhatsApp's limit).
pub const MAX_OPTIONS: usize = 12;

/// What is stored with a poll message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// The option names, in order.
    pub options: Vec<String>,
    /// The poll's message secret, base64 in storage; votes are encrypted with keys derived from it.
    #[serde(with = "super::wire::base64_bytes")]
    pub secret: Vec<u8>,
    /// The creator's JIDs as a voter may address them (phone-number and LID forms).
    pub creators: Vec<String>,
}

/// One option a vote selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Choice {
    /// The option's name; absent when the hash matches none of the poll's options.
    pub name: Option<String>,
    /// The option's SHA-256 hash (hex), as WhatsApp carries it.
    pub hash: String,
}

/// An encrypted vote, as it arrives in a poll update.
#[derive(Debug, Clone)]
pub struct SealedVote {
    /// The encrypted selection.
    pub payload: Vec<u8>,
    /// Its AES-GCM nonce.
    pub iv: Vec<u8>,
    /// The voter's JIDs (phone-number and LID forms), either of which may key the vote.
    pub voters: Vec<String>,
}

impl Poll {
    /// The options `vote` on poll `poll_id` selected, or `None` when no pairing of the creator's
    /// and the voter's JIDs opens it (a vote on a poll stored under another secret).
    pub fn open(&self, poll_id: &str, vote: &SealedVote) -> Option<Vec<Choice>> {
        let ciphertext = PollVoteCiphertext {
            enc_payload: &vote.payload,
            enc_iv: &vote.iv,
        };
        let hashes = self.creators.iter().find_map(|creator| {
            vote.voters
                .iter()
                .find_map(|voter| decrypt_poll_vote_with_secret(ciphertext, &self.secret, poll_id, creator, voter).ok())
        })?;
        Some(hashes.iter().map(|hash| self.choice(hash)).collect())
    }

    fn choice(&self, hash: &[u8]) -> Choice {
        Choice {
            name: self
                .options
                .iter()
                .find(|option| compute_option_hash(option).as_slice() == hash)
                .cloned(),
            hash: hex::encode(hash),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use whatsapp_rust::wacore::poll::encrypt_poll_vote_with_secret;

    use super::*;

    fn poll() -> Poll {
        Poll {
            options: vec!["Blue".into(), "Green".into(), "Red".into()],
            secret: vec![7; 32],
            creators: vec!["15550001@s.whatsapp.net".into(), "900001@lid".into()],
        }
    }

    fn seal(creator: &str, voter: &str, picks: &[&str]) -> SealedVote {
        let hashes: Vec<Vec<u8>> = picks.iter().map(|p| compute_option_hash(p).to_vec()).collect();
        let (payload, iv) = encrypt_poll_vote_with_secret(&hashes, &[7; 32], "POLL1", creator, voter).unwrap();
        SealedVote {
            payload,
            iv: iv.to_vec(),
            voters: vec!["15550002@s.whatsapp.net".into(), "900002@lid".into()],
        }
    }

    #[test]
    fn a_vote_names_its_options_whichever_addressing_keyed_it() {
        let by_pn = seal("15550001@s.whatsapp.net", "15550002@s.whatsapp.net", &["Green"]);
        let picked = poll().open("POLL1", &by_pn).unwrap();
        assert_eq!(picked.len(), 1);
        assert_eq!(picked[0].name.as_deref(), Some("Green"));
        assert_eq!(picked[0].hash, hex::encode(compute_option_hash("Green")));

        let by_lid = seal("900001@lid", "900002@lid", &["Blue", "Red"]);
        let names: Vec<_> = poll()
            .open("POLL1", &by_lid)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, [Some("Blue".to_owned()), Some("Red".to_owned())]);
    }

    #[test]
    fn a_vote_under_another_secret_or_poll_does_not_open() {
        let vote = seal("15550001@s.whatsapp.net", "15550002@s.whatsapp.net", &["Blue"]);
        assert!(poll().open("OTHER", &vote).is_none());
        let other = Poll {
            secret: vec![8; 32],
            ..poll()
        };
        assert!(other.open("POLL1", &vote).is_none());
    }

    #[test]
    fn an_unknown_option_keeps_its_hash() {
        let vote = seal("15550001@s.whatsapp.net", "15550002@s.whatsapp.net", &["Purple"]);
        let picked = poll().open("POLL1", &vote).unwrap();
        assert_eq!(picked[0].name, None);
        assert_eq!(picked[0].hash, hex::encode(compute_option_hash("Purple")));
    }

    #[test]
    fn the_secret_is_stored_as_base64() {
        let json = serde_json::to_value(poll()).unwrap();
        assert_eq!(json["secret"], STANDARD.encode([7u8; 32]));
        let back: Poll = serde_json::from_value(json).unwrap();
        assert_eq!(back, poll());
    }
}
