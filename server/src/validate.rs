//! Input rules shared by several endpoints.

use crate::error::ApiError;

/// Checks a session name against `^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`.
pub fn session_name(name: &str) -> Result<(), ApiError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if first_ok && rest_ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "invalid session name `{name}`: use 1 to 64 letters, digits, dots, hyphens or underscores, starting with a letter or digit"
        )))
    }
}

/// Checks that a human label is present and not too long, returning it trimmed.
pub fn label(label: &str) -> Result<String, ApiError> {
    let trimmed = label.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 {
        return Err(ApiError::BadRequest("label must be 1 to 100 characters".into()));
    }
    Ok(trimmed.to_owned())
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
