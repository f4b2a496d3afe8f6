//! Values with limits the API both enforces and documents: each type below declares its limits
//! once; its `Deserialize` refuses what breaks them (so a request that does is a 400 naming the
//! field) and its schema writes the same limits into the OpenAPI document. A number or pattern
//! written in a handler and again in an attribute could disagree; these cannot.
//!
//! Patterns use only explicit ASCII classes (no `.`, `\s`, `\w`, `\d`), which mean the same in
//! Rust's `regex`, ECMAScript and Python, so a client validating against the document agrees
//! with the server character for character.

use std::sync::LazyLock;

use regex::Regex;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

/// Limits of a string: a length in characters (Unicode scalar values, as JSON Schema counts
/// them) and an optional pattern the whole value must match somewhere (JSON Schema's
/// `pattern` is unanchored: anchor it with `^…$` to constrain every character).
#[derive(Debug)]
pub struct TextRule {
    /// Fewest characters.
    pub min: usize,
    /// Most characters.
    pub max: usize,
    /// A regular expression the value must match, and what it means in words.
    pub pattern: Option<(&'static str, &'static str)>,
}

impl TextRule {
    /// Why `value` breaks the rule, if it does.
    pub fn violation(&self, value: &str, compiled: Option<&Regex>) -> Option<String> {
        let length = value.chars().count();
        if !(self.min..=self.max).contains(&length) {
            return Some(format!("must be {} to {} characters, got {length}", self.min, self.max));
        }
        match (self.pattern, compiled) {
            (Some((_, meaning)), Some(regex)) if !regex.is_match(value) => Some(format!("must be {meaning}")),
            _ => None,
        }
    }

    /// The rule as a JSON Schema string.
    pub fn schema(&self) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(self.min))
            .max_length(Some(self.max))
            .pattern(self.pattern.map(|(pattern, _)| pattern))
    }

    /// The compiled pattern (patterns are constants, checked by this module's tests).
    pub fn compile(&self) -> Option<Regex> {
        self.pattern.and_then(|(pattern, _)| Regex::new(pattern).ok())
    }
}

/// Limits of an integer.
#[derive(Debug)]
pub struct IntRule {
    /// Smallest value.
    pub min: u32,
    /// Largest value.
    pub max: u32,
    /// Whether the value arrives as text (a query string, which carries only text); in a JSON
    /// body only a number is an integer.
    pub text: bool,
}

impl IntRule {
    /// Why `value` breaks the rule, if it does (`value` is what the client sent, in words).
    pub fn violation(&self, value: &str) -> String {
        format!("must be an integer from {} to {}, got {value}", self.min, self.max)
    }

    /// The rule as a JSON Schema integer.
    pub fn schema(&self) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::UInt32)))
            .minimum(Some(self.min))
            .maximum(Some(self.max))
    }

    /// Reads an integer from any JSON number or query-string text, refusing what is out of range
    /// with one message (a huge number is out of range, not "too large to fit").
    fn accept<E: serde::de::Error>(&self, value: i128, shown: &str) -> Result<u32, E> {
        u32::try_from(value)
            .ok()
            .filter(|v| (self.min..=self.max).contains(v))
            .ok_or_else(|| E::custom(self.violation(shown)))
    }
}

/// Visits whatever a bounded integer arrives as: a JSON integer, a float with no fraction, or
/// the text of a query string.
struct IntVisitor(&'static IntRule);

impl serde::de::Visitor<'_> for IntVisitor {
    type Value = u32;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an integer from {} to {}", self.0.min, self.0.max)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u32, E> {
        self.0.accept(i128::from(v), &v.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u32, E> {
        self.0.accept(i128::from(v), &v.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u32, E> {
        let whole = v.fract() == 0.0 && v.abs() < 1e30;
        // `whole` bounds the value, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let value = if whole { v as i128 } else { i128::MAX };
        self.0.accept(value, &v.to_string())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u32, E> {
        if !self.0.text {
            return Err(E::invalid_type(serde::de::Unexpected::Str(v), &self));
        }
        let digits = v.strip_prefix('-').unwrap_or(v);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom(self.0.violation(&format!("`{v}`"))));
        }
        self.0.accept(v.parse::<i128>().unwrap_or(i128::MAX), v)
    }
}

/// Reads a bounded integer (for the types [`bounded_int!`] declares).
pub fn deserialize_int<'de, D: serde::Deserializer<'de>>(
    rule: &'static IntRule,
    deserializer: D,
) -> Result<u32, D::Error> {
    deserializer.deserialize_any(IntVisitor(rule))
}

/// Reads a bounded string (for the types [`bounded_text!`] declares).
pub fn deserialize_text<'de, D: serde::Deserializer<'de>>(
    rule: &'static TextRule,
    compiled: &LazyLock<Option<Regex>>,
    deserializer: D,
) -> Result<String, D::Error> {
    let value = <String as serde::Deserialize>::deserialize(deserializer)?;
    match rule.violation(&value, compiled.as_ref()) {
        Some(why) => Err(serde::de::Error::custom(why)),
        None => Ok(value),
    }
}

/// Limits of a list: how many items.
#[derive(Debug)]
pub struct ListRule {
    /// Fewest items.
    pub min: usize,
    /// Most items.
    pub max: usize,
    /// Whether every item must differ from the others.
    pub unique: bool,
}

impl ListRule {
    /// Why `items` break the rule, if they do.
    pub fn violation<T: PartialEq>(&self, items: &[T]) -> Option<String> {
        if !(self.min..=self.max).contains(&items.len()) {
            return Some(format!(
                "must list {} to {} items, got {}",
                self.min,
                self.max,
                items.len()
            ));
        }
        let repeated = self.unique && items.iter().enumerate().any(|(i, item)| items[..i].contains(item));
        repeated.then(|| "must not repeat an item".to_owned())
    }

    /// The rule as a JSON Schema array of `items`.
    pub fn schema(&self, items: RefOr<Schema>) -> ArrayBuilder {
        ArrayBuilder::new()
            .items(items)
            .min_items(Some(self.min))
            .max_items(Some(self.max))
            .unique_items(self.unique)
    }
}

/// Declares a string newtype with a [`TextRule`]: checked when read, documented inline (fields
/// of this type need `#[schema(inline)]`/`#[param(inline)]`; without it the field would be a
/// `$ref` to a component that does not exist, which the spec validation tests refuse).
/// `content_encoding = "base64"` after the rule documents a string that carries bytes.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident = $rule:expr;) => {
        $crate::model::bounded::bounded_text!(@declare [$(#[$meta])*] $name = $rule; schema = Self::RULE.schema());
    };
    ($(#[$meta:meta])* $name:ident = $rule:expr; content_encoding = $encoding:literal;) => {
        $crate::model::bounded::bounded_text!(
            @declare [$(#[$meta])*] $name = $rule; schema = Self::RULE.schema().content_encoding($encoding)
        );
    };
    (@declare [$(#[$meta:meta])*] $name:ident = $rule:expr; schema = $schema:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        #[allow(dead_code, reason = "each declared type uses only some of its accessors")]
        impl $name {
            /// The limits of this value.
            pub const RULE: $crate::model::bounded::TextRule = $rule;

            /// The checked value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The checked value, owned.
            pub fn into_inner(self) -> String {
                self.0
            }

            /// Checks a value that did not come through serde (a header, a path segment).
            pub fn parse(value: &str) -> Result<Self, String> {
                static COMPILED: std::sync::LazyLock<Option<regex::Regex>> =
                    std::sync::LazyLock::new(|| $name::RULE.compile());
                match Self::RULE.violation(value, COMPILED.as_ref()) {
                    Some(why) => Err(why),
                    None => Ok(Self(value.to_owned())),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                static COMPILED: std::sync::LazyLock<Option<regex::Regex>> =
                    std::sync::LazyLock::new(|| $name::RULE.compile());
                $crate::model::bounded::deserialize_text(&Self::RULE, &COMPILED, deserializer).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $schema.into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// Declares a `u32` newtype with an [`IntRule`], like [`bounded_text!`].
macro_rules! bounded_int {
    ($(#[$meta:meta])* $name:ident = $rule:expr;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(u32);

        #[allow(dead_code, reason = "each declared type uses only some of its accessors")]
        impl $name {
            /// The limits of this value.
            pub const RULE: $crate::model::bounded::IntRule = $rule;

            /// The checked value.
            pub const fn get(self) -> u32 {
                self.0
            }

            /// Checks a value that did not come through serde (a stored one).
            pub fn new(value: u32) -> Result<Self, String> {
                if (Self::RULE.min..=Self::RULE.max).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(Self::RULE.violation(&value.to_string()))
                }
            }

            /// A value known to be in range (a default), checked at compile time.
            pub const fn new_const(value: u32) -> Self {
                assert!(value >= Self::RULE.min && value <= Self::RULE.max);
                Self(value)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                static RULE: $crate::model::bounded::IntRule = $name::RULE;
                $crate::model::bounded::deserialize_int(&RULE, deserializer).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                Self::RULE.schema().into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// Declares a list newtype with a [`ListRule`], like [`bounded_text!`]; `items` gives the
/// schema of one item.
macro_rules! bounded_list {
    ($(#[$meta:meta])* $name:ident(Vec<$item:ty>) = $rule:expr, items = $items:expr;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(Vec<$item>);

        #[allow(dead_code, reason = "each declared type uses only some of its accessors")]
        impl $name {
            /// The limits of this list.
            pub const RULE: $crate::model::bounded::ListRule = $rule;

            /// The checked items.
            pub fn as_slice(&self) -> &[$item] {
                &self.0
            }

            /// The checked items, owned.
            pub fn into_inner(self) -> Vec<$item> {
                self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let items = <Vec<$item> as serde::Deserialize>::deserialize(deserializer)?;
                match Self::RULE.violation(&items) {
                    Some(why) => Err(serde::de::Error::custom(why)),
                    None => Ok(Self(items)),
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                Self::RULE.schema($items).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

pub(crate) use {bounded_int, bounded_list, bounded_text};

/// The schema of a named component, for a list's items.
pub fn reference<T: utoipa::ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

/// The inline schema of a bounded type, for a list's items.
pub fn inline<T: utoipa::PartialSchema>() -> RefOr<Schema> {
    T::schema()
}

/// Visible ASCII only (`!` to `~`): no spaces, controls or other characters.
pub const VISIBLE_ASCII: (&str, &str) = ("^[!-~]*$", "visible ASCII characters (`!` to `~`), without spaces");

/// At least one character that is not a space, tab or line break.
pub const NOT_BLANK: (&str, &str) = ("[^ \t\r\n]", "more than spaces and line breaks");

/// The pattern of a session name, and its meaning, for [`SessionName`] and the filters that
/// may also be empty.
macro_rules! session_name_pattern {
    () => {
        "^[A-Za-z0-9][A-Za-z0-9._-]*$"
    };
    (meaning) => {
        "letters, digits, dots, hyphens or underscores, starting with a letter or digit"
    };
}

pub(crate) use session_name_pattern;

bounded_text! {
    /// A session's name, as created and as named in paths and filters.
    SessionName = TextRule {
        min: 1,
        max: 64,
        pattern: Some((session_name_pattern!(), session_name_pattern!(meaning))),
    };
}

bounded_text! {
    /// A name for humans (keys, webhooks).
    Label = TextRule { min: 1, max: 100, pattern: Some(NOT_BLANK) };
}

bounded_text! {
    /// A label that may be emptied (`""` removes it).
    ClearableLabel = TextRule {
        min: 0,
        max: 100,
        pattern: Some(("^$|[^ \t\r\n]", "empty, or more than spaces and line breaks")),
    };
}

bounded_text! {
    /// The `Idempotency-Key` header.
    IdempotencyKey = TextRule { min: 1, max: 255, pattern: Some(VISIBLE_ASCII) };
}

bounded_text! {
    /// A list's `cursor`: what the previous page handed out.
    Cursor = TextRule { min: 1, max: 512, pattern: Some(VISIBLE_ASCII) };
}

bounded_list! {
    /// Sessions a key or a filter is limited to.
    SessionNames(Vec<SessionName>) = ListRule { min: 1, max: 1000, unique: false }, items = inline::<SessionName>();
}

bounded_text! {
    /// The `cursor` of a chat's history: a message's sequence number.
    SeqCursor = TextRule { min: 1, max: 18, pattern: Some(("^[0-9]+$", "a `cursor` from a previous page")) };
}

bounded_int! {
    /// Items per page of a list.
    PageLimit = IntRule { min: 1, max: 200, text: true };
}

bounded_text! {
    /// A phone number in international form: 7 to 15 digits, `+` optional.
    PhoneNumber = TextRule {
        min: 7,
        max: 16,
        pattern: Some(("^\\+?[0-9]{7,15}$", "7 to 15 digits, `+` optional")),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    bounded_text! {
        /// A test string.
        Name = TextRule { min: 2, max: 4, pattern: Some(NOT_BLANK) };
    }

    bounded_int! {
        /// A test integer.
        Count = IntRule { min: 1, max: 200, text: true };
    }

    bounded_int! {
        /// A test integer in a JSON body.
        Attempts = IntRule { min: 1, max: 200, text: false };
    }

    #[derive(Debug, serde::Deserialize)]
    struct Query {
        count: Count,
    }

    #[test]
    fn strings_are_checked_as_documented() {
        let read = |json: &str| serde_json::from_str::<Name>(json).map_err(|e| e.to_string());
        assert_eq!(read("\"ab\"").map(Name::into_inner), Ok("ab".to_owned()));
        assert_eq!(
            read("\"éèà\"").map(Name::into_inner),
            Ok("éèà".to_owned()),
            "characters, not bytes"
        );
        assert!(read("\"a\"").unwrap_err().contains("must be 2 to 4 characters, got 1"));
        assert!(read("\"abcde\"").unwrap_err().contains("got 5"));
        assert!(read("\"  \\n\"").unwrap_err().contains("more than spaces"));
        let schema = serde_json::to_value(<Name as utoipa::PartialSchema>::schema()).unwrap_or_default();
        assert_eq!(schema["minLength"], 2);
        assert_eq!(schema["maxLength"], 4);
        assert_eq!(schema["pattern"], NOT_BLANK.0);
    }

    #[test]
    fn integers_are_checked_as_documented_from_json_and_query_strings() {
        let json = |text: &str| {
            serde_json::from_str::<Count>(text)
                .map(Count::get)
                .map_err(|e| e.to_string())
        };
        assert_eq!(json("200"), Ok(200));
        assert_eq!(json("5.0"), Ok(5));
        for bad in ["0", "201", "-1", "1.5", "99999999999999999999999999", "1e300"] {
            assert!(
                json(bad).unwrap_err().contains("must be an integer from 1 to 200"),
                "{bad}"
            );
        }
        assert!(
            serde_json::from_str::<Attempts>("\"7\"").is_err(),
            "a JSON string is not an integer"
        );
        let query = |text: &str| {
            serde_urlencoded::from_str::<Query>(text)
                .map(|q| q.count.get())
                .map_err(|e| e.to_string())
        };
        assert_eq!(query("count=12"), Ok(12));
        for bad in [
            "count=0",
            "count=abc",
            "count=",
            "count=100000000000000000000000",
            "count=-3",
        ] {
            assert!(
                query(bad).unwrap_err().contains("must be an integer from 1 to 200"),
                "{bad}"
            );
        }
        let schema = serde_json::to_value(<Count as utoipa::PartialSchema>::schema()).unwrap_or_default();
        assert_eq!(
            (schema["minimum"].clone(), schema["maximum"].clone()),
            (1.into(), 200.into())
        );
    }

    #[test]
    fn patterns_compile_and_lists_are_checked() {
        for (pattern, _) in [VISIBLE_ASCII, NOT_BLANK] {
            assert!(Regex::new(pattern).is_ok(), "{pattern}");
        }
        let rule = ListRule {
            min: 1,
            max: 2,
            unique: true,
        };
        assert_eq!(rule.violation(&[1]), None);
        assert!(rule.violation::<u8>(&[]).is_some());
        assert!(rule.violation(&[1, 2, 3]).is_some());
        assert!(rule.violation(&[1, 1]).unwrap_or_default().contains("repeat"));
    }
}
