//! The custom-rules example: two validation extensions registered from
//! Rust and used by name from `settings.yaml`.
//!
//! * `isodd: true` — a custom **rule** (validation.md §10): the field's
//!   integer value must be odd. Its constraint is a boolean, checked when
//!   the settings are loaded (`isodd: "yes"` is a start-up error).
//! * `check_with: vat_number` — a named **check_with** function: the value
//!   must look like an EU VAT number (two-letter country prefix, then the
//!   national part), and French numbers must carry the right check key.

use std::path::Path;
use std::sync::Arc;

use bson::Bson;
use eve_http::App;
use eve_schema::{ConstraintKind, Registry};

/// The message of a failed `isodd` rule.
pub const NOT_ODD: &str = "Value must be an odd number";

/// The settings file shipped with the example.
pub fn default_settings() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("settings.yaml")
}

/// The registry with both extensions.
pub fn registry() -> Registry {
    Registry::new()
        .register_rule(
            "isodd",
            ConstraintKind::Boolean,
            Arc::new(|constraint, _field, value, _ctx| {
                let wanted = constraint.as_bool() == Some(true);
                (wanted && !is_odd(value)).then(|| NOT_ODD.to_string())
            }),
        )
        .register_check_with(
            "vat_number",
            Arc::new(|_field, value, _ctx| match value {
                Bson::String(s) => vat_problem(s).into_iter().collect(),
                // Non-strings are the `type` rule's business.
                _ => Vec::new(),
            }),
        )
}

/// Why the example's API could not start.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Builds the API from a settings file with the example's registry, over
/// the data layer the settings name (the embedded store in `data_dir`).
pub async fn app(settings: &Path, data_dir: &Path) -> Result<App, StartError> {
    let domain = eve_core::settings::load(settings, &registry())?;
    let layers = eve_backends::Backends::open(&domain, None, data_dir).await?;
    let app = App::new(domain, layers.primary().clone()).await?;
    Ok(app)
}

fn is_odd(value: &Bson) -> bool {
    match value {
        Bson::Int32(n) => n % 2 != 0,
        Bson::Int64(n) => n % 2 != 0,
        _ => false,
    }
}

/// Why `vat` is not a valid VAT number, if it is not.
pub fn vat_problem(vat: &str) -> Option<String> {
    let invalid = || Some(format!("'{vat}' is not a valid VAT number"));
    let bytes = vat.as_bytes();
    if bytes.len() < 4 || !bytes[..2].iter().all(u8::is_ascii_uppercase) {
        return invalid();
    }
    let (country, national) = vat.split_at(2);
    let shape_ok = match country {
        // Two-character key, then the 9-digit SIREN.
        "FR" => national.len() == 11 && national.bytes().all(|b| b.is_ascii_alphanumeric()),
        "DE" | "EE" | "PT" | "EL" => {
            national.len() == 9 && national.bytes().all(|b| b.is_ascii_digit())
        }
        "IT" | "LV" | "HR" => national.len() == 11 && national.bytes().all(|b| b.is_ascii_digit()),
        "BE" => national.len() == 10 && national.bytes().all(|b| b.is_ascii_digit()),
        _ => {
            (2..=12).contains(&national.len())
                && national.bytes().all(|b| b.is_ascii_alphanumeric())
        }
    };
    if !shape_ok {
        return invalid();
    }
    if country == "FR" {
        let (key, siren) = national.split_at(2);
        // Numeric keys are checked; letter keys (a newer scheme) are not.
        if let (Ok(key), Ok(siren)) = (key.parse::<u64>(), siren.parse::<u64>()) {
            if key != (12 + 3 * (siren % 97)) % 97 {
                return Some(format!("'{vat}' has a wrong check key"));
            }
        } else if siren.parse::<u64>().is_err() {
            return invalid();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers_need_the_right_key() {
        assert_eq!(vat_problem("FR40303265045"), None);
        assert_eq!(
            vat_problem("FR41303265045").as_deref(),
            Some("'FR41303265045' has a wrong check key")
        );
    }

    #[test]
    fn shapes_are_checked_per_country() {
        assert_eq!(vat_problem("DE123456789"), None);
        assert_eq!(vat_problem("NL123456789B01"), None);
        for bad in ["", "FR", "fr40303265045", "DE12345678", "BE12345678", "XX1"] {
            assert!(vat_problem(bad).is_some(), "{bad}");
        }
    }
}
