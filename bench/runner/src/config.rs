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
    /// The data layer eve-rs runs on (`--data-layer URL`); its own
    /// embedded store when `None`.
    pub(crate) data_layer: Option<String>,
    /// The eve-rs build to compare with (paired mode), if any.
    pub(crate) baseline: Option<Baseline>,
    /// Measurements of each eve-rs build per scenario (interleaved).
    pub(crate) rounds: u32,
    /// "Not slower than before" allows the ratio after/before to be this
    /// many percent under 1 (the noise band).
    pub(crate) tolerance_pct: f64,
}

/// The eve-rs build a paired run compares with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Baseline {
    /// Its `eve-rs` binary.
    pub(crate) bin: PathBuf,
    /// What it was built from (shown in the report).
    pub(crate) label: String,
}

/// The default noise band of a paired run, in percent (bench/README.md
/// says how it was chosen).
pub(crate) const DEFAULT_TOLERANCE_PCT: f64 = 5.0;

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
            data_layer: None,
            baseline: None,
            rounds: 1,
            tolerance_pct: DEFAULT_TOLERANCE_PCT,
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
  --nice N           (bench/run.sh) run the runner, servers and wrk at
                     niceness N; a negative N (root) puts them ahead of
                     other work on the machine
  --data-layer URL   run eve-rs with `--data-layer URL` (a MongoDB or
                     PostgreSQL server) instead of its embedded store;
                     not with a baseline
  --keep-data        keep the eve-rs data directories (bench/out/data*) and
                     the baseline's build (bench/out/baseline-*)

paired mode (issue #9: the bench is not slower than before):
  --baseline REF     build eve-rs at the git commit REF (bench/run.sh does,
                     into bench/out/baseline-SHA) and measure both builds
  --baseline-bin P   compare with the prebuilt eve-rs binary P instead
  --baseline-label T what the baseline is, for the report (default: P)
  --rounds N         measurements per build and scenario, interleaved
                     (paired default: 2, i.e. before, after, after, before)
  --tolerance PCT    noise band: after/before >= 1 - PCT/100 counts as not
                     slower (default: 5)

environment: EVE_BENCH_ORACLE (path of eve-oracle), CARGO_TARGET_DIR";

/// Reads the command line (without the program name).
pub(crate) fn parse_args(args: &[String]) -> Result<Config> {
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
    let text = |v: Option<&String>, name: &str| -> Result<String> {
        v.cloned()
            .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
    };
    let mut rounds = None;
    let mut label = None;
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" | "--quick" => {}
            "--duration" => cfg.duration_s = num(it.next(), arg)?.max(1),
            "--warmup" => cfg.warmup_s = num(it.next(), arg)?,
            "--large" => cfg.n_large = num(it.next(), arg)?,
            "--oracle-max" => cfg.oracle_max = num(it.next(), arg)?,
            "--no-oracle" => cfg.oracle = false,
            "--keep-data" => cfg.keep_data = true,
            "--data-layer" => cfg.data_layer = Some(text(it.next(), arg)?),
            "--baseline" => {
                return Err(
                    "--baseline REF is handled by bench/run.sh (it builds that commit); \
                     the runner takes --baseline-bin PATH"
                        .into(),
                )
            }
            "--baseline-bin" => {
                cfg.baseline = Some(Baseline {
                    bin: PathBuf::from(text(it.next(), arg)?),
                    label: String::new(),
                })
            }
            "--baseline-label" => label = Some(text(it.next(), arg)?),
            "--rounds" => rounds = Some(num(it.next(), arg)?),
            "--tolerance" => {
                let v = text(it.next(), arg)?;
                cfg.tolerance_pct = v
                    .parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite() && (0.0..100.0).contains(t))
                    .ok_or_else(|| {
                        format!("--tolerance needs a percentage in 0..100, not {v:?}")
                    })?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    match (&mut cfg.baseline, label) {
        (Some(b), label) => {
            b.label = label.unwrap_or_else(|| b.bin.display().to_string());
        }
        (None, Some(_)) => return Err("--baseline-label needs --baseline-bin".into()),
        (None, None) => {}
    }
    if cfg.data_layer.is_some() && cfg.baseline.is_some() {
        // Both builds would share (and re-seed) one database.
        return Err("--data-layer cannot be combined with a baseline (paired mode)".into());
    }
    let default_rounds = if cfg.baseline.is_some() { 2 } else { 1 };
    let rounds = rounds.unwrap_or(default_rounds);
    if rounds == 0 || rounds > 20 {
        return Err(format!("--rounds needs a number in 1..=20, not {rounds}"));
    }
    cfg.rounds = rounds as u32;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config> {
        parse_args(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_baseline_binary_makes_a_paired_run_of_two_rounds() {
        let cfg = parse(&["--quick", "--baseline-bin", "/tmp/old/eve-rs"]).expect("valid");
        assert_eq!(cfg.mode, "quick");
        assert_eq!(
            cfg.baseline,
            Some(Baseline {
                bin: PathBuf::from("/tmp/old/eve-rs"),
                label: "/tmp/old/eve-rs".into()
            })
        );
        assert_eq!(cfg.rounds, 2);
        assert_eq!(cfg.tolerance_pct, DEFAULT_TOLERANCE_PCT);
        let cfg = parse(&[
            "--baseline-label",
            "`5934a8a`",
            "--baseline-bin",
            "b",
            "--rounds",
            "4",
            "--tolerance",
            "2.5",
        ])
        .expect("valid");
        assert_eq!(cfg.baseline.map(|b| b.label), Some("`5934a8a`".to_string()));
        assert_eq!((cfg.rounds, cfg.tolerance_pct), (4, 2.5));
    }

    #[test]
    fn without_a_baseline_each_scenario_runs_once() {
        let cfg = parse(&["--smoke"]).expect("valid");
        assert_eq!((cfg.baseline, cfg.rounds), (None, 1));
    }

    #[test]
    fn the_data_layer_is_passed_on_to_eve_rs() {
        assert_eq!(parse(&["--smoke"]).expect("valid").data_layer, None);
        let cfg = parse(&["--smoke", "--data-layer", "postgres://u@127.0.0.1/b"]).expect("valid");
        assert_eq!(cfg.data_layer.as_deref(), Some("postgres://u@127.0.0.1/b"));
    }

    #[test]
    fn bad_paired_options_are_refused() {
        let err = |args: &[&str]| parse(args).expect_err("refused");
        assert!(err(&["--baseline", "main"]).contains("handled by bench/run.sh"));
        assert!(err(&["--data-layer"]).contains("--data-layer needs a value"));
        assert!(
            err(&["--data-layer", "postgres://h/db", "--baseline-bin", "/x"])
                .contains("not be combined")
        );
        assert!(err(&["--baseline-label", "x"]).contains("needs --baseline-bin"));
        assert!(err(&["--baseline-bin"]).contains("--baseline-bin needs a value"));
        assert!(err(&["--rounds", "0"]).contains("1..=20"));
        assert!(err(&["--rounds", "21"]).contains("1..=20"));
        assert!(err(&["--tolerance", "100"]).contains("0..100"));
        assert!(err(&["--tolerance", "-1"]).contains("0..100"));
        assert!(err(&["--tolerance", "NaN"]).contains("0..100"));
    }
}
