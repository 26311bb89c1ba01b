//! `samizdat`: collect, protect, verify, preserve and spread eyewitness
//! records. Parses arguments, starts logging, runs the command and prints
//! any error once, with its causes.

mod app;
mod cli;
mod cmd;
mod confirm;
mod context;
mod exit;
mod output;
mod passphrase;
mod progress;
mod time;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Commands that talk to the network (or to the other end of a live
    // call) keep SIGPIPE ignored: a peer that resets a connection, or a
    // call that hangs up, must cost an error on that connection, never the
    // process (vectored socket writes do not ask the kernel to spare it).
    if !cli.command.uses_network() {
        restore_sigpipe();
    }
    // A server logs what it does; other commands only warnings.
    let serving = matches!(cli.command, cli::Command::Serve(_));
    init_tracing(cli.verbose.max(u8::from(serving)));
    match app::run(cli) {
        Ok(code) => code.into(),
        Err(err) if is_broken_pipe(&err) => exit::Code::Success.into(),
        Err(err) => {
            eprintln!("samizdat: {}", said_once(&err));
            exit::Code::Failure.into()
        }
    }
}

/// The error and its causes, each said once: library errors name their
/// cause in their own message and keep it as their source too, so a cause
/// already said is not repeated.
fn said_once(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SAMIZDAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
}

/// Output piped into `head` that closes early ends the process quietly, as
/// it does for other Unix tools, instead of failing on the next write.
fn restore_sigpipe() {
    // SAFETY: setting a signal disposition to its default, before any
    // thread is started (argument parsing starts none).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Output piped into `head` that closes early is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::said_once;

    #[test]
    fn each_cause_is_said_once() {
        let cause = || std::io::Error::other("disk on fire");
        let named = anyhow::Error::new(cause()).context("reading the store: disk on fire");
        assert_eq!(said_once(&named), "reading the store: disk on fire");
        let unnamed = anyhow::Error::new(cause()).context("reading the store");
        assert_eq!(said_once(&unnamed), "reading the store: disk on fire");
    }
}
