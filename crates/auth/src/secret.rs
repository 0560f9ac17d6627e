//! Secrets at rest and their checks: argon2id (the `argon2` crate's
//! recommended parameters) for passwords and tokens, constant-time
//! comparisons, and a dummy hash so that an unknown user costs the same
//! time as a wrong password.
//!
//! * Passwords: `$argon2id$...` PHC strings with a random salt per write.
//! * Tokens: `$argon2id$...` with one fixed salt, so that a token (which
//!   comes without a user name) is found by its hash; tokens are meant to
//!   be long random values, so a per-account salt would add nothing but a
//!   scan of every account.
//! * HMAC secrets must be known to check a signature: they are stored as
//!   written, write-only (never returned by any endpoint).

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use subtle::ConstantTimeEq;

/// The fixed salt of token hashes (see the module documentation).
const TOKEN_SALT: &str = "ZXZlLXJzLXRva2VuLXYx";

/// The argon2id hash (PHC string) of a password, with a random salt.
pub fn hash_password(plain: &str) -> String {
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(plain.as_bytes(), &salt)
        .expect("argon2id with default parameters hashes any input")
        .to_string()
}

/// The argon2id hash (PHC string) of a token, with the fixed token salt:
/// equal tokens give equal hashes.
pub fn hash_token(token: &str) -> String {
    let salt = SaltString::from_b64(TOKEN_SALT).expect("a valid salt constant");
    Argon2::default()
        .hash_password(token.as_bytes(), &salt)
        .expect("argon2id with default parameters hashes any input")
        .to_string()
}

/// A hash no password matches, checked when the user is unknown so that
/// the refusal takes as long as a wrong password's.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("eve-rs: no such account"))
}

/// Whether `plain` matches the stored PHC string `stored` (in constant
/// time; a missing or malformed hash checks the dummy hash and fails).
pub fn verify_password(plain: &str, stored: Option<&str>) -> bool {
    let parsed = stored.and_then(|s| PasswordHash::new(s).ok());
    match parsed {
        Some(hash) => Argon2::default()
            .verify_password(plain.as_bytes(), &hash)
            .is_ok(),
        None => {
            if let Ok(hash) = PasswordHash::new(dummy_hash()) {
                let _ = Argon2::default().verify_password(plain.as_bytes(), &hash);
            }
            false
        }
    }
}

/// Byte equality in constant time (for equal lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Runs a CPU-heavy hash off the async workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_salted_argon2id_and_verify() {
        let a = hash_password("s3cret");
        let b = hash_password("s3cret");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify_password("s3cret", Some(&a)));
        assert!(!verify_password("wrong", Some(&a)));
        assert!(!verify_password("s3cret", None));
        assert!(!verify_password("s3cret", Some("not a hash")));
    }

    #[test]
    fn tokens_hash_deterministically() {
        assert_eq!(hash_token("abc"), hash_token("abc"));
        assert_ne!(hash_token("abc"), hash_token("abd"));
        assert!(hash_token("abc").starts_with("$argon2id$"));
    }
}
