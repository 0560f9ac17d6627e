//! `eve-bench-runner`: the eve-rs benchmark (see bench/README.md).
//!
//! Starts eve-rs, the reference Python Eve (the oracle) and a bare hyper
//! server (the ceiling) on 127.0.0.1, seeds data through the API, drives
//! the scenarios S1–S8 with wrk, and prints requests/s, p50, p99, peak RSS
//! and the ratios eve-rs/Eve and eve-rs/ceiling, then checks the targets.
//! `bench/run.sh` builds the binaries and installs wrk first.

mod config;
mod docs;
mod http;
mod measure;
mod paired;
mod report;
mod run;
mod seed;
mod server;

use std::process::Command;

use config::{parse_args, Paths};

/// Errors are messages for the operator.
type Result<T> = std::result::Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let outcome = Paths::find().and_then(|paths| {
        for bin in ["eve-rs", "eve-bench-ceiling"] {
            if !paths.bin.join(bin).exists() {
                return Err(format!(
                    "{} is missing: run bench/run.sh, which builds it",
                    paths.bin.join(bin).display()
                ));
            }
        }
        if Command::new("wrk").arg("--version").output().is_err() {
            return Err("wrk is not installed: run bench/run.sh, which installs it".into());
        }
        if let Some(b) = &cfg.baseline {
            if !b.bin.is_file() {
                return Err(format!(
                    "the baseline {} is not a file (--baseline-bin)",
                    b.bin.display()
                ));
            }
        }
        let results = run::run(&cfg, &paths)?;
        let text = report::report(&cfg, &paths, &results);
        let suffix = if cfg.baseline.is_some() {
            "-paired"
        } else {
            ""
        };
        let file = paths.out.join(format!("last-{}{suffix}.md", cfg.mode));
        let _ = std::fs::write(&file, &text);
        println!("\n{text}\n(also in {})", file.display());
        paired::check_complete(&cfg, &results)
    });
    if let Err(e) = outcome {
        eprintln!("eve-bench-runner: {e}");
        std::process::exit(1);
    }
}
