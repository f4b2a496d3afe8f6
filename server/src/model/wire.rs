//! Enums that travel as strings: one declaration gives the serde (and OpenAPI) names, the stored
//! names (`as_str`) and their parser (`FromStr`), so the three cannot drift apart.

/// Declares a `Copy` enum serialized with serde's `rename_all = $case` (utoipa reads it too),
/// whose `as_str` gives the same names, parsed back by `FromStr`; `ALL` lists the variants.
/// `$case` is a `tt` on purpose: utoipa does not read a `rename_all` passed as a `literal`
/// fragment (the OpenAPI names would silently become the variant names).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident as $case:tt { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = $case)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The wire name, as stored and serialized.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire,)* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = anyhow::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok(Self::$variant),)*
                    other => Err(anyhow::anyhow!(concat!("unknown ", stringify!($name), " `{}`"), other)),
                }
            }
        }
    };
}

pub(crate) use wire_enum;

/// Bytes stored as standard base64 in JSON columns (`#[serde(with = "base64_bytes")]`).
pub(crate) mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::delivery::{DeliveryState, RetryPolicy};
    use crate::model::message::MessageStatus;
    use crate::model::session::{Status, StatusReason};

    /// The serde name of every variant is its `as_str` name, and that name parses back.
    fn consistent<T>(all: &[T], name: fn(&T) -> &'static str)
    where
        T: serde::Serialize + std::str::FromStr + PartialEq + std::fmt::Debug,
    {
        for value in all {
            assert_eq!(serde_json::to_value(value).ok(), Some(serde_json::json!(name(value))));
            assert_eq!(name(value).parse::<T>().ok().as_ref(), Some(value));
        }
    }

    #[test]
    fn serde_names_stored_names_and_parsing_agree() {
        consistent(Status::ALL, |v| v.as_str());
        consistent(StatusReason::ALL, |v| v.as_str());
        consistent(MessageStatus::ALL, |v| v.as_str());
        consistent(RetryPolicy::ALL, |v| v.as_str());
        consistent(DeliveryState::ALL, |v| v.as_str());
        assert!("Sent".parse::<MessageStatus>().is_err());
    }
}
