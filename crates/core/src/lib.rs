//! Vocabulary shared by every learnscope crate: element types ([`DType`]), counter-based random
//! keys ([`RandomKey`]) and learning-rate schedules ([`LrSchedule`]). No tensors live here.

mod dtype;
mod error;
mod lr_schedule;
mod random;

pub use dtype::DType;
pub use error::CoreError;
pub use lr_schedule::{LrSchedule, LrShape};
pub use random::RandomKey;
