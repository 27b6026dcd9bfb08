//! Vocabulary shared by every learnscope crate: element types ([`DType`]), counter-based random
//! keys ([`RandomKey`]), learning-rate schedules ([`LrSchedule`]) and probe timetables
//! ([`ProbeSchedule`]). No tensors live here.

mod dtype;
mod error;
pub mod host_linalg;
mod lr_schedule;
mod probe_schedule;
mod random;

pub use dtype::DType;
pub use error::CoreError;
pub use lr_schedule::{LrSchedule, LrShape};
pub use probe_schedule::ProbeSchedule;
pub use random::RandomKey;
