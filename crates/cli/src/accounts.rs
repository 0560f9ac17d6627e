//! `eve-rs accounts add`: creates an account (typically the first
//! administrator) through the same executor as any write, without
//! authentication (features.md §23.7): validation, the meta fields and the
//! hashing of the password all apply.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use eve_backends::LayerUrl;

/// What `accounts add` was given.
pub(crate) struct AddAccount {
    pub settings: PathBuf,
    pub username: String,
    pub roles: Vec<String>,
    pub password_env: Option<String>,
    pub data_dir: PathBuf,
    pub layer: Option<LayerUrl>,
}

/// The secret: from `--password-env VAR`, else the first line of standard
/// input (without its line ending). Never empty.
fn read_secret(password_env: Option<&str>) -> anyhow::Result<String> {
    let secret = match password_env {
        Some(var) => std::env::var(var).with_context(|| {
            format!("--password-env: the environment variable {var} is not set")
        })?,
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if secret.is_empty() {
        bail!("the password is empty");
    }
    Ok(secret)
}

/// Adds the account; returns its id as stored.
pub(crate) async fn add(
    args: AddAccount,
    load: impl FnOnce(
        &Path,
        Option<&LayerUrl>,
    ) -> Result<eve_core::Domain, eve_core::settings::SettingsError>,
) -> anyhow::Result<String> {
    let domain = load(&args.settings, args.layer.as_ref())
        .with_context(|| format!("invalid settings file {}", args.settings.display()))?;
    let Some(auth) = domain.settings.auth.clone() else {
        bail!("the settings have no AUTH: there is no accounts resource to add to");
    };
    let Some(accounts) = auth.accounts.clone() else {
        bail!("AUTH names no accounts resource (AUTH.accounts)");
    };
    let secret = read_secret(args.password_env.as_deref())?;
    // The field the provider checks: the token for `token`, the shared
    // secret for `hmac`, else the password.
    let secret_field = match auth.provider.as_str() {
        "token" => auth.token_field.clone(),
        "hmac" => auth.secret_field.clone(),
        _ => auth.password_field.clone(),
    };
    let mut doc = bson::Document::new();
    doc.insert(auth.username_field.clone(), args.username.clone());
    doc.insert(secret_field, secret);
    if !args.roles.is_empty() {
        doc.insert(auth.roles_field.clone(), args.roles.clone());
    }
    let layers = eve_backends::Backends::open(&domain, args.layer.as_ref(), &args.data_dir)
        .await
        .context("cannot open the data layer")?;
    let app = eve_http::App::new(domain, layers.data_layer().clone())
        .await
        .context("cannot open the API")?;
    let data = app
        .resource(&accounts)
        .with_context(|| format!("no resource '{accounts}'"))?;
    let stored = data
        .insert(doc)
        .await
        .with_context(|| format!("the account '{}' was not added", args.username))?;
    Ok(match stored.get("_id") {
        Some(bson::Bson::ObjectId(id)) => id.to_hex(),
        Some(other) => other.to_string(),
        None => String::new(),
    })
}
