//! One module per command (or family of commands).

pub mod bench;
pub mod blob;
pub mod bundle;
pub mod events;
pub mod id;
pub mod init;
pub mod peers;
pub mod people;
pub mod read;
pub mod record;
pub mod sealed;
pub mod sealing;
pub mod serve;
pub mod sync;
pub mod verify;
pub mod wipe;
