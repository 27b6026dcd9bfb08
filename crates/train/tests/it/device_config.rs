//! The `device` key: `"cpu"` by default, `"cuda:N"` for GPU N, anything else an error that names
//! the key and the allowed values; the default is left out of the resolved config.

use learnscope_train::config::{Device, RunConfig};

fn config(device: Option<&str>, sets: &[String]) -> Result<RunConfig, String> {
    let line = device.map_or(String::new(), |d| format!("device = {d:?}"));
    let text = format!(
        r#"
name = "t"
steps = 1
{line}
[data]
kind = "gaussian_mixture"
[model]
kind = "mlp"
hidden = [4]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
"#
    );
    RunConfig::parse(&text, sets).map_err(|e| e.to_string())
}

#[test]
fn device_defaults_to_cpu_and_accepts_cuda_ordinals() {
    let cfg = config(None, &[]).unwrap();
    assert_eq!(cfg.device().unwrap(), Device::Cpu);
    assert!(
        !cfg.to_toml().contains("device"),
        "the default is not written"
    );
    assert_eq!(
        config(Some("cpu"), &[]).unwrap().device().unwrap(),
        Device::Cpu
    );
    for n in [0usize, 1, 7] {
        let cfg = config(Some(&format!("cuda:{n}")), &[]).unwrap();
        assert_eq!(cfg.device().unwrap(), Device::Cuda { ordinal: n });
        assert_eq!(cfg.device().unwrap().to_string(), format!("cuda:{n}"));
        // A non-default device round-trips through the resolved config.
        let again = RunConfig::parse(&cfg.to_toml(), &[]).unwrap();
        assert_eq!(again.device, format!("cuda:{n}"));
    }
    let set = config(None, &["device=\"cuda:2\"".to_string()]).unwrap();
    assert_eq!(set.device().unwrap(), Device::Cuda { ordinal: 2 });
    let bare = config(None, &["device=cuda:3".to_string()]).unwrap();
    assert_eq!(bare.device().unwrap(), Device::Cuda { ordinal: 3 });
}

#[test]
fn a_bad_device_names_the_key_and_the_allowed_values() {
    for bad in [
        "gpu", "cuda", "cuda:", "cuda:x", "cuda:-1", "CPU", "cuda:0 ", "tpu:0",
    ] {
        let err = config(Some(bad), &[]).unwrap_err();
        assert!(
            err.contains("`device`") && err.contains("\"cpu\"") && err.contains("\"cuda:N\""),
            "{bad:?}: {err}"
        );
        assert!(err.contains(&format!("{bad:?}")), "{bad:?}: {err}");
    }
}
