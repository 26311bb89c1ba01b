//! Exit codes, so scripts can tell outcomes apart.

/// What the process's exit status means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Done, nothing wrong.
    Success = 0,
    /// The command failed; the message says why.
    Failure = 1,
    // 2 is a usage error, reported by the argument parser.
    /// The command ran to the end but found bad items: corrupt records or
    /// blobs in `verify`, rejected lines in `events import`, events refused
    /// either way in `sync`.
    Problems = 3,
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
