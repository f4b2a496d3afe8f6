//! Resource ids: a type prefix plus a ULID, so ids sort in creation order and pages are stable.

use std::sync::Mutex;

use ulid::Generator;

static GENERATOR: Mutex<Generator> = Mutex::new(Generator::new());

/// A new id such as `key_01JZ8X6V3QW8T9N6F4C2B1A0Z9`, greater than every id made before it by
/// this process (ULIDs made in the same millisecond are incremented, not random).
pub fn new(prefix: &str) -> String {
    let mut generator = GENERATOR.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let ulid = generator.generate().unwrap_or_else(|_| ulid::Ulid::new());
    format!("{prefix}_{ulid}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_increase() {
        let ids: Vec<String> = (0..1000).map(|_| super::new("key")).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids[0].starts_with("key_"));
    }
}
