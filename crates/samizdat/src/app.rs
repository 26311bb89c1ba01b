//! Dispatch from the parsed command line to the commands.

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::cmd;
use crate::context::Context;
use crate::exit::Code;

pub fn run(cli: Cli) -> Result<Code> {
    let ctx = Context::from_cli(&cli)?;
    match cli.command {
        Command::Init => cmd::init::run(&ctx),
        Command::Id(c) => cmd::id::run(&ctx, c),
        Command::Testimony(c) => cmd::record::testimony(&ctx, c),
        Command::Person(c) => cmd::record::person(&ctx, c),
        Command::Sealed(c) => cmd::sealed::run(&ctx, c),
        Command::People(c) => cmd::people::run(&ctx, c),
        Command::Attest(a) => cmd::record::attest(&ctx, a),
        Command::Retract(a) => cmd::record::retract(&ctx, a),
        Command::List(a) => cmd::read::list(&ctx, a),
        Command::Show(a) => cmd::read::show(&ctx, a),
        Command::Search(a) => cmd::read::search(&ctx, a),
        Command::Verify => cmd::verify::run(&ctx),
        Command::Events(c) => cmd::events::run(&ctx, c),
        Command::Blob(c) => cmd::blob::run(&ctx, c),
        Command::Media(c) => cmd::blob::media(&ctx, c),
        Command::Serve(a) => cmd::serve::run(&ctx, a),
        Command::Sync(a) => cmd::sync::run(&ctx, a),
        Command::Bundle(c) => cmd::bundle::run(&ctx, c),
        Command::Call(c) => cmd::call::run(&ctx, c),
        Command::Publish(c) => cmd::publish::run(&ctx, c),
        Command::Peers { config } => cmd::peers::run(&ctx, config),
        Command::Wipe(a) => cmd::wipe::run(&ctx, a),
        Command::Vault(c) => cmd::vault::run(&ctx, c),
        Command::Store(c) => cmd::store::run(&ctx, c),
    }
}
