//! `learnscope theory NAME [--set key=value]... [--csv FILE]`: closed-form learning curves in
//! flow time t (τ = 1; SCIENCE.md §C.1 and §P1.4), printed as CSV or written to a file.
//!
//! - `saxe`: balanced mode strengths `u_α(t)` of a deep linear net on whitened inputs and the
//!   loss `½ Σ (s_α − u_α)² + ½ (E||y||² − Σ s_α²)`.
//! - `ocs`: the hierarchical task with decoupled balanced modes: `d_OCS`, input sensitivity,
//!   mean-output error and loss of the network map, either with centred inputs and an output bias
//!   (`bias=output`: `b(t) = ȳ(1 − e^{−t})` plus the modes of the centred `Σyx`) or with scaled
//!   one-hot inputs and no bias (`bias=none`: the modes of the uncentred `Σyx`, OCS mode
//!   included). A `#` comment block before the table gives `s_OCS`, the singular values and
//!   whether the OCS pair is exact.
//! - `logit`: P3's margin flows (SCIENCE.md §P3.3), one column `z_r=<r>` per input norm:
//!   two-layer balanced units dz/dt = 2·p·r·z·g(z) from z₀ = u₀·r, or a shallow layer
//!   dz/dt = p·r²·g(z) from z₀ = u₀·r, with g = σ(−z) (`loss=cross_entropy`) or 1 below the
//!   margin (`loss=hinge`). The comment block gives each norm's time to `z_star` and the
//!   least-squares norm exponent d ln t/d ln r through the given norms.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use learnscope_data::HierarchySpec;
use learnscope_theory::bias::output_bias;
use learnscope_theory::linalg::Svd;
use learnscope_theory::saxe;
use learnscope_theory::{
    decoupled_prediction, deep_half_time, DeepModeCurve, LinearPrediction, Moments, OcsPair,
    Reduction,
};

/// Options of `learnscope theory`.
#[derive(clap::Args, Debug)]
pub struct TheoryArgs {
    /// The curve family: `saxe` (mode sigmoids), `ocs` (the OCS phase on the hierarchy) or
    /// `logit` (P3's margin flows).
    name: String,
    /// Set a parameter, e.g. `--set s=3,2,1` or `--set layers=3` (repeatable; see the keys
    /// listed by an unknown one).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Write the CSV to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

const SAXE_KEYS: &[&str] = &[
    "s",
    "u0",
    "layers",
    "t_max",
    "points",
    "lr",
    "reduction",
    "examples",
    "y_sq_mean",
];
const OCS_KEYS: &[&str] = &[
    "branching",
    "depth",
    "root",
    "bias",
    "u0",
    "layers",
    "t_max",
    "points",
];

const LOGIT_KEYS: &[&str] = &["model", "loss", "p", "r", "u0", "z_star", "t_max", "points"];

/// Largest hierarchy the `ocs` curves decompose (the SVD is dense, O(P³)).
const MAX_ITEMS: usize = 1024;

/// A CSV table with optional `#` comment lines before it.
struct Table {
    comments: Vec<String>,
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Table {
    fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.comments {
            let _ = writeln!(out, "# {c}");
        }
        let _ = writeln!(out, "{}", self.columns.join(","));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|&v| cell(v)).collect();
            let _ = writeln!(out, "{}", cells.join(","));
        }
        out
    }
}

/// Shortest round-trip decimal, switching to exponent notation for very small or large
/// magnitudes so that cells stay short.
fn cell(v: f64) -> String {
    if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Runs `learnscope theory`; returns the exit code.
pub fn run(args: &TheoryArgs) -> Result<i32> {
    let table = match args.name.as_str() {
        "saxe" => saxe_table(&Settings::parse("saxe", SAXE_KEYS, &args.sets)?)?,
        "ocs" => ocs_table(&Settings::parse("ocs", OCS_KEYS, &args.sets)?)?,
        "logit" => logit_table(&Settings::parse("logit", LOGIT_KEYS, &args.sets)?)?,
        other => bail!("unknown theory `{other}`; expected one of: saxe, ocs, logit"),
    };
    let text = table.render();
    match &args.csv {
        None => print!("{text}"),
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            println!(
                "theory {}: wrote {} rows × {} columns ({}) to {}",
                args.name,
                table.rows.len(),
                table.columns.len(),
                table.columns.join(","),
                path.display()
            );
        }
    }
    Ok(0)
}

/// `key=value` overrides checked against a command's allowed keys.
struct Settings {
    command: &'static str,
    values: BTreeMap<String, String>,
}

impl Settings {
    fn parse(command: &'static str, allowed: &[&str], sets: &[String]) -> Result<Self> {
        let mut values = BTreeMap::new();
        for set in sets {
            let (key, value) = set
                .split_once('=')
                .ok_or_else(|| anyhow!("--set `{set}`: expected KEY=VALUE"))?;
            let key = key.trim();
            if !allowed.contains(&key) {
                bail!(
                    "unknown key `{key}` for `theory {command}`; allowed keys: {}",
                    allowed.join(", ")
                );
            }
            values.insert(key.to_string(), value.trim().to_string());
        }
        Ok(Settings { command, values })
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn bad(&self, key: &str, value: &str, rule: &str) -> anyhow::Error {
        anyhow!(
            "theory {}: `{key}` = `{value}` is invalid: expected {rule}",
            self.command
        )
    }

    fn f64_opt(&self, key: &str, rule: &str, ok: impl Fn(f64) -> bool) -> Result<Option<f64>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && ok(x) => Ok(Some(x)),
                _ => Err(self.bad(key, v, rule)),
            },
        }
    }

    fn usize_or(&self, key: &str, default: usize, min: usize) -> Result<usize> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(x) if x >= min => Ok(x),
                _ => Err(self.bad(key, v, &format!("an integer >= {min}"))),
            },
        }
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.raw(key) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(self.bad(key, v, "true or false")),
        }
    }

    fn choice_or<'a>(&'a self, key: &str, default: &'a str, options: &[&str]) -> Result<&'a str> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) if options.contains(&v) => Ok(v),
            Some(v) => Err(self.bad(key, v, &format!("one of {}", options.join(", ")))),
        }
    }

    fn list_or(&self, key: &str, default: &[f64]) -> Result<Vec<f64>> {
        let Some(v) = self.raw(key) else {
            return Ok(default.to_vec());
        };
        let inner = v.trim_start_matches('[').trim_end_matches(']');
        let rule = "a comma-separated list of finite numbers >= 0, e.g. 3,2,1";
        let list: Vec<f64> = inner
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| self.bad(key, v, rule))?;
        if list.is_empty() || list.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(self.bad(key, v, rule));
        }
        Ok(list)
    }
}

/// P3's margin flows (module documentation).
fn logit_table(set: &Settings) -> Result<Table> {
    use learnscope_theory::binary::{predicted_norm_exponent, BinaryLoss, BinaryModel, LogitFlow};
    let model = match set.choice_or("model", "two_layer", &["two_layer", "shallow"])? {
        "shallow" => BinaryModel::Shallow,
        _ => BinaryModel::TwoLayer,
    };
    let loss = match set.choice_or("loss", "cross_entropy", &["cross_entropy", "hinge"])? {
        "hinge" => BinaryLoss::Hinge,
        _ => BinaryLoss::CrossEntropy,
    };
    let p = set
        .f64_opt("p", "a frequency in (0, 1]", |x| x > 0.0 && x <= 1.0)?
        .unwrap_or(0.25);
    let norms = set.list_or("r", &[0.5, 1.0, 2.0, 4.0])?;
    if norms.contains(&0.0) {
        bail!("theory logit: every norm in `r` must be > 0");
    }
    let u0 = set.f64_opt("u0", "> 0", |x| x > 0.0)?.unwrap_or(1e-3);
    let z_star = set.f64_opt("z_star", "> 0", |x| x > 0.0)?.unwrap_or(1.0);
    let points = set.usize_or("points", 201, 2)?;
    let flows: Vec<LogitFlow> = norms
        .iter()
        .map(|&r| LogitFlow::new(model, loss, p, r, u0 * r))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("theory logit: {e}"))?;
    let times: Vec<f64> = flows.iter().map(|f| f.time_to(z_star)).collect();
    let slowest = times.iter().copied().fold(0.0, f64::max);
    let t_max = match set.f64_opt("t_max", "> 0", |x| x > 0.0)? {
        Some(t) => t,
        None if slowest.is_finite() && slowest > 0.0 => 1.5 * slowest,
        None => bail!("theory logit: no norm reaches z_star; set `t_max` explicitly"),
    };
    let grid = time_grid(t_max, points);
    let mut columns = vec!["t".to_string()];
    columns.extend(norms.iter().map(|r| format!("z_r={r}")));
    let rows = grid
        .iter()
        .map(|&t| {
            let mut row = vec![t];
            row.extend(flows.iter().map(|f| f.z(t)));
            row
        })
        .collect();
    let mut comments = vec![format!(
        "model {model:?}, loss {loss:?}, p = {p}, z0 = u0·r with u0 = {u0}, z* = {z_star}"
    )];
    for (r, t) in norms.iter().zip(&times) {
        comments.push(format!("time to z* at r = {r}: {t}"));
    }
    if norms.len() >= 3 {
        let slope = predicted_norm_exponent(model, loss, p, &norms, |r| u0 * r, z_star);
        comments.push(format!(
            "norm exponent d ln t / d ln r through these norms: {slope}"
        ));
    }
    Ok(Table {
        comments,
        columns,
        rows,
    })
}

/// `points` evenly spaced times in `[0, t_max]`.
fn time_grid(t_max: f64, points: usize) -> Vec<f64> {
    (0..points)
        .map(|i| t_max * i as f64 / (points - 1) as f64)
        .collect()
}

/// 3 × the half time of the weakest positive mode.
fn default_t_max(s: &[f64], u0: f64, layers: usize) -> Result<f64> {
    let weakest = s
        .iter()
        .copied()
        .filter(|&x| x > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !weakest.is_finite() {
        bail!("no mode with s > 0: set `t_max` explicitly");
    }
    let half = deep_half_time(weakest, u0, layers)?;
    Ok(if half > 0.0 { 3.0 * half } else { 3.0 })
}

fn saxe_table(set: &Settings) -> Result<Table> {
    let s = set.list_or("s", &[3.0, 2.0, 1.0])?;
    let u0 = set
        .f64_opt("u0", "a number > 0", |x| x > 0.0)?
        .unwrap_or(1e-3);
    let layers = set.usize_or("layers", 2, 1)?;
    let points = set.usize_or("points", 200, 2)?;
    let t_max = match set.f64_opt("t_max", "a number > 0", |x| x > 0.0)? {
        Some(t) => t,
        None => default_t_max(&s, u0, layers)?,
    };
    let lr = set.f64_opt("lr", "a number > 0", |x| x > 0.0)?;
    let reduction = match set.choice_or("reduction", "mean", &["mean", "sum"])? {
        "sum" => Reduction::Sum,
        _ => Reduction::Mean,
    };
    let examples = match (reduction, set.raw("examples")) {
        (Reduction::Sum, None) => bail!("theory saxe: `reduction` = `sum` needs `examples`"),
        _ => set.usize_or("examples", 1, 1)?,
    };
    let total: f64 = s.iter().map(|x| x * x).sum();
    let y_sq_mean = set
        .f64_opt("y_sq_mean", "a number >= 0", |x| x >= 0.0)?
        .unwrap_or(total);

    let mut curves = s
        .iter()
        .map(|&sa| DeepModeCurve::new(sa, u0, layers))
        .collect::<Result<Vec<_>, _>>()?;
    let mut columns = vec!["t".to_string()];
    if lr.is_some() {
        columns.push("step".to_string());
    }
    columns.extend((1..=s.len()).map(|i| format!("u_{i}")));
    columns.push("loss".to_string());
    let rows = time_grid(t_max, points)
        .into_iter()
        .map(|t| {
            let u: Vec<f64> = curves.iter_mut().map(|c| c.at(t)).collect();
            let mut row = vec![t];
            if let Some(lr) = lr {
                row.push(t / (lr * reduction.time_per_lr(examples)));
            }
            row.extend(&u);
            row.push(saxe::loss(&s, &u, y_sq_mean));
            row
        })
        .collect();
    Ok(Table {
        comments: Vec::new(),
        columns,
        rows,
    })
}

fn ocs_table(set: &Settings) -> Result<Table> {
    let branching = set.usize_or("branching", 2, 2)?;
    let depth = set.usize_or("depth", 3, 1)?;
    let root = set.bool_or("root", true)?;
    let with_bias = set.choice_or("bias", "output", &["output", "none"])? == "output";
    let u0 = set
        .f64_opt("u0", "a number > 0", |x| x > 0.0)?
        .unwrap_or(1e-6);
    let layers = set.usize_or("layers", 2, 1)?;
    let points = set.usize_or("points", 200, 2)?;
    let spec = HierarchySpec {
        branching,
        depth,
        root,
        scale_inputs: true,
        centre_inputs: with_bias,
        // One-hot items (the default input kind); other fields keep the preset's defaults.
        ..HierarchySpec::eight_items()
    };
    if (branching as f64).powi(depth as i32) > MAX_ITEMS as f64 {
        bail!(
            "theory ocs: branching^depth = {branching}^{depth} items is more than {MAX_ITEMS}; \
             lower `branching` or `depth`"
        );
    }
    let task = spec.build().context("theory ocs: the hierarchy")?;
    let (p, k) = (task.items, task.outputs);
    let n = task.inputs.len() / p;
    let moments = Moments::from_data(&task.inputs, &task.targets, p, n, k)?;
    let pair = OcsPair::from_targets(&task.targets, p, k)?;
    let corr = if with_bias {
        moments.centred_sigma_yx()
    } else {
        moments.sigma_yx.clone()
    };
    let svd = Svd::new(&corr, k, n, 1e-10)?;
    if !moments.is_white_on(&svd.v, 1e-9) {
        bail!("theory ocs: the inputs are not white on the modes, so the modes do not decouple");
    }
    let t_max = match set.f64_opt("t_max", "a number > 0", |x| x > 0.0)? {
        Some(t) => t,
        None => default_t_max(&svd.s, u0, layers)?,
    };
    let mut curves = svd
        .s
        .iter()
        .map(|&sa| DeepModeCurve::new(sa, u0, layers))
        .collect::<Result<Vec<_>, _>>()?;
    let zero = vec![0.0; k];
    let mut rows = Vec::with_capacity(points);
    for t in time_grid(t_max, points) {
        let u: Vec<f64> = curves.iter_mut().map(|c| c.at(t)).collect();
        let w = decoupled_prediction(&svd, &u)?;
        let c = if with_bias {
            output_bias(&moments.y_mean, &zero, t)?
        } else {
            zero.clone()
        };
        let lp = LinearPrediction::evaluate(&moments, &w, &c)?;
        let mut row = vec![
            t,
            lp.d_ocs,
            lp.d_ocs_over_label_variance(),
            lp.mean_output_error,
            lp.input_sensitivity,
            lp.loss,
        ];
        row.extend(&u);
        rows.push(row);
    }
    let mut columns: Vec<String> = [
        "t",
        "d_ocs",
        "d_ocs_over_label_variance",
        "mean_output_error",
        "input_sensitivity",
        "loss",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    columns.extend((1..=svd.rank).map(|i| format!("u_{i}")));
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.6}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let comments = vec![
        format!(
            "learnscope theory ocs: branching={branching} depth={depth} root={root} bias={} \
             layers={layers} u0={u0}; flow time t (tau = 1)",
            if with_bias { "output" } else { "none" }
        ),
        format!(
            "items P={p}, outputs K={k}, inputs {}, label variance E||y - ybar||^2 = {:.6}",
            if with_bias {
                "scaled one-hot, centred (output bias b(t) = ybar (1 - e^-t))"
            } else {
                "scaled one-hot, uncentred (no bias)"
            },
            moments.label_variance()
        ),
        format!("s_OCS = ||ybar|| = {:.6}", pair.s_ocs),
        format!(
            "singular values of the {} Sigma_yx ({} modes): {}",
            if with_bias { "centred" } else { "uncentred" },
            svd.rank,
            list(&svd.s)
        ),
        format!(
            "OCS pair (ybar/||ybar||, 1/sqrt(P)) exact: {} (relative residual {:.2e}); \
             strongest centred mode {:.6}; OCS mode strictly strongest: {}",
            if pair.is_exact(1e-10) { "yes" } else { "no" },
            pair.relative_residual,
            pair.centred_top,
            if pair.learned_first() { "yes" } else { "no" }
        ),
    ];
    Ok(Table {
        comments,
        columns,
        rows,
    })
}
