//! Input rules shared by several endpoints, for values that arrive outside a JSON body (paths,
//! query strings); the rules themselves are the bounded types of [`crate::model::bounded`].

use crate::error::ApiError;
use crate::model::bounded::SessionName;

/// Checks a session name against [`SessionName`]'s rule.
pub fn session_name(name: &str) -> Result<(), ApiError> {
    SessionName::parse(name)
        .map(drop)
        .map_err(|why| ApiError::BadRequest(format!("invalid session name `{name}`: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_follow_the_documented_rule() {
        for ok in ["a", "default", "my-session", "A.b_c-9", &"x".repeat(64)] {
            assert!(session_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", ".a", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(session_name(bad).is_err(), "{bad}");
        }
    }
}
