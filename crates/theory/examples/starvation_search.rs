//! Grid search for a two-feature gradient-starvation experiment (SCIENCE.md §C.4, §P3.3) in
//! which the mode model predicts: CE index ≤ 0.3 at t_end, SD index − CE index ≥ 0.3, and
//! weight decay matched to the SD run's final training loss gives
//! WD index − CE index < ½ (SD index − CE index).
//!
//! `cargo run --release -p learnscope-theory --example starvation_search [two_layer|shallow]`

use learnscope_theory::binary::{BinaryModel, StarvationExperiment};

fn main() {
    let shallow = std::env::args().nth(1).as_deref() == Some("shallow");
    let (model, init) = if shallow {
        (BinaryModel::Shallow, 0.0)
    } else {
        (BinaryModel::TwoLayer, 1e-3)
    };
    println!(
        "{:>5} {:>5} {:>5} {:>5} {:>7} | {:>8} {:>8} | {:>7} {:>7} {:>7} {:>9} | {:>7} {:>7} {:>7} | {:>6} {:>6} ok",
        "p2", "r1", "r2", "eps", "l_sd", "t_half", "t_end", "ce_idx", "sd_idx", "wd_idx", "l_wd",
        "ce_L", "sd_L", "wd_L", "sd/ceA", "wd/ceA"
    );
    let mut found = 0;
    for &p2 in &[0.05, 0.1, 0.2, 0.3] {
        for &r1 in &[1.0, 2.0, 4.0] {
            for &r2 in &[0.5, 1.0, 2.0, 4.0, 8.0] {
                for &eps in &[0.1, 0.2, 0.3, 0.5] {
                    for &lambda_sd in &[0.003, 0.01, 0.03, 0.1] {
                        let e = StarvationExperiment {
                            model,
                            p2,
                            r1,
                            r2,
                            eps,
                            lambda_sd,
                            init,
                        };
                        let o = match e.evaluate() {
                            Ok(o) => o,
                            Err(err) => {
                                println!("{p2} {r1} {r2} {eps} {lambda_sd}: {err}");
                                continue;
                            }
                        };
                        let gap = o.sd_index - o.ce_index;
                        let ok =
                            o.ce_index <= 0.3 && gap >= 0.3 && o.wd_index - o.ce_index < 0.5 * gap;
                        if ok {
                            found += 1;
                        }
                        println!(
                            "{:5.2} {:5.1} {:5.1} {:5.2} {:7.3} | {:8.3} {:8.2} | {:7.3} {:7.3} {:7.3} {:9.2e} | {:7.4} {:7.4} {:7.4} | {:6.3} {:6.3} {}",
                            p2, r1, r2, eps, lambda_sd, o.t_half, o.t_end, o.ce_index,
                            o.sd_index, o.wd_index, o.lambda_wd, o.ce_loss, o.sd_loss,
                            o.wd_loss, o.sd_index_vs_ce_alone, o.wd_index_vs_ce_alone,
                            if ok { "YES" } else { "" }
                        );
                    }
                }
            }
        }
    }
    println!("{found} parameter sets satisfy all three conditions");
}
