//! NIP-01 filters: parsed and checked once, then used two ways: turned
//! into a store [`Query`] for stored events, and matched in memory against
//! each new event for live subscriptions. Both must agree; the tests hold
//! them to the same cases.

use samizdat_core::VerifiedEvent;
use samizdat_core::nostr::prelude::{EventId, PublicKey};
use samizdat_core::text::Search;
use samizdat_store::Query;
use serde_json::{Map, Value, json};

use super::Bounds;

/// Why a filter was refused; the text goes to the client after `invalid: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("a filter must be a JSON object")]
    NotAnObject,
    #[error("filter field {0:?} must be {1}")]
    Field(String, &'static str),
    #[error("a filter may hold at most {0} values")]
    TooManyValues(usize),
}

/// A checked NIP-01 filter. Lists are sorted so that matching a live event
/// is a binary search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    ids: Option<Vec<[u8; 32]>>,
    authors: Option<Vec<[u8; 32]>>,
    kinds: Option<Vec<u16>>,
    /// `#x` constraints, by tag letter.
    tags: Vec<(char, Vec<String>)>,
    since: Option<u64>,
    until: Option<u64>,
    limit: Option<usize>,
    /// NIP-50 search text, and the search it reads as, for live matching.
    search: Option<(String, Search)>,
}

fn hex32_list(key: &str, value: &Value) -> Result<Vec<[u8; 32]>, FilterError> {
    let bad = || FilterError::Field(key.into(), "a list of 64-character hex strings");
    let list = value.as_array().ok_or_else(bad)?;
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        let s = v.as_str().ok_or_else(bad)?;
        let mut id = [0u8; 32];
        hex::decode_to_slice(s, &mut id).map_err(|_| bad())?;
        out.push(id);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn timestamp(key: &str, value: &Value) -> Result<u64, FilterError> {
    value
        .as_u64()
        .ok_or_else(|| FilterError::Field(key.into(), "a non-negative integer"))
}

impl Filter {
    /// A client's filter, held to the relay's limits.
    pub fn parse(text: &str, limits: &Bounds) -> Result<Filter, FilterError> {
        let map: Map<String, Value> =
            serde_json::from_str(text).map_err(|_| FilterError::NotAnObject)?;
        Filter::from_map(&map, limits)
    }

    /// The node's own filter (a peer's in the configuration, `sync
    /// --filter`): any number of values, and no `limit`, since it says
    /// which events to keep in step, not how many to show.
    pub fn own(map: &Map<String, Value>) -> Result<Filter, FilterError> {
        let relaxed = Bounds {
            max_filter_values: usize::MAX,
            ..Bounds::default()
        };
        let mut filter = Filter::from_map(map, &relaxed)?;
        filter.limit = None;
        Ok(filter)
    }

    /// The events with these ids, all of them.
    pub fn ids(ids: &[EventId]) -> Filter {
        let mut list: Vec<[u8; 32]> = ids.iter().map(|id| id.to_bytes()).collect();
        list.sort_unstable();
        list.dedup();
        Filter {
            limit: Some(list.len()),
            ids: Some(list),
            ..Filter::default()
        }
    }

    /// Only these kinds.
    pub fn with_kinds(mut self, kinds: &[u16]) -> Filter {
        let mut kinds = kinds.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        self.kinds = Some(kinds);
        self
    }

    /// Only events signed within `since..=until`.
    pub fn with_time(mut self, since: Option<u64>, until: Option<u64>) -> Filter {
        self.since = since;
        self.until = until;
        self
    }

    /// At most `n` events.
    pub fn with_limit(mut self, n: usize) -> Filter {
        self.limit = Some(n);
        self
    }

    pub fn since(&self) -> Option<u64> {
        self.since
    }

    pub fn until(&self) -> Option<u64> {
        self.until
    }

    /// The NIP-01 object, as a client sends it.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        let hex = |list: &Vec<[u8; 32]>| json!(list.iter().map(hex::encode).collect::<Vec<_>>());
        if let Some(ids) = &self.ids {
            map.insert("ids".into(), hex(ids));
        }
        if let Some(authors) = &self.authors {
            map.insert("authors".into(), hex(authors));
        }
        if let Some(kinds) = &self.kinds {
            map.insert("kinds".into(), json!(kinds));
        }
        for (letter, values) in &self.tags {
            map.insert(format!("#{letter}"), json!(values));
        }
        if let Some(since) = self.since {
            map.insert("since".into(), json!(since));
        }
        if let Some(until) = self.until {
            map.insert("until".into(), json!(until));
        }
        if let Some(limit) = self.limit {
            map.insert("limit".into(), json!(limit));
        }
        if let Some((text, _)) = &self.search {
            map.insert("search".into(), json!(text));
        }
        Value::Object(map)
    }

    fn from_map(map: &Map<String, Value>, limits: &Bounds) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        let mut values = 0usize;
        for (key, value) in map {
            match key.as_str() {
                "ids" => {
                    let ids = hex32_list(key, value)?;
                    values += ids.len();
                    f.ids = Some(ids);
                }
                "authors" => {
                    let authors = hex32_list(key, value)?;
                    values += authors.len();
                    f.authors = Some(authors);
                }
                "kinds" => {
                    let bad = || FilterError::Field(key.into(), "a list of integers 0 to 65535");
                    let list = value.as_array().ok_or_else(bad)?;
                    let mut kinds = list
                        .iter()
                        .map(|k| {
                            k.as_u64()
                                .and_then(|k| u16::try_from(k).ok())
                                .ok_or_else(bad)
                        })
                        .collect::<Result<Vec<u16>, _>>()?;
                    kinds.sort_unstable();
                    kinds.dedup();
                    values += kinds.len();
                    f.kinds = Some(kinds);
                }
                "since" => f.since = Some(timestamp(key, value)?),
                "until" => f.until = Some(timestamp(key, value)?),
                "limit" => {
                    let n = value
                        .as_u64()
                        .ok_or_else(|| FilterError::Field(key.into(), "a non-negative integer"))?;
                    f.limit = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
                "search" => {
                    let s = value
                        .as_str()
                        .ok_or_else(|| FilterError::Field(key.into(), "a string"))?;
                    f.search = Some((s.to_string(), Search::parse(s)));
                }
                tag if tag.len() == 2 && tag.starts_with('#') => {
                    let Some(letter) = tag.chars().nth(1).filter(char::is_ascii_alphabetic) else {
                        continue;
                    };
                    let bad = || FilterError::Field(key.into(), "a list of strings");
                    let list = value.as_array().ok_or_else(bad)?;
                    let mut tag_values = list
                        .iter()
                        .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                        .collect::<Result<Vec<String>, _>>()?;
                    tag_values.sort_unstable();
                    tag_values.dedup();
                    values += tag_values.len();
                    f.tags.push((letter, tag_values));
                }
                // NIP-01: relays ignore what they do not know.
                _ => {}
            }
        }
        if values > limits.max_filter_values {
            return Err(FilterError::TooManyValues(limits.max_filter_values));
        }
        Ok(f)
    }

    /// The store query for stored events, its limit capped by the node's.
    pub fn to_query(&self, limits: &Bounds) -> Query {
        let limit = self
            .limit
            .unwrap_or(limits.default_limit)
            .min(limits.max_limit);
        Query {
            limit: Some(limit),
            ..self.to_unlimited_query()
        }
    }

    /// The store query with no limit, for counting and reconciliation.
    /// It hides every gift wrap; the caller opens them up to a reader.
    pub fn to_unlimited_query(&self) -> Query {
        Query {
            ids: self
                .ids
                .as_ref()
                .map(|ids| ids.iter().map(|id| EventId::from_byte_array(*id)).collect()),
            authors: self.authors.as_ref().map(|keys| {
                keys.iter()
                    .filter_map(|k| PublicKey::from_slice(k).ok())
                    .collect()
            }),
            kinds: self.kinds.clone(),
            tags: self.tags.clone(),
            since: self.since,
            until: self.until,
            limit: None,
            search: self.search.as_ref().map(|(s, _)| s.clone()),
            // A client's filter sees no gift wrap until the connection
            // says whose it may read.
            gift_wraps_for: Some(Vec::new()),
            after: None,
            by_happened: false,
        }
    }

    /// The store query for the node's own use (sync, counting what a peer
    /// may lack): every gift wrap here is the node's to carry.
    pub fn to_own_query(&self) -> Query {
        Query {
            gift_wraps_for: None,
            ..self.to_unlimited_query()
        }
    }

    /// Whether this filter only ever matches what is already stored: a
    /// live event cannot be older than `until` once `until` has passed,
    /// and `ids` can match only events that may still arrive, so only
    /// `limit: 0`-style emptiness counts here.
    pub fn matches_nothing(&self) -> bool {
        self.ids.as_ref().is_some_and(Vec::is_empty)
            || self.authors.as_ref().is_some_and(Vec::is_empty)
            || self.kinds.as_ref().is_some_and(Vec::is_empty)
            || self.tags.iter().any(|(_, v)| v.is_empty())
            || self.since.zip(self.until).is_some_and(|(s, u)| s > u)
    }

    /// Whether a new event matches, as the store query would have found it.
    pub fn matches(&self, event: &VerifiedEvent) -> bool {
        let e = event.event();
        if let Some(ids) = &self.ids
            && ids.binary_search(e.id.as_bytes()).is_err()
        {
            return false;
        }
        if let Some(authors) = &self.authors
            && authors.binary_search(&e.pubkey.to_bytes()).is_err()
        {
            return false;
        }
        if let Some(kinds) = &self.kinds
            && kinds.binary_search(&e.kind.as_u16()).is_err()
        {
            return false;
        }
        let created_at = e.created_at.as_secs();
        if self.since.is_some_and(|s| created_at < s) || self.until.is_some_and(|u| created_at > u)
        {
            return false;
        }
        for (letter, values) in &self.tags {
            let found = e.tags.iter().any(|tag| {
                let t = tag.as_slice();
                t.len() >= 2
                    && t[0].len() == 1
                    && t[0].starts_with(*letter)
                    && values.binary_search(&t[1]).is_ok()
            });
            if !found {
                return false;
            }
        }
        if let Some((_, wanted)) = &self.search {
            let Some(text) = event.search_text() else {
                return false;
            };
            return wanted.matches(text);
        }
        true
    }
}

/// Read and written as the NIP-01 object, for the node's own filters
/// (see [`Filter::own`]).
impl serde::Serialize for Filter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Filter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Filter, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        Filter::own(&map).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
    use samizdat_core::sign::Draft;
    use samizdat_core::{Limits, validate};

    use super::*;

    fn filter(text: &str) -> Filter {
        Filter::parse(text, &Bounds::default()).unwrap()
    }

    fn note(keys: &Keys, text: &str, tags: Vec<Vec<String>>, at: u64) -> VerifiedEvent {
        let event = Draft {
            kind: Kind::TextNote,
            created_at: Timestamp::from_secs(at),
            tags,
            content: text.into(),
        }
        .sign(keys)
        .unwrap();
        validate(event, &Limits::default(), Timestamp::from_secs(at)).unwrap()
    }

    #[test]
    fn live_matching_follows_each_field() {
        let keys = Keys::generate();
        let other = Keys::generate();
        let at = 1_700_000_000;
        let e = note(
            &keys,
            "Алматы, площадь",
            vec![vec!["t".into(), "almaty".into()]],
            at,
        );
        let id = e.event().id.to_hex();
        let pk = keys.public_key().to_hex();
        let yes = [
            "{}".to_string(),
            format!(r#"{{"ids":["{id}"]}}"#),
            format!(r#"{{"authors":["{pk}"],"kinds":[1,7]}}"#),
            r##"{"#t":["almaty","x"]}"##.into(),
            format!(r#"{{"since":{at},"until":{at}}}"#),
            r#"{"search":"АЛМАТЫ площ"}"#.into(),
            r#"{"search":"almaty"}"#.into(),
            // Across scripts, as the store's index finds it.
            r#"{"search":"Ploshchad Almaty"}"#.into(),
            r#"{"unknown":[1]}"#.into(),
        ];
        for f in yes {
            assert!(filter(&f).matches(&e), "{f} should match");
        }
        let no = [
            format!(r#"{{"authors":["{}"]}}"#, other.public_key().to_hex()),
            r#"{"kinds":[0]}"#.into(),
            r##"{"#t":["astana"]}"##.into(),
            r##"{"#p":["almaty"]}"##.into(),
            format!(r#"{{"since":{}}}"#, at + 1),
            format!(r#"{{"until":{}}}"#, at - 1),
            r#"{"search":"astana"}"#.into(),
            r#"{"search":"Ploshchad Astana"}"#.into(),
            r#"{"ids":[]}"#.into(),
        ];
        for f in no {
            assert!(!filter(&f).matches(&e), "{f} should not match");
        }
    }

    /// What a node sends is the filter it means: written and read back,
    /// the same filter.
    #[test]
    fn a_filter_written_out_reads_back_the_same() {
        let id = EventId::from_byte_array([7; 32]);
        let text = format!(
            r##"{{"ids":["{id}"],"kinds":[1949,1948,1948],"#t":["b","a"],"since":5,"until":9,"search":"Алматы","limit":3,"unknown":1}}"##
        );
        let f = filter(&text);
        assert_eq!(filter(&f.to_json().to_string()), f);
        let many: Vec<u16> = (0..6000).collect();
        let map = serde_json::json!({ "kinds": many, "limit": 2 });
        let own = Filter::own(map.as_object().unwrap()).unwrap();
        assert_eq!(own.to_json()["kinds"].as_array().unwrap().len(), 6000);
        assert!(
            own.to_json().get("limit").is_none(),
            "a node's own filter has no limit"
        );
        let by_id = Filter::ids(&[id, id])
            .with_kinds(&[7])
            .with_time(None, Some(9));
        assert_eq!(
            by_id.to_json(),
            serde_json::json!({ "ids": [id.to_hex()], "kinds": [7], "until": 9, "limit": 1 })
        );
        assert!(by_id.to_own_query().gift_wraps_for.is_none());
        assert_eq!(by_id.to_unlimited_query().gift_wraps_for, Some(Vec::new()));
    }

    #[test]
    fn bad_filters_are_refused_with_the_field_named() {
        let limits = Bounds::default();
        for (text, field) in [
            (r#"{"ids":["abc"]}"#, "ids"),
            (r#"{"authors":"x"}"#, "authors"),
            (r#"{"kinds":[70000]}"#, "kinds"),
            (r#"{"kinds":[-1]}"#, "kinds"),
            (r#"{"since":"yesterday"}"#, "since"),
            (r#"{"limit":-5}"#, "limit"),
            (r##"{"#e":[1]}"##, "#e"),
            (r#"{"search":3}"#, "search"),
        ] {
            let err = Filter::parse(text, &limits).unwrap_err();
            assert!(err.to_string().contains(field), "{text}: {err}");
        }
        assert_eq!(
            Filter::parse("[]", &limits).unwrap_err(),
            FilterError::NotAnObject
        );
        let many = format!(
            r##"{{"#t":[{}]}}"##,
            (0..5001)
                .map(|i| format!("\"{i}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(
            Filter::parse(&many, &limits).unwrap_err(),
            FilterError::TooManyValues(5000)
        );
    }

    #[test]
    fn limits_are_capped() {
        let limits = Bounds::default();
        assert_eq!(filter("{}").to_query(&limits).limit, Some(500));
        assert_eq!(filter(r#"{"limit":10}"#).to_query(&limits).limit, Some(10));
        assert_eq!(
            filter(r#"{"limit":1000000}"#).to_query(&limits).limit,
            Some(1000)
        );
    }
}
