//! Progress on stderr: an indicatif bar when stderr is a terminal, otherwise a plain line every
//! 10 s (logs and CI stay readable). The clock is read every 256 steps, so a step of a few
//! microseconds pays almost nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use learnscope_repro::Progress;

/// A progress callback for the runner.
pub fn progress_reporter() -> Progress {
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} steps  {per_sec}  eta {eta}  loss {msg}",
            )
            .expect("valid template"),
        );
        let mut last = Instant::now();
        Box::new(move |step, steps, loss| {
            if step % 256 == 0 || step == steps {
                bar.set_length(steps);
                bar.set_position(step);
                if last.elapsed() > Duration::from_millis(100) || step == steps {
                    bar.set_message(format!("{loss:.4e}"));
                    last = Instant::now();
                }
                if step == steps {
                    bar.finish_and_clear();
                }
            }
        })
    } else {
        let start = Instant::now();
        let mut last = start;
        let mut first = None;
        Box::new(move |step, steps, loss| {
            let first = *first.get_or_insert(step);
            if step % 256 == 0 && last.elapsed() > Duration::from_secs(10) {
                last = Instant::now();
                let rate = (step - first) as f64 / start.elapsed().as_secs_f64().max(1e-9);
                eprintln!("step {step}/{steps} ({rate:.0} steps/s), training loss {loss:.4e}");
            }
        })
    }
}
