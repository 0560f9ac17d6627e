//! Settings of a run (sizes, durations, options) and where things are.

use std::path::{Path, PathBuf};

use crate::Result;

/// How big and how long.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) mode: &'static str,
    pub(crate) warmup_s: u64,
    pub(crate) duration_s: u64,
    pub(crate) connections: u32,
    pub(crate) threads: u32,
    /// Documents for S1.
    pub(crate) n_small: u64,
    /// Documents for S2 and S6.
    pub(crate) n_medium: u64,
    /// Documents for S7 (0: skip S7).
    pub(crate) n_large: u64,
    /// At most this many documents are seeded into the oracle.
    pub(crate) oracle_max: u64,
    /// Documents in the `edits` pool of S5.
    pub(crate) edits: u64,
    /// Start-up measurements.
    pub(crate) startups: u32,
    pub(crate) oracle: bool,
    pub(crate) keep_data: bool,
}

impl Config {
    pub(crate) fn full() -> Config {
        Config {
            mode: "full",
            warmup_s: 2,
            duration_s: 10,
            connections: 32,
            threads: 2,
            n_small: 10_000,
            n_medium: 100_000,
            n_large: 1_000_000,
            oracle_max: 20_000,
            edits: 1_000,
            startups: 5,
            oracle: true,
            keep_data: false,
        }
    }

    pub(crate) fn quick() -> Config {
        Config {
            mode: "quick",
            warmup_s: 1,
            duration_s: 3,
            n_small: 10_000,
            n_medium: 100_000,
            n_large: 300_000,
            oracle_max: 5_000,
            startups: 3,
            ..Config::full()
        }
    }

    pub(crate) fn smoke() -> Config {
        Config {
            mode: "smoke",
            warmup_s: 0,
            duration_s: 1,
            connections: 8,
            n_small: 200,
            n_medium: 1_000,
            n_large: 3_000,
            oracle_max: 1_000,
            edits: 64,
            startups: 1,
            ..Config::full()
        }
    }
}

pub(crate) const USAGE: &str = "\
usage: bench/run.sh [--smoke | --quick] [options]

  --smoke            tiny sizes, 1 s per scenario (proves the runner works)
  --quick            3 s per scenario, smaller stores
  --duration SECS    measured seconds per scenario (full: 10)
  --warmup SECS      warm-up seconds before each measurement (full: 2)
  --large N          documents for S7 (full: 1000000; 0 skips S7)
  --oracle-max N     at most N documents seeded into Python Eve (full: 20000)
  --no-oracle        leave Python Eve out
  --keep-data        keep the eve-rs data directory (bench/out/data)

environment: EVE_BENCH_ORACLE (path of eve-oracle), CARGO_TARGET_DIR";

pub(crate) fn parse_args() -> Result<Config> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = if args.iter().any(|a| a == "--smoke") {
        Config::smoke()
    } else if args.iter().any(|a| a == "--quick") {
        Config::quick()
    } else {
        Config::full()
    };
    let mut it = args.iter();
    let num = |v: Option<&String>, name: &str| -> Result<u64> {
        v.and_then(|s| s.replace('_', "").parse().ok())
            .ok_or_else(|| format!("{name} needs a number\n{USAGE}"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" | "--quick" => {}
            "--duration" => cfg.duration_s = num(it.next(), arg)?.max(1),
            "--warmup" => cfg.warmup_s = num(it.next(), arg)?,
            "--large" => cfg.n_large = num(it.next(), arg)?,
            "--oracle-max" => cfg.oracle_max = num(it.next(), arg)?,
            "--no-oracle" => cfg.oracle = false,
            "--keep-data" => cfg.keep_data = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(cfg)
}

/// Where things are.
pub(crate) struct Paths {
    pub(crate) root: PathBuf,
    pub(crate) bin: PathBuf,
    pub(crate) out: PathBuf,
}

impl Paths {
    pub(crate) fn find() -> Result<Paths> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .map_err(|e| format!("cannot find the workspace: {e}"))?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|t| if t.is_relative() { root.join(t) } else { t })
            .unwrap_or_else(|| root.join("target"));
        // bench/run.sh builds --smoke runs in the debug profile.
        let profile = std::env::var("EVE_BENCH_PROFILE").unwrap_or_else(|_| "release".into());
        let out = root.join("bench/out");
        std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {out:?}: {e}"))?;
        Ok(Paths {
            bin: target.join(profile),
            out,
            root,
        })
    }

    pub(crate) fn settings(&self) -> PathBuf {
        self.root.join("bench/settings.yaml")
    }

    pub(crate) fn oracle(&self) -> PathBuf {
        std::env::var_os("EVE_BENCH_ORACLE")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("../shared/oracle/eve-oracle"))
    }
}
