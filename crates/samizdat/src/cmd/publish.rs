//! `samizdat publish site | verify | relays`: a static mirror of the
//! public records, its check, and the public relays.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use samizdat_node::CONFIG_FILE;
use samizdat_node::client::relays;
use samizdat_node::config::{Config, PublishRelay};
use samizdat_node::mirror::{site, verify};
use samizdat_node::progress::Observer;
use samizdat_node::route::Route;

use crate::cli::{FilterArgs, PublishCommand};
use crate::cmd::read::queries;
use crate::cmd::sync::Bar;
use crate::context::Context;
use crate::exit::Code;

pub fn run(ctx: &Context, command: PublishCommand) -> Result<Code> {
    match command {
        PublishCommand::Site { output, filter } => publish_site(ctx, &output, &filter),
        PublishCommand::Verify { dir } => check(ctx, &dir),
        PublishCommand::Relays {
            config,
            relays,
            filter,
            timeout,
        } => publish_relays(ctx, config, relays, &filter, timeout),
    }
}

fn done(bar: &mut Bar) {
    if let Some(bar) = bar.0.take() {
        bar.finish_and_clear();
    }
}

fn publish_site(ctx: &Context, output: &Path, filter: &FilterArgs) -> Result<Code> {
    ctx.require_initialised()?;
    let store = ctx.store()?;
    let queries = queries(ctx, filter, None)?;
    let mut bar = Bar(None);
    let summary = site::site(&store, output, &queries, &mut bar)
        .with_context(|| format!("publishing a mirror to {}", output.display()))?;
    done(&mut bar);
    if ctx.json {
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(Code::Success);
    }
    println!(
        "mirror {}: {} records, {} attestations, {} people, {} days, {} media files",
        output.display(),
        summary.records,
        summary.attestations,
        summary.people,
        summary.days,
        summary.blobs
    );
    println!(
        "{} files, {} bytes: {} written, {} unchanged from the previous mirror, {:.2} s",
        summary.files, summary.bytes, summary.written, summary.kept, summary.seconds
    );
    if summary.blobs_absent > 0 {
        println!(
            "{} media files the records name are not in this store yet; their pages say so",
            summary.blobs_absent
        );
    }
    if summary.blobs_refused > 0 {
        println!(
            "{} media files the records name are left out: they are not clean media samizdat \
             may publish (encrypted, or of a format it cannot clean); their pages say they are absent",
            summary.blobs_refused
        );
    }
    if summary.withheld > 0 {
        println!(
            "{} records left out: their authors marked them private, or they fail their checks",
            summary.withheld
        );
    }
    println!(
        "manifest digest (SHA-256 of manifest.json): {}",
        summary.digest
    );
    println!(
        "open {} in a browser, or copy the folder to any static host or USB stick",
        output.join("index.html").display()
    );
    Ok(Code::Success)
}

fn check(ctx: &Context, dir: &Path) -> Result<Code> {
    let mut bar = Bar(None);
    let checked = verify::verify(dir, &mut bar)?;
    done(&mut bar);
    if ctx.json {
        println!("{}", serde_json::to_string(&checked)?);
    } else {
        for problem in &checked.problems {
            println!("{problem}");
        }
        if checked.problem_count > checked.problems.len() as u64 {
            println!(
                "… and {} more problems",
                checked.problem_count - checked.problems.len() as u64
            );
        }
        println!(
            "{}: {} files and {} signed records checked, {}",
            dir.display(),
            checked.files,
            checked.records,
            if checked.problem_count == 0 {
                "all intact".to_string()
            } else {
                format!("{} problems", checked.problem_count)
            }
        );
        println!(
            "manifest digest (SHA-256 of manifest.json): {}",
            checked.digest
        );
    }
    Ok(if checked.problem_count == 0 {
        Code::Success
    } else {
        Code::Problems
    })
}

fn publish_relays(
    ctx: &Context,
    config: Option<std::path::PathBuf>,
    urls: Vec<samizdat_node::route::RelayUrl>,
    filter: &FilterArgs,
    timeout: Duration,
) -> Result<Code> {
    ctx.require_initialised()?;
    let config_path = config.unwrap_or_else(|| ctx.data.join(CONFIG_FILE));
    let config = Config::load(&config_path)?;
    let chosen: Vec<PublishRelay> = if urls.is_empty() {
        config.publish.relays.clone()
    } else {
        urls.into_iter().map(PublishRelay::new).collect()
    };
    if chosen.is_empty() {
        bail!(
            "no relay to publish to: list them as [[publish.relays]] in {}, or give --relay URL",
            config_path.display()
        );
    }
    let mut targets = Vec::new();
    for relay in &chosen {
        let proxy = Route::pick(relay.proxy.as_ref(), config.proxy.as_ref());
        targets.push(relays::Target {
            url: relay.url.clone(),
            proxy,
            events_per_second: relay.events_per_second,
            max_events: relay.max_events,
            retries: relay.retries,
            patience: timeout,
            backoff: Duration::from_secs(1),
        });
    }
    let store = ctx.store()?;
    let queries = queries(ctx, filter, None)?;
    let ids = relays::candidates(&store, &queries)?;
    if !ctx.json {
        println!("{} public records to publish", ids.len());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut code = Code::Success;
    for target in &targets {
        let mut bar = Bar(None);
        let pushed = runtime.block_on(relays::push(
            &store,
            &ids,
            target,
            &mut bar as &mut dyn Observer,
        ));
        done(&mut bar);
        if !pushed.complete() || pushed.refused > 0 {
            code = Code::Problems;
        }
        if ctx.json {
            println!("{}", serde_json::to_string(&pushed)?);
            continue;
        }
        println!(
            "{}: {} sent ({} bytes), {} already there, {} refused, {} left; {} connection(s), {:.2} s",
            pushed.url,
            pushed.sent,
            pushed.sent_bytes,
            pushed.already_there,
            pushed.refused,
            pushed.left,
            pushed.connections,
            pushed.seconds
        );
        if let Some(reason) = &pushed.first_refusal {
            println!("  first refusal: {reason}");
        }
        if let Some(error) = &pushed.error {
            println!("  given up: {error}; run again to go on");
        } else if pushed.left > 0 {
            println!("  max_events reached; run again to go on");
        }
    }
    Ok(code)
}
