//! The paired run (issue #9: "the bench is not slower than before"): two
//! eve-rs builds measured in the same run, scenario by scenario, their
//! rounds interleaved, and compared within a stated noise band.

use std::fmt::Write as _;

use crate::config::Config;
use crate::measure::Measure;
use crate::run::{Results, SCENARIOS};
use crate::server::{AFTER, BEFORE};
use crate::Result;

/// The order in which the builds are measured in round `round` (indexes
/// into the builds: 0 is the current tree's, 1 the baseline's). The order
/// flips from one round to the next — before, after, then after, before —
/// so a load that rises or falls during a scenario hits both builds alike
/// instead of always favouring the one measured second.
pub(crate) fn round_order(round: u32, builds: usize) -> Vec<usize> {
    if round % 2 == 0 {
        (0..builds).rev().collect()
    } else {
        (0..builds).collect()
    }
}

/// The mean of a build's rounds: throughput and latencies averaged,
/// errors added up, the highest peak RSS. `None` for no rounds.
pub(crate) fn mean(rounds: &[Measure]) -> Option<Measure> {
    if rounds.is_empty() {
        return None;
    }
    let n = rounds.len() as f64;
    let avg = |f: fn(&Measure) -> f64| rounds.iter().map(f).sum::<f64>() / n;
    Some(Measure {
        requests: rounds.iter().map(|m| m.requests).sum(),
        rps: avg(|m| m.rps),
        ops: avg(|m| m.ops),
        p50_ms: avg(|m| m.p50_ms),
        p99_ms: avg(|m| m.p99_ms),
        errors: rounds.iter().map(|m| m.errors).sum(),
        rss_mb: rounds
            .iter()
            .filter_map(|m| m.rss_mb)
            .fold(None, |acc: Option<f64>, x| {
                Some(acc.map_or(x, |a| a.max(x)))
            }),
    })
}

/// The figure a scenario is judged on: requests/s for the reads, the
/// operations it counts for the writes (inserts, documents, PATCHes).
fn throughput(unit: &str, m: &Measure) -> f64 {
    if unit == "req/s" {
        m.rps
    } else {
        m.ops
    }
}

/// A scenario is judged only when every round of both builds completed at
/// least this many requests: with fewer, one request more or less moves the
/// ratio by more than 2% (S6 serves about one request a second at 100k
/// documents; it needs `--duration 60` to be judged).
pub(crate) const MIN_REQUESTS: u64 = 50;

/// Whether `ratio` (after/before) counts as "not slower" with a noise band
/// of `tolerance_pct` percent.
pub(crate) fn not_slower(ratio: f64, tolerance_pct: f64) -> bool {
    ratio >= 1.0 - tolerance_pct / 100.0
}

/// How far apart a build's rounds are: (highest − lowest) / mean. `None`
/// with fewer than two rounds or a zero mean.
pub(crate) fn spread(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let hi = values.iter().copied().fold(f64::MIN, f64::max);
    let lo = values.iter().copied().fold(f64::MAX, f64::min);
    (mean > 0.0).then(|| (hi - lo) / mean)
}

/// One scenario of a paired run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    pub(crate) scenario: &'static str,
    pub(crate) title: &'static str,
    pub(crate) unit: &'static str,
    /// Mean throughput of each build.
    pub(crate) before: f64,
    pub(crate) after: f64,
    /// `after / before` of the means.
    pub(crate) ratio: f64,
    /// `after / before` in each round.
    pub(crate) round_ratios: Vec<f64>,
    /// The larger of the two builds' [`spread`]s.
    pub(crate) spread: Option<f64>,
    pub(crate) p99_before: f64,
    pub(crate) p99_after: f64,
    pub(crate) errors_before: u64,
    pub(crate) errors_after: u64,
    /// The fewest requests a round of either build completed.
    pub(crate) fewest_requests: u64,
    /// `None`: not judged, a round completed fewer than [`MIN_REQUESTS`].
    pub(crate) not_slower: Option<bool>,
}

/// Compares the two builds in every scenario both were measured in.
pub(crate) fn compare(cfg: &Config, results: &Results) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (scenario, title, unit) in SCENARIOS {
        let Some(rounds) = results.rounds.get(scenario) else {
            continue;
        };
        let (Some(after), Some(before)) = (rounds.get(AFTER), rounds.get(BEFORE)) else {
            continue;
        };
        let (Some(ma), Some(mb)) = (mean(after), mean(before)) else {
            continue;
        };
        let (ta, tb) = (throughput(unit, &ma), throughput(unit, &mb));
        let ratio = if tb > 0.0 { ta / tb } else { 0.0 };
        let round_ratios = after
            .iter()
            .zip(before)
            .map(|(a, b)| {
                let tb = throughput(unit, b);
                if tb > 0.0 {
                    throughput(unit, a) / tb
                } else {
                    0.0
                }
            })
            .collect();
        let values = |ms: &[Measure]| ms.iter().map(|m| throughput(unit, m)).collect::<Vec<_>>();
        let spread = match (spread(&values(after)), spread(&values(before))) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let fewest_requests = after
            .iter()
            .chain(before)
            .map(|m| m.requests)
            .min()
            .unwrap_or(0);
        out.push(Comparison {
            scenario,
            title,
            unit,
            before: tb,
            after: ta,
            ratio,
            round_ratios,
            spread,
            p99_before: mb.p99_ms,
            p99_after: ma.p99_ms,
            errors_before: mb.errors,
            errors_after: ma.errors,
            fewest_requests,
            not_slower: (fewest_requests >= MIN_REQUESTS)
                .then(|| not_slower(ratio, cfg.tolerance_pct)),
        });
    }
    out
}

/// The target over all scenarios: what was measured, and whether
/// it is met (`None` when nothing was compared).
pub(crate) fn verdict(cfg: &Config, comparisons: &[Comparison]) -> (String, Option<bool>) {
    if comparisons.is_empty() {
        return ("not measured".into(), None);
    }
    let slower: Vec<String> = comparisons
        .iter()
        .filter(|c| c.not_slower == Some(false))
        .map(|c| format!("{} {:.2}x", c.scenario, c.ratio))
        .collect();
    let unjudged: Vec<&str> = comparisons
        .iter()
        .filter(|c| c.not_slower.is_none())
        .map(|c| c.scenario)
        .collect();
    let judged: Vec<f64> = comparisons
        .iter()
        .filter(|c| c.not_slower.is_some())
        .map(|c| c.ratio)
        .collect();
    let floor = 1.0 - cfg.tolerance_pct / 100.0;
    let unjudged_text = || {
        format!(
            "{} not judged: fewer than {MIN_REQUESTS} requests in a round (raise --duration)",
            unjudged.join(", ")
        )
    };
    if !slower.is_empty() {
        let mut text = format!("slower than {floor:.2}x: {}", slower.join(", "));
        if !unjudged.is_empty() {
            text = format!("{text}; {}", unjudged_text());
        }
        return (text, Some(false));
    }
    if judged.is_empty() {
        return (unjudged_text(), None);
    }
    let lowest = judged.iter().copied().fold(f64::MAX, f64::min);
    let text = format!(
        "{} scenarios judged, lowest after/before {lowest:.2}x (>= {floor:.2})",
        judged.len()
    );
    if unjudged.is_empty() {
        (text, Some(true))
    } else {
        (format!("{text}; {}", unjudged_text()), None)
    }
}

/// Fails when a paired run did not measure both builds in every round of
/// every scenario it ran, and in the start-up (what the CI smoke run of the
/// paired mode checks). A server that stopped answering already failed the
/// run (the runner waits for an answer after every measurement); a round
/// with few or no requests is a slow scenario, left unjudged, not an error.
pub(crate) fn check_complete(cfg: &Config, results: &Results) -> Result<()> {
    if cfg.baseline.is_none() {
        return Ok(());
    }
    let mut problems = Vec::new();
    let mut scenarios = 0;
    for (scenario, _, _) in SCENARIOS {
        let Some(rounds) = results.rounds.get(scenario) else {
            continue;
        };
        scenarios += 1;
        for name in [AFTER, BEFORE] {
            let ms = rounds.get(name).map(Vec::as_slice).unwrap_or_default();
            if ms.len() != cfg.rounds as usize {
                problems.push(format!(
                    "{scenario}: {name} measured {} times, not {}",
                    ms.len(),
                    cfg.rounds
                ));
            }
        }
    }
    if scenarios == 0 {
        problems.push("no scenario was measured".into());
    }
    if results.startup_ms.len() != 2 {
        problems.push("the start-up was not measured for both builds".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the paired run is incomplete: {}",
            problems.join("; ")
        ))
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The paired section of the report (markdown).
pub(crate) fn section(cfg: &Config, results: &Results, after_label: &str) -> String {
    let Some(baseline) = &cfg.baseline else {
        return String::new();
    };
    let comparisons = compare(cfg, results);
    let mut r = String::new();
    let _ = writeln!(
        r,
        "Paired run: **after** = `{AFTER}` built from {after_label}; **before** = `{BEFORE}`, \
         {}. {} round(s) per build and scenario, interleaved (before, after, then after, \
         before, …), each with its own warm-up; each build has its own store, seeded alike. \
         Figures are the means of the rounds; a scenario is \"not slower\" when after/before \
         >= {:.2} (noise band {}%, `--tolerance`).\n",
        baseline.label,
        cfg.rounds,
        1.0 - cfg.tolerance_pct / 100.0,
        cfg.tolerance_pct
    );
    r.push_str(
        "| scenario | unit | before | after | after/before | per round | spread | p99 ms before → after | errors before/after | not slower |\n",
    );
    r.push_str("|---|---|---:|---:|---:|---|---:|---:|---:|---|\n");
    for c in &comparisons {
        let rounds: Vec<String> = c.round_ratios.iter().map(|x| format!("{x:.2}")).collect();
        let _ = writeln!(
            r,
            "| {} {} | {} | {:.0} | {:.0} | {:.2}x | {} | {} | {:.2} → {:.2} | {}/{} | {} |",
            c.scenario,
            c.title,
            c.unit,
            c.before,
            c.after,
            c.ratio,
            rounds.join(" "),
            c.spread.map(pct).unwrap_or_else(|| "–".into()),
            c.p99_before,
            c.p99_after,
            c.errors_before,
            c.errors_after,
            match c.not_slower {
                Some(true) => "yes".to_string(),
                Some(false) => "**NO**".to_string(),
                None => format!("not judged ({} requests)", c.fewest_requests),
            }
        );
    }
    if let (Some(b), Some(a)) = (
        results.startup_ms.get(BEFORE),
        results.startup_ms.get(AFTER),
    ) {
        let _ = writeln!(
            r,
            "\nStart-up (median, not judged: a few ms, mostly process start): before {b:.1} ms, after {a:.1} ms."
        );
    }
    let (text, met) = verdict(cfg, &comparisons);
    let judged = match met {
        _ if cfg.mode == "smoke" => "not judged on smoke sizes: this run proves the pairing works",
        Some(true) => "**met**",
        Some(false) => "**NOT met**",
        None => "not judged",
    };
    let _ = writeln!(
        r,
        "\n#9 \"the bench (S1–S7) is not slower than before\": {judged} ({text})."
    );
    let noisy: Vec<String> = comparisons
        .iter()
        .filter(|c| c.spread.is_some_and(|s| s * 100.0 > cfg.tolerance_pct))
        .map(|c| format!("{} ({})", c.scenario, c.spread.map(pct).unwrap_or_default()))
        .collect();
    if !noisy.is_empty() {
        let _ = writeln!(
            r,
            "\nSpread (one build's rounds, highest − lowest over the mean) above the {}% band in: \
             {}. There the machine's noise is larger than the band, so the verdict is not firm \
             either way: re-run with more `--rounds` or a longer `--duration`.",
            cfg.tolerance_pct,
            noisy.join(", ")
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_args, Baseline};
    use std::path::PathBuf;

    fn m(rps: f64, ops: f64, p99: f64) -> Measure {
        Measure {
            requests: 1000,
            rps,
            ops,
            p50_ms: p99 / 2.0,
            p99_ms: p99,
            errors: 0,
            rss_mb: Some(rps / 100.0),
        }
    }

    fn paired_cfg(rounds: u32, tolerance_pct: f64) -> Config {
        let mut cfg = parse_args(&[]).expect("no arguments is a full run");
        cfg.baseline = Some(Baseline {
            bin: PathBuf::from("/nonexistent/eve-rs"),
            label: "test".into(),
        });
        cfg.rounds = rounds;
        cfg.tolerance_pct = tolerance_pct;
        cfg
    }

    fn results_with(scenario: &'static str, after: Vec<Measure>, before: Vec<Measure>) -> Results {
        let mut results = Results::default();
        let rounds = results.rounds.entry(scenario).or_default();
        rounds.insert(AFTER, after);
        rounds.insert(BEFORE, before);
        results.startup_ms.insert(AFTER, 6.0);
        results.startup_ms.insert(BEFORE, 7.0);
        results
    }

    #[test]
    fn rounds_alternate_which_build_goes_first() {
        assert_eq!(round_order(0, 2), vec![1, 0]);
        assert_eq!(round_order(1, 2), vec![0, 1]);
        assert_eq!(round_order(2, 2), vec![1, 0]);
        assert_eq!(round_order(3, 1), vec![0]);
        assert_eq!(round_order(0, 1), vec![0]);
    }

    #[test]
    fn mean_averages_rates_adds_errors_and_keeps_the_peak_rss() {
        let mut a = m(100.0, 0.0, 4.0);
        a.errors = 2;
        let b = m(300.0, 0.0, 8.0);
        let got = mean(&[a, b]).expect("two rounds");
        assert_eq!(got.rps, 200.0);
        assert_eq!(got.p99_ms, 6.0);
        assert_eq!(got.errors, 2);
        assert_eq!(got.rss_mb, Some(3.0));
        assert!(mean(&[]).is_none());
    }

    #[test]
    fn the_noise_band_is_inclusive_at_its_edge() {
        assert!(not_slower(1.0, 5.0));
        assert!(not_slower(0.95, 5.0));
        assert!(!not_slower(0.949, 5.0));
        assert!(!not_slower(0.99, 0.0));
        assert!(not_slower(1.3, 0.0));
    }

    #[test]
    fn spread_is_range_over_mean() {
        assert_eq!(spread(&[90.0, 110.0]), Some(0.2));
        assert_eq!(spread(&[100.0]), None);
        assert_eq!(spread(&[0.0, 0.0]), None);
    }

    #[test]
    fn reads_are_judged_on_requests_and_writes_on_operations() {
        // S1 counts requests: 180/200 = 0.9, slower than a 5% band.
        let r = results_with(
            "S1",
            vec![m(170.0, 999.0, 1.0), m(190.0, 1.0, 1.0)],
            vec![m(210.0, 1.0, 2.0), m(190.0, 999.0, 2.0)],
        );
        let c = compare(&paired_cfg(2, 5.0), &r);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].before, c[0].after), (200.0, 180.0));
        assert!((c[0].ratio - 0.9).abs() < 1e-12);
        assert_eq!(c[0].not_slower, Some(false));
        assert_eq!(c[0].round_ratios.len(), 2);
        assert!((c[0].round_ratios[0] - 170.0 / 210.0).abs() < 1e-12);
        assert!((c[0].round_ratios[1] - 1.0).abs() < 1e-12);
        // S4 counts documents (ops), whatever the requests did.
        let r = results_with(
            "S4",
            vec![m(1.0, 4_900.0, 1.0)],
            vec![m(100.0, 5_000.0, 1.0)],
        );
        let c = compare(&paired_cfg(1, 5.0), &r);
        assert!((c[0].ratio - 0.98).abs() < 1e-12);
        assert_eq!(c[0].not_slower, Some(true));
        assert_eq!(c[0].spread, None);
    }

    #[test]
    fn the_verdict_names_the_slower_scenarios() {
        let mut r = results_with("S2", vec![m(80.0, 0.0, 1.0)], vec![m(100.0, 0.0, 1.0)]);
        r.rounds.entry("S1").or_default().extend([
            (AFTER, vec![m(101.0, 0.0, 1.0)]),
            (BEFORE, vec![m(100.0, 0.0, 1.0)]),
        ]);
        let cfg = paired_cfg(1, 5.0);
        let (text, met) = verdict(&cfg, &compare(&cfg, &r));
        assert_eq!(met, Some(false));
        assert_eq!(text, "slower than 0.95x: S2 0.80x");
        let cfg = paired_cfg(1, 25.0);
        let (text, met) = verdict(&cfg, &compare(&cfg, &r));
        assert_eq!(met, Some(true));
        assert_eq!(
            text,
            "2 scenarios judged, lowest after/before 0.80x (>= 0.75)"
        );
        assert_eq!(verdict(&cfg, &[]), ("not measured".to_string(), None));
    }

    #[test]
    fn a_scenario_with_too_few_requests_is_not_judged() {
        let few = |rps: f64| Measure {
            requests: MIN_REQUESTS - 1,
            ..m(rps, 0.0, 1.0)
        };
        let mut r = results_with("S6", vec![few(1.0)], vec![few(2.0)]);
        let cfg = paired_cfg(1, 5.0);
        let c = compare(&cfg, &r);
        assert_eq!(
            (c[0].fewest_requests, c[0].not_slower),
            (MIN_REQUESTS - 1, None)
        );
        let (text, met) = verdict(&cfg, &c);
        assert_eq!(met, None);
        assert_eq!(
            text,
            "S6 not judged: fewer than 50 requests in a round (raise --duration)"
        );
        // Judged scenarios decide when one is slower; otherwise the
        // unjudged one leaves the target open.
        r.rounds.entry("S1").or_default().extend([
            (AFTER, vec![m(100.0, 0.0, 1.0)]),
            (BEFORE, vec![m(100.0, 0.0, 1.0)]),
        ]);
        let (text, met) = verdict(&cfg, &compare(&cfg, &r));
        assert_eq!(met, None);
        assert!(
            text.starts_with("1 scenarios judged, lowest after/before 1.00x"),
            "{text}"
        );
        r.rounds.insert(
            "S2",
            [
                (AFTER, vec![m(50.0, 0.0, 1.0)]),
                (BEFORE, vec![m(100.0, 0.0, 1.0)]),
            ]
            .into(),
        );
        let (text, met) = verdict(&cfg, &compare(&cfg, &r));
        assert_eq!(met, Some(false));
        assert!(
            text.starts_with("slower than 0.95x: S2 0.50x; S6 not judged"),
            "{text}"
        );
        let section = section(&cfg, &r, "x");
        assert!(
            section.contains("| not judged (49 requests) |"),
            "{section}"
        );
    }

    #[test]
    fn an_incomplete_pairing_is_an_error() {
        let cfg = paired_cfg(2, 5.0);
        let full = results_with(
            "S3",
            vec![m(10.0, 10.0, 1.0), m(10.0, 10.0, 1.0)],
            vec![m(10.0, 10.0, 1.0), m(10.0, 10.0, 1.0)],
        );
        assert_eq!(check_complete(&cfg, &full), Ok(()));
        let short = results_with(
            "S3",
            vec![m(10.0, 10.0, 1.0), m(10.0, 10.0, 1.0)],
            vec![m(10.0, 10.0, 1.0)],
        );
        let err = check_complete(&cfg, &short).expect_err("one round missing");
        assert!(
            err.contains("S3: eve-rs before measured 1 times, not 2"),
            "{err}"
        );
        // A round with no request is a slow scenario, not a broken pairing.
        let idle = results_with(
            "S3",
            vec![m(10.0, 10.0, 1.0), m(0.0, 0.0, 0.0)],
            vec![m(10.0, 10.0, 1.0), m(10.0, 10.0, 1.0)],
        );
        assert_eq!(check_complete(&cfg, &idle), Ok(()));
        let err = check_complete(&cfg, &Results::default()).expect_err("nothing measured");
        assert!(err.contains("no scenario was measured"), "{err}");
    }

    #[test]
    fn the_section_shows_both_builds_the_ratio_and_the_verdict() {
        let r = results_with(
            "S5",
            vec![m(1000.0, 990.0, 3.0), m(1000.0, 1010.0, 5.0)],
            vec![m(1000.0, 1000.0, 4.0), m(1000.0, 1000.0, 6.0)],
        );
        let text = section(&paired_cfg(2, 5.0), &r, "abc123");
        assert!(
            text.contains(
                "| S5 PATCH with If-Match | PATCH/s | 1000 | 1000 | 1.00x | 0.99 1.01 | 2% | 5.00 → 4.00 | 0/0 | yes |"
            ),
            "{text}"
        );
        assert!(text.contains("before 7.0 ms, after 6.0 ms"), "{text}");
        assert!(text.contains("**met** (1 scenarios judged"), "{text}");
        assert!(!text.contains("Spread (one build"), "{text}");
    }
}
