//! `eve-rs`: serve an Eve-compatible REST API from a settings file, or
//! check a settings file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eve_backends::LayerUrl;

mod accounts;

/// Eve's "REST API for humans", in Rust.
#[derive(Parser, Debug)]
#[command(name = "eve-rs", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API described by a settings file.
    Serve {
        /// Settings file (YAML or JSON). Defaults to $EVE_SETTINGS, then
        /// ./settings.yaml.
        settings: Option<PathBuf>,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0 picks a free port).
        #[arg(long, default_value_t = 5000)]
        port: u16,
        /// Directory of the embedded store.
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Data layer to use instead of the settings' DATA_LAYER: `embedded`
        /// (in --data-dir), or a connection URL `mongodb://…`,
        /// `mongodb+srv://…`, `postgres://…`, `postgresql://…`. Defaults to
        /// $EVE_DATA_LAYER.
        #[arg(long, value_name = "URL")]
        data_layer: Option<String>,
    },
    /// Load and check a settings file; print every problem with its key
    /// path and exit non-zero if there is any.
    Check {
        /// Settings file (YAML or JSON).
        settings: PathBuf,
        /// Check the settings as `serve --data-layer URL` reads them: the
        /// layer (`embedded`, `mongodb://…`, `mongodb+srv://…`,
        /// `postgres://…`, `postgresql://…`)
        /// overrides DATA_LAYER. Defaults to $EVE_DATA_LAYER.
        #[arg(long, value_name = "URL")]
        data_layer: Option<String>,
    },
    /// Manage the accounts of the built-in authentication providers.
    Accounts {
        #[command(subcommand)]
        action: AccountsCommand,
    },
    /// Check the integrity of the embedded store (documents, indexes and
    /// SQLite's own structures); run it while no server uses the store.
    /// Exits non-zero and lists the problems if there is any.
    CheckStore {
        /// Directory of the embedded store.
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Data layer to check: `embedded` (the default, in --data-dir) or a
        /// connection URL `postgres://…`, `postgresql://…`, `mongodb://…`,
        /// `mongodb+srv://…` (the server must answer). Defaults to
        /// $EVE_DATA_LAYER.
        #[arg(long, value_name = "URL")]
        data_layer: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum AccountsCommand {
    /// Add an account to the resource AUTH.accounts names, through the
    /// same executor as any write (validation, hashing), without
    /// authentication. The password (the token for `token`, the shared
    /// secret for `hmac`) is read from standard input, or from
    /// --password-env.
    Add {
        /// Settings file (YAML or JSON).
        settings: PathBuf,
        /// The account's user name.
        #[arg(long)]
        username: String,
        /// Roles, comma-separated.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Read the password from this environment variable instead of
        /// standard input.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// Directory of the embedded store.
        #[arg(long, default_value = "./data", conflicts_with = "data_layer")]
        data_dir: PathBuf,
        /// Data layer to use instead of the settings' DATA_LAYER (as for
        /// `serve`). Defaults to $EVE_DATA_LAYER.
        #[arg(long, value_name = "URL")]
        data_layer: Option<String>,
    },
}

fn settings_path(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os("EVE_SETTINGS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("settings.yaml"))
}

/// The environment variable read when `--data-layer` is not given.
const DATA_LAYER_VAR: &str = "EVE_DATA_LAYER";

/// The data layer named by `--data-layer`, else by `$EVE_DATA_LAYER` (an
/// empty value counts as unset); `None` when neither names one. The error
/// says which of the two was wrong and never repeats a URL's credentials;
/// it is printed, and the command's exit code returned.
fn data_layer_override(given: Option<String>) -> Result<Option<LayerUrl>, ExitCode> {
    parse_data_layer(given).map_err(|e| {
        eprintln!("eve-rs: {e}");
        ExitCode::FAILURE
    })
}

fn parse_data_layer(given: Option<String>) -> Result<Option<LayerUrl>, String> {
    let (source, text) = match given {
        Some(text) => ("--data-layer", text),
        None => match std::env::var(DATA_LAYER_VAR) {
            Ok(text) if !text.trim().is_empty() => (DATA_LAYER_VAR, text),
            _ => return Ok(None),
        },
    };
    let layer = LayerUrl::parse(&text).map_err(|e| format!("{source}: {e}"))?;
    layer.ensure_built().map_err(|e| format!("{source} {e}"))?;
    Ok(Some(layer))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Check {
            settings,
            data_layer,
        } => match data_layer_override(data_layer) {
            Ok(layer) => check(settings, layer),
            Err(code) => code,
        },
        Command::Accounts {
            action:
                AccountsCommand::Add {
                    settings,
                    username,
                    roles,
                    password_env,
                    data_dir,
                    data_layer,
                },
        } => {
            let layer = match data_layer_override(data_layer) {
                Ok(layer) => layer,
                Err(code) => return code,
            };
            let args = accounts::AddAccount {
                settings,
                username,
                roles: roles.into_iter().filter(|r| !r.is_empty()).collect(),
                password_env,
                data_dir,
                layer,
            };
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(accounts::add(args, load_settings)));
            match result {
                Ok(id) => {
                    println!("account added: {id}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("eve-rs: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckStore {
            data_dir,
            data_layer,
        } => match data_layer_override(data_layer) {
            Ok(layer) => check_store(data_dir, layer.unwrap_or(LayerUrl::Embedded)),
            Err(code) => code,
        },
        Command::Serve {
            settings,
            host,
            port,
            data_dir,
            data_layer,
        } => {
            let layer = match data_layer_override(data_layer) {
                Ok(layer) => layer,
                Err(code) => return code,
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("eve-rs: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let settings = settings_path(settings);
            match runtime.block_on(serve(settings, host, port, data_dir, layer)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("eve-rs: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Loads and checks a settings file; a layer named on the command line
/// replaces the file's `DATA_LAYER`, as if the file said so (so
/// `--data-layer embedded` accepts MONGO_* keys with a warning, as
/// `DATA_LAYER: embedded` does).
fn load_settings(
    path: &std::path::Path,
    layer: Option<&LayerUrl>,
) -> Result<eve_core::Domain, eve_core::settings::SettingsError> {
    let mut raw = eve_core::settings::read_file(path)?;
    if let Some(layer) = layer {
        raw.insert("DATA_LAYER".into(), layer.name().into());
        if let LayerUrl::Postgres { uri } = layer {
            raw.insert("POSTGRES_URI".into(), uri.clone().into());
        }
    }
    let domain = eve_core::settings::check(raw, &eve_schema_registry())?;
    // The command line registers no provider: every name the settings use
    // must be a built-in (or `none`).
    let problems: Vec<eve_core::settings::Problem> = eve_http::check_provider_names(&domain)
        .into_iter()
        .map(|e| eve_core::settings::Problem::new(e.path, e.message))
        .collect();
    if problems.is_empty() {
        Ok(domain)
    } else {
        Err(eve_core::settings::SettingsError { problems })
    }
}

fn check(path: PathBuf, layer: Option<LayerUrl>) -> ExitCode {
    match load_settings(&path, layer.as_ref()) {
        Ok(domain) => {
            for w in &domain.warnings {
                println!("warning: {w}");
            }
            println!(
                "{}: OK ({} resources)",
                path.display(),
                domain.resources.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: invalid settings", path.display());
            for p in &e.problems {
                if p.path.is_empty() {
                    eprintln!("  {}", p.message);
                } else {
                    eprintln!("  {}: {}", p.path, p.message);
                }
            }
            ExitCode::FAILURE
        }
    }
}

fn check_store(dir: PathBuf, layer: LayerUrl) -> ExitCode {
    // Layers not built were refused with the arguments. The embedded
    // store's files must exist: opening would create them.
    if layer == LayerUrl::Embedded && !dir.is_dir() {
        eprintln!("{}: no such directory", dir.display());
        return ExitCode::FAILURE;
    }
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(async {
                let options = eve_backends::OpenOptions::new(&dir);
                let store = eve_backends::open_layer(&layer, &options)
                    .await
                    .map_err(|e| e.to_string())?;
                store.check_integrity().await.map_err(|e| e.to_string())
            })
        });
    match result {
        Ok(()) => {
            println!("{}: OK", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: integrity check failed: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn eve_schema_registry() -> eve_http::Registry {
    eve_http::Registry::default()
}

async fn serve(
    settings: PathBuf,
    host: String,
    port: u16,
    data_dir: PathBuf,
    layer: Option<LayerUrl>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let domain = load_settings(&settings, layer.as_ref())
        .with_context(|| format!("invalid settings file {}", settings.display()))?;
    for w in &domain.warnings {
        tracing::warn!("{w}");
    }
    let layers = eve_backends::Backends::open(&domain, layer.as_ref(), &data_dir)
        .await
        .context("cannot start the API")?;
    let mut builder = eve_http::App::builder().store(layers.data_layer().clone());
    if let Some(media) = layers.media() {
        builder = builder.media(media.clone());
    }
    let app = builder
        .domain(domain)
        .await
        .context("cannot start the API")?;
    if layers.media().is_some() {
        // What a crash left between storing a file and writing its
        // document (docs/media.md): files older than a day that no
        // document names.
        let exec = app.executor().clone();
        tokio::spawn(async move {
            match exec
                .collect_media_orphans(std::time::Duration::from_secs(24 * 3600))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!("removed {n} media files no document names"),
                Err(e) => tracing::warn!(error = %e, "media orphan collection failed"),
            }
        });
    }
    let addr: SocketAddr = format!("{host}:{port}").parse().or_else(|_| {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .ok()
            .and_then(|mut a| a.next())
            .context("invalid --host")
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    // The signal handlers are in place before the address is announced: a
    // signal sent as soon as a client sees the server is a graceful stop,
    // never the default "terminate at once".
    let shutdown = shutdown_signal()?;
    tracing::info!("serving {} on http://{local}", settings.display());
    println!("listening on http://{local}");
    app.serve(listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers now and returns a future that
/// resolves on either: the server then stops accepting and finishes the
/// requests in flight.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}

/// Resolves on Ctrl-C: the server then stops accepting and finishes the
/// requests in flight.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
