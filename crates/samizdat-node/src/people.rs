//! The people registry over a store: what `samizdat people` and the web
//! interface read. The registry itself (matching, entries, history) is
//! `samizdat-people`'s; this is where its reports and verdicts come from.

use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::kind;
use samizdat_core::person::PersonReport;
use samizdat_people::registry::{self, Registry, Report, Verdict};
use samizdat_store::{Query, Store, StoreError};

/// The registry of every person report in the store, with every
/// documenter's verdict (`same-person`, `different-person`).
pub fn registry(store: &Store) -> Result<Registry, StoreError> {
    let mut reports = Vec::new();
    for stored in store.query(&Query {
        kinds: Some(vec![kind::PERSON_REPORT.as_u16()]),
        ..Default::default()
    })? {
        let event = stored.event()?;
        // Stored reports were validated; one that no longer parses is
        // left out rather than stopping the registry.
        let Ok(report) = PersonReport::from_event(&event) else {
            continue;
        };
        let place = report
            .place
            .text
            .clone()
            .or_else(|| report.place.geohash.clone());
        reports.push(Report {
            id: event.id.to_bytes(),
            author: event.pubkey.to_bytes(),
            created_at: event.created_at.as_secs(),
            name: report.name,
            aliases: report.aliases,
            age: report.age,
            role: report.role,
            status: report.status.as_str().to_string(),
            observed: report.observed.map(|o| o.start),
            place,
            source: report.source.as_str().to_string(),
        });
    }
    let mut verdicts = Vec::new();
    for stored in store.query(&Query {
        kinds: Some(vec![kind::ATTESTATION.as_u16()]),
        tags: vec![(
            'l',
            vec![
                Label::SamePerson.as_str().into(),
                Label::DifferentPerson.as_str().into(),
            ],
        )],
        ..Default::default()
    })? {
        let event = stored.event()?;
        let Ok(attestation) = Attestation::from_event(&event) else {
            continue;
        };
        let Some(of) = attestation.original else {
            continue;
        };
        verdicts.push(Verdict {
            a: attestation.target.to_bytes(),
            b: of.to_bytes(),
            same: attestation.label == Label::SamePerson,
            created_at: event.created_at.as_secs(),
            id: event.id.to_bytes(),
        });
    }
    Ok(registry::build(reports, &verdicts))
}
