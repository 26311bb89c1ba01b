//! `people match`: the registry's matcher on two names, with its reasons.

use anyhow::Result;
use samizdat_people::{Name, compare};
use serde_json::json;

use crate::cli::PeopleCommand;
use crate::context::Context;
use crate::exit::Code;

pub fn run(ctx: &Context, command: PeopleCommand) -> Result<Code> {
    match command {
        PeopleCommand::Match { a, b } => {
            let verdict = compare(&Name::parse(&a), &Name::parse(&b));
            if ctx.json {
                println!(
                    "{}",
                    json!({
                        "a": a,
                        "b": b,
                        "score": (verdict.score * 1000.0).round() / 1000.0,
                        "decision": verdict.decision.as_str(),
                        "reasons": verdict.reasons,
                    })
                );
            } else {
                println!("{} (score {:.2})", verdict.decision.as_str(), verdict.score);
                for reason in &verdict.reasons {
                    println!("  {reason}");
                }
            }
            Ok(Code::Success)
        }
    }
}
