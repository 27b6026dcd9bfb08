//! `learnscope demo`: a two-hidden-layer linear network with biases (8-16-16-15, small Gaussian
//! init, zero biases) trained by full-batch gradient descent on the 8-item hierarchical task of
//! P1 (Saxe et al. 2019): one-hot items; one output per node of a balanced binary tree (root,
//! 2 superordinate, 4 basic, 8 item units). The table shows P1's optimal-constant-solution phase:
//! the mean output reaches the OCS ȳ (d_OCS → 0) long before the outputs depend on the input
//! (spread = mean over items of ‖f(x) − mean f‖), after which the tree's modes are learned from
//! the broadest split down.

use anyhow::{bail, Context, Result};
use learnscope_core::RandomKey;
use learnscope_data::HierarchySpec;
use learnscope_models::{DeepLinearConfig, DeepLinearInit, Model, TapRequest};
use learnscope_nn::loss::{HostTargets, Loss, LossKind, Targets};
use learnscope_nn::optim::{Optimizer, OptimizerConfig};
use learnscope_nn::{CpuBackend, DType, ForwardCtx, Mode, Tensor};

/// Options of `learnscope demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Gradient-descent steps.
    #[arg(long, default_value_t = 20_000)]
    steps: u64,
    /// Learning rate η.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    lr: f64,
    /// Root seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

const ITEMS: usize = 8;
const OUTPUTS: usize = 15;

/// (d_OCS, spread) of outputs `f` (8 × 15) against the OCS `ocs`.
fn ocs_measures(f: &[f64], ocs: &[f64]) -> (f64, f64) {
    let mut mean = vec![0.0; OUTPUTS];
    for row in f.chunks_exact(OUTPUTS) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, v)| *m += v / ITEMS as f64);
    }
    let d_ocs = mean
        .iter()
        .zip(ocs)
        .map(|(m, o)| (m - o).powi(2))
        .sum::<f64>()
        .sqrt();
    let spread = f
        .chunks_exact(OUTPUTS)
        .map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(v, m)| (v - m).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .sum::<f64>()
        / ITEMS as f64;
    (d_ocs, spread)
}

/// Runs the demo; returns the exit code.
pub fn run(args: &DemoArgs) -> Result<i32> {
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        bail!("--lr must be a positive number, got {}", args.lr);
    }
    let be = CpuBackend::new(1);
    let key = RandomKey::root(args.seed);
    let cfg = DeepLinearConfig::new(
        &[ITEMS, 16, 16, OUTPUTS],
        true,
        DeepLinearInit::Gaussian { std: 0.01 },
        DType::F64,
    );
    let mut net = cfg.build(&be, key).context("building the demo network")?;
    let task = HierarchySpec::eight_items().build()?;
    let x = Tensor::from_f64(&be, DType::F64, &[ITEMS, ITEMS], &task.inputs);
    let y_host = task.targets;
    let y = Tensor::from_f64(&be, DType::F64, &[ITEMS, OUTPUTS], &y_host);
    let loss = Loss::mean(LossKind::Mse);
    let ocs = loss.optimal_constant(&HostTargets::Dense {
        values: &y_host,
        outputs: OUTPUTS,
    })?;
    let mut opt = Optimizer::new(OptimizerConfig::sgd())?;
    let mut grad = Tensor::zeros(&be, DType::F64, &[ITEMS, OUTPUTS]);

    println!(
        "learnscope demo: {} on the 8-item hierarchy, full-batch GD, η = {}, MSE",
        net.spec().name,
        args.lr
    );
    println!(
        "optimal constant solution: loss {:.4} (the mean target ȳ, independent of the input)",
        ocs.loss
    );
    println!();
    println!(
        "{:>8}  {:>10}  {:>10}  {:>10}",
        "step", "loss", "d_OCS", "spread"
    );
    let report_steps: Vec<u64> = std::iter::once(0)
        .chain(
            (0..)
                .map(|k| (10f64.powf(k as f64 / 3.0)).round() as u64)
                .take_while(|&s| s < args.steps),
        )
        .chain(std::iter::once(args.steps))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let (mut first_loss, mut halved_at, mut ocs_at, mut final_loss) = (None, None, None, f64::NAN);
    let start = std::time::Instant::now();
    for step in 0..=args.steps {
        let ctx = ForwardCtx::new(Mode::Train, step, key);
        let fwd = net.forward(&x, &ctx, &TapRequest::None)?;
        let l = loss.forward_backward(&be, fwd.logits, &Targets::Dense(&y), &mut grad)?;
        if !l.is_finite() {
            println!("{step:>8}  {l:>10.4}  diverged (non-finite loss)");
            return Ok(1);
        }
        let first = *first_loss.get_or_insert(l);
        if halved_at.is_none() && l <= first / 2.0 {
            halved_at = Some(step);
        }
        let want_row = report_steps.binary_search(&step).is_ok();
        if want_row || ocs_at.is_none() {
            let (d, spread) = ocs_measures(&fwd.logits.to_host_f64(&be), &ocs.output);
            if ocs_at.is_none() && d < 0.1 * ocs.output.iter().map(|v| v * v).sum::<f64>().sqrt() {
                ocs_at = Some((step, spread));
            }
            if want_row {
                println!("{step:>8}  {l:>10.4}  {d:>10.4}  {spread:>10.4}");
            }
        }
        final_loss = l;
        if step == args.steps {
            break;
        }
        net.backward(&grad, &TapRequest::None)?;
        opt.step(&be, &mut net, args.lr);
    }
    let secs = start.elapsed().as_secs_f64();
    println!();
    println!("steps            {}", args.steps);
    println!("final loss       {final_loss:.3e}");
    match halved_at {
        Some(s) => println!("loss halved at   step {s}"),
        None => println!("loss halved at   never (try more --steps)"),
    }
    if let Some((s, spread)) = ocs_at {
        println!(
            "OCS reached at   step {s} (d_OCS < 10% of ‖ȳ‖, spread across items still {spread:.3})"
        );
    }
    println!(
        "time             {secs:.2} s ({:.0} steps/s)",
        args.steps as f64 / secs.max(1e-9)
    );
    Ok(0)
}
