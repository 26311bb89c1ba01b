//! The short form of the fuzzing run, for CI: every target, from its
//! seeds and a few thousand mutations of them, must never panic.
//! `scripts/fuzz` runs the long form.

use std::time::Duration;

use samizdat_fuzz::{Budget, run, targets};

#[test]
fn no_parser_of_outside_input_panics() {
    let crashes = tempfile::tempdir().expect("tempdir");
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for mut target in targets::all() {
        // The drop box goes over loopback to a node: fewer inputs.
        let iterations = if target.name == "multipart" {
            300
        } else {
            2_000
        };
        let budget = Budget {
            iterations,
            time: Duration::from_secs(60),
        };
        let report = run(&mut target, budget, 0x5a11_2026, crashes.path());
        eprintln!(
            "fuzz {}: {} inputs, {} panics",
            report.target, report.iterations, report.panics
        );
        if report.panics > 0 {
            failures.push(format!("{}: {:?}", report.target, report.crashes));
        }
        assert!(report.iterations > 0, "{} ran nothing", report.target);
    }
    std::panic::set_hook(hook);
    assert!(failures.is_empty(), "inputs that panic: {failures:#?}");
}

/// Mutations reach deep only from inputs the parsers take: every seed is
/// one.
#[test]
fn every_seed_is_taken_as_it_is() {
    use samizdat_fuzz::seeds;
    for (name, set) in [
        ("jpeg", seeds::jpeg()),
        ("png", seeds::png()),
        ("webp", seeds::webp()),
        ("gif", seeds::gif()),
        ("heif", seeds::heif_images()),
        ("iso-media", seeds::iso_media()),
        ("mp3", seeds::mp3()),
        ("ogg", seeds::ogg()),
        ("wav", seeds::wav()),
        ("flac", seeds::flac()),
        ("amr", seeds::amr()),
        ("matroska", seeds::matroska()),
    ] {
        for (i, seed) in set.iter().enumerate() {
            if let Err(e) = samizdat_media::strip(seed) {
                panic!("{name} seed {i}: {e}");
            }
        }
    }
    for seed in seeds::noise() {
        assert!(samizdat_media::admit(&seed).is_ok());
    }
    for seed in seeds::bundle() {
        samizdat_bundle::unpack(
            &seed[..],
            &mut targets::Drain,
            &samizdat_bundle::Limits::default(),
        )
        .expect("the bundle seed unpacks");
    }
    for seed in seeds::want() {
        samizdat_bundle::Want::read(&seed[..]).expect("the want seed reads");
    }
    let limits = samizdat_node::Config::default().relay.bounds();
    for seed in seeds::relay_messages() {
        let text = String::from_utf8(seed).expect("utf-8");
        samizdat_node::proto::message::ClientMessage::parse(&text, &limits)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    for seed in seeds::relay_answers() {
        let text = String::from_utf8(seed).expect("utf-8");
        samizdat_node::proto::client::RelayMessage::parse(&text)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    for seed in seeds::blossom_authorizations() {
        let header = String::from_utf8(seed).expect("utf-8");
        samizdat_node::server::blossom::auth::parse(Some(&header)).expect("authorization parses");
    }
    for seed in seeds::pfif() {
        let people = samizdat_people::pfif::parse(&String::from_utf8(seed).expect("utf-8"))
            .expect("PFIF parses");
        assert_eq!(people.len(), 1);
    }
    assert!(
        seeds::nip77_messages().len() == 2,
        "an initiator's first message"
    );
}
