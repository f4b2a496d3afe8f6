//! What a caller may do: its scopes and, optionally, the sessions it is limited to.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::scope::Scope;

/// Why a grant does not allow something: a 403 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Scopes plus an optional session allow-list; `sessions: None` means every session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Scopes held; `Scope::All` implies every other scope.
    pub scopes: BTreeSet<Scope>,
    /// Sessions the holder may touch, or `None` for all of them.
    pub sessions: Option<BTreeSet<String>>,
    /// When the holder stops being valid, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Grant {
    /// Everything, forever: what the master key holds.
    pub fn unlimited() -> Self {
        Self {
            scopes: BTreeSet::from([Scope::All]),
            sessions: None,
            expires_at: None,
        }
    }

    /// Whether the holder has `scope` (directly or through `*`).
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::All) || self.scopes.contains(&scope)
    }

    /// 403 naming the scope unless the holder has it.
    pub fn require_scope(&self, scope: Scope) -> Result<(), Denied> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Denied(format!("missing scope: {scope}")))
        }
    }

    /// 403 unless the holder may use the session `name`.
    pub fn require_session(&self, name: &str) -> Result<(), Denied> {
        match &self.sessions {
            Some(allowed) if !allowed.contains(name) => {
                Err(Denied(format!("this key is not allowed to use session `{name}`")))
            }
            _ => Ok(()),
        }
    }

    /// 403 unless every scope and session `other` grants is also granted by `self`: the rule that
    /// stops a key from minting, seeing or changing a key more powerful than itself.
    pub fn require_covers(&self, other: &Grant) -> Result<(), Denied> {
        for scope in &other.scopes {
            let held = if *scope == Scope::All {
                self.scopes.contains(&Scope::All)
            } else {
                self.has_scope(*scope)
            };
            if !held {
                return Err(Denied(format!(
                    "missing scope: {scope} (a key cannot grant scopes it lacks)"
                )));
            }
        }
        match (&self.sessions, &other.sessions) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(Denied(
                "a session-limited key cannot grant access to all sessions".into(),
            )),
            (Some(mine), Some(theirs)) => match theirs.difference(mine).next() {
                Some(session) => Err(Denied(format!(
                    "this key is not allowed to use session `{session}` (a key cannot grant sessions it lacks)"
                ))),
                None => Ok(()),
            },
        }
    }

    /// 403 unless `other` expires no later than `self`, so an expiring key cannot mint a key
    /// that outlives it.
    pub fn require_outlives(&self, other: &Grant) -> Result<(), Denied> {
        match (self.expires_at, other.expires_at) {
            (Some(mine), None) => Err(Denied(format!(
                "a key that expires at {mine} cannot create a key that never expires"
            ))),
            (Some(mine), Some(theirs)) if theirs > mine => Err(Denied(format!(
                "a key that expires at {mine} cannot create a key that outlives it"
            ))),
            _ => Ok(()),
        }
    }

    /// Whether `other`'s scopes and sessions are within this grant (see [`Grant::require_covers`]).
    pub fn covers(&self, other: &Grant) -> bool {
        self.require_covers(other).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scopes: &[Scope], sessions: Option<&[&str]>) -> Grant {
        Grant {
            scopes: scopes.iter().copied().collect(),
            sessions: sessions.map(|s| s.iter().map(|x| (*x).to_owned()).collect()),
            expires_at: None,
        }
    }

    #[test]
    fn star_covers_everything_but_specific_scopes_do_not_cover_star() {
        let star = grant(&[Scope::All], None);
        let reader = grant(&[Scope::SessionsRead], None);
        assert!(star.covers(&reader));
        assert!(!reader.covers(&star));
        assert!(reader.covers(&reader));
        assert!(!reader.covers(&grant(&[Scope::SessionsManage], None)));
    }

    #[test]
    fn session_limits_only_narrow() {
        let limited = grant(&[Scope::All], Some(&["a", "b"]));
        assert!(limited.covers(&grant(&[Scope::SessionsRead], Some(&["a"]))));
        assert!(!limited.covers(&grant(&[Scope::SessionsRead], Some(&["c"]))));
        assert!(!limited.covers(&grant(&[Scope::SessionsRead], None)));
    }

    #[test]
    fn expiring_keys_cannot_mint_longer_lived_ones() {
        let now = Utc::now();
        let mut parent = grant(&[Scope::All], None);
        parent.expires_at = Some(now);
        let mut child = grant(&[Scope::SessionsRead], None);
        assert!(parent.covers(&child), "expiry does not limit what a key may see");
        assert!(parent.require_outlives(&child).is_err());
        child.expires_at = Some(now + chrono::Duration::days(1));
        assert!(parent.require_outlives(&child).is_err());
        child.expires_at = Some(now);
        assert!(parent.require_outlives(&child).is_ok());
    }
}
