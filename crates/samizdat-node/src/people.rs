//! The people registry over a store: what `samizdat people` and the web
//! interface read. The registry itself (matching, entries, history) is
//! `samizdat-people`'s; this is where its reports and verdicts come from.

use std::sync::{Arc, Mutex};

use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::kind;
use samizdat_core::nostr::prelude::Event;
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
        // Stored reports were validated; one that no longer parses is
        // left out rather than stopping the registry.
        reports.extend(report(&stored.event()?));
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
        verdicts.extend(verdict(&stored.event()?));
    }
    Ok(registry::build(reports, &verdicts))
}

/// A person report as the registry reads it; `None` if `event` is not one.
pub fn report(event: &Event) -> Option<Report> {
    let report = PersonReport::from_event(event).ok()?;
    let place = report
        .place
        .text
        .clone()
        .or_else(|| report.place.geohash.clone());
    Some(Report {
        id: event.id.to_bytes(),
        author: event.pubkey.to_bytes(),
        created_at: event.created_at.as_secs(),
        name: report.name,
        aliases: report.aliases,
        age: report.age,
        role: report.role,
        status: report.status.as_str().to_string(),
        observed: report.observed.map(|o| o.start),
        offset: report
            .observed
            .and_then(|o| o.offset)
            .map(|o| o.to_string()),
        place,
        source: report.source.as_str().to_string(),
        details: report.details,
    })
}

/// A documenter's `same-person` or `different-person` verdict; `None`
/// for any other event.
pub fn verdict(event: &Event) -> Option<Verdict> {
    let attestation = Attestation::from_event(event).ok()?;
    let same = match attestation.label {
        Label::SamePerson => true,
        Label::DifferentPerson => false,
        _ => return None,
    };
    Some(Verdict {
        a: attestation.target.to_bytes(),
        b: attestation.original?.to_bytes(),
        same,
        created_at: event.created_at.as_secs(),
        id: event.id.to_bytes(),
    })
}

/// The registry, built again only when the store has changed since the
/// last build (its last sequence number moved), so that pages which show
/// it do not rebuild it from every person report on every request.
#[derive(Default)]
pub struct Cached(Mutex<Option<(u64, Arc<Registry>)>>);

impl Cached {
    pub fn get(&self, store: &Store) -> Result<Arc<Registry>, StoreError> {
        // Held while building: one build at a time, the others wait for it.
        let mut cached = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let seq = store.last_seq()?;
        if let Some((built_at, registry)) = cached.as_ref()
            && *built_at == seq
        {
            return Ok(Arc::clone(registry));
        }
        let built = Arc::new(registry(store)?);
        *cached = Some((seq, Arc::clone(&built)));
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
    use samizdat_core::sign::Draft;
    use samizdat_core::{Limits, validate};

    use super::*;

    #[test]
    fn the_registry_is_built_again_only_after_a_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("a store");
        let cache = Cached::default();
        let first = cache.get(&store).expect("built");
        let again = cache.get(&store).expect("cached");
        assert!(
            Arc::ptr_eq(&first, &again),
            "nothing changed: the same registry"
        );
        let now = Timestamp::now();
        let note = Draft {
            kind: Kind::TextNote,
            created_at: now,
            tags: Vec::new(),
            content: "news".into(),
        }
        .sign(&Keys::generate())
        .expect("signs");
        let note = validate(note, &Limits::default(), now).expect("valid");
        store.insert(vec![note]).expect("stored");
        let after = cache.get(&store).expect("built again");
        assert!(
            !Arc::ptr_eq(&first, &after),
            "the store changed: built again"
        );
    }
}
