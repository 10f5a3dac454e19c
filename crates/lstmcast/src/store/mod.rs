//! Storage: run folders written atomically ([`folder`]), a trained model's files ([`model`]) and
//! the training checkpoint ([`checkpoint`]). The texts inside a run folder (CSV, JSON) come from
//! [`crate::report`].

pub mod checkpoint;
pub mod folder;
pub mod lock;
pub mod model;

pub use checkpoint::{read_checkpoint, write_checkpoint, CheckpointInfo, CHECKPOINT_FILE};
pub use folder::{folder_kind, write, write_atomically, write_marker, FORMAT_VERSION, MARKER};
pub use lock::RunLock;
