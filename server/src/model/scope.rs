//! Permission scopes: exactly the 22 of Titan's API, `*` included.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! scopes {
    ($($variant:ident => $name:tt, $doc:tt;)*) => {
        /// One permission a key can hold; reads need `*:read`, changes `*:manage` or `*:write`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        pub enum Scope {
            $(#[doc = $doc] #[serde(rename = $name)] $variant,)*
        }

        impl Scope {
            /// Every scope, `*` first.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant),*];

            /// The scope's wire name, e.g. `sessions:read`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Scope::$variant => $name,)* }
            }
        }

        /// One marker type per scope, so a handler names the scope it needs in its signature
        /// (`Authorized<required::SessionsRead>`) and the check runs before its body is parsed.
        pub mod required {
            $(
                #[doc = concat!("Requires `", $name, "`.")]
                #[derive(Debug)]
                pub struct $variant;

                impl super::RequiredScope for $variant {
                    const SCOPE: super::Scope = super::Scope::$variant;
                }
            )*
        }
    };
}

scopes! {
    All => "*", "Every scope, including account key management.";
    SessionsRead => "sessions:read", "Read sessions and their status.";
    SessionsManage => "sessions:manage", "Create, start, stop, pair and delete sessions; mint client tokens.";
    MessagesWrite => "messages:write", "Send messages and message actions.";
    ChatsRead => "chats:read", "Read chats and message history.";
    ChatsManage => "chats:manage", "Archive, mute, pin, clear and delete chats.";
    ContactsRead => "contacts:read", "Read contacts and check numbers.";
    ContactsManage => "contacts:manage", "Block and unblock contacts.";
    GroupsRead => "groups:read", "Read groups.";
    GroupsManage => "groups:manage", "Create and change groups.";
    ChannelsRead => "channels:read", "Read channels.";
    ChannelsManage => "channels:manage", "Create, follow and change channels.";
    StatusWrite => "status:write", "Post to status@broadcast.";
    PresenceRead => "presence:read", "Read presence.";
    PresenceWrite => "presence:write", "Set and subscribe to presence.";
    LabelsRead => "labels:read", "Read WhatsApp Business labels.";
    LabelsManage => "labels:manage", "Change WhatsApp Business labels.";
    ProfileRead => "profile:read", "Read the session's profile.";
    ProfileWrite => "profile:write", "Change the session's profile.";
    WebhooksManage => "webhooks:manage", "Manage webhooks and read the event stream.";
    MediaRead => "media:read", "Read and download media.";
    MediaManage => "media:manage", "Persist media.";
}

/// A marker type naming the scope a route requires (see [`required`]).
pub trait RequiredScope {
    /// The scope.
    const SCOPE: Scope;
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is not one of Titan's.
#[derive(Debug, thiserror::Error)]
#[error("unknown scope `{0}`; valid scopes are the 22 listed at /docs, `*` included")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .iter()
            .copied()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_the_22_documented_scopes_and_names_round_trip() {
        assert_eq!(Scope::ALL.len(), 22, "API-SURFACE lists 22, `*` included");
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().ok(), Some(*scope));
            let json = serde_json::to_string(scope).ok();
            assert_eq!(json, Some(format!("\"{}\"", scope.as_str())));
        }
        assert!("sessions:write".parse::<Scope>().is_err());
    }
}
