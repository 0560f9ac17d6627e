//! `eve-rs`: serve an Eve-compatible REST API from a settings file, or
//! check a settings file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    },
    /// Load and check a settings file; print every problem with its key
    /// path and exit non-zero if there is any.
    Check {
        /// Settings file (YAML or JSON).
        settings: PathBuf,
    },
    /// Check the integrity of the embedded store (documents, indexes and
    /// SQLite's own structures); run it while no server uses the store.
    /// Exits non-zero and lists the problems if there is any.
    CheckStore {
        /// Directory of the embedded store.
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
}

fn settings_path(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os("EVE_SETTINGS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("settings.yaml"))
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
        Command::Check { settings } => check(settings),
        Command::CheckStore { data_dir } => check_store(data_dir),
        Command::Serve {
            settings,
            host,
            port,
            data_dir,
        } => {
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
            match runtime.block_on(serve(settings_path(settings), host, port, data_dir)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("eve-rs: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn check(path: PathBuf) -> ExitCode {
    match eve_core::settings::load(&path, &eve_schema_registry()) {
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

fn check_store(dir: PathBuf) -> ExitCode {
    use eve_store::DataLayer;
    if !dir.is_dir() {
        eprintln!("{}: no such directory", dir.display());
        return ExitCode::FAILURE;
    }
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(async {
                let store = eve_store_sqlite::SqliteStore::open(&dir).map_err(|e| e.to_string())?;
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
) -> anyhow::Result<()> {
    use anyhow::Context;
    let domain = eve_core::settings::load(&settings, &eve_schema_registry())
        .with_context(|| format!("invalid settings file {}", settings.display()))?;
    for w in &domain.warnings {
        tracing::warn!("{w}");
    }
    let app = eve_http::App::open_domain(domain, &data_dir)
        .await
        .context("cannot start the API")?;
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
    tracing::info!("serving {} on http://{local}", settings.display());
    println!("listening on http://{local}");
    app.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT: the server stops accepting and finishes
/// in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
