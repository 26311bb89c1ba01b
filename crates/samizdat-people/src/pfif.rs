//! PFIF 1.4, the Person Finder Interchange Format
//! (<http://zesty.ca/pfif/1.4/>): person records, each with the notes
//! that tell what happened to the person, in XML. Read (1.2 to 1.4, any
//! namespace prefix) and written (1.4) here; the mapping to and from
//! samizdat's records is the command line's.

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// PFIF 1.4's namespace.
pub const NAMESPACE: &str = "http://zesty.ca/pfif/1.4";
/// Most person records read from one document.
pub const MAX_PERSONS: usize = 1_000_000;
/// Longest field value read, in bytes.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// A note: one claim about a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    pub note_record_id: String,
    pub person_record_id: String,
    pub author_name: String,
    /// `yyyy-mm-ddThh:mm:ssZ`.
    pub source_date: String,
    pub entry_date: String,
    /// `information_sought`, `is_note_author`, `believed_alive`,
    /// `believed_missing`, `believed_dead`, or empty.
    pub status: String,
    pub last_known_location: String,
    pub text: String,
}

/// A person record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub person_record_id: String,
    pub entry_date: String,
    pub author_name: String,
    pub source_name: String,
    pub source_date: String,
    pub full_name: String,
    pub given_name: String,
    pub family_name: String,
    /// One name per line.
    pub alternate_names: String,
    pub description: String,
    pub sex: String,
    pub age: String,
    pub home_city: String,
    pub home_country: String,
    pub notes: Vec<Note>,
}

#[derive(Debug, thiserror::Error)]
pub enum PfifError {
    #[error("not well-formed XML at byte {at}: {why}")]
    Xml { at: u64, why: String },
    #[error("not a PFIF document (the root is not pfif:pfif in a zesty.ca/pfif namespace)")]
    NotPfif,
    #[error("a <{0}> field is longer than {MAX_FIELD_BYTES} bytes")]
    FieldTooLong(String),
    #[error("more than {MAX_PERSONS} person records")]
    TooMany,
}

impl Person {
    fn field(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "person_record_id" => &mut self.person_record_id,
            "entry_date" => &mut self.entry_date,
            "author_name" => &mut self.author_name,
            "source_name" => &mut self.source_name,
            "source_date" => &mut self.source_date,
            "full_name" => &mut self.full_name,
            // PFIF 1.2 and 1.3 called them first and last name.
            "given_name" | "first_name" => &mut self.given_name,
            "family_name" | "last_name" => &mut self.family_name,
            "alternate_names" => &mut self.alternate_names,
            "description" | "other" => &mut self.description,
            "sex" => &mut self.sex,
            "age" => &mut self.age,
            "home_city" => &mut self.home_city,
            "home_country" => &mut self.home_country,
            _ => return None,
        })
    }

    /// The name to go by: `full_name`, else given and family names.
    pub fn name(&self) -> String {
        if !self.full_name.trim().is_empty() {
            return self.full_name.trim().to_string();
        }
        format!("{} {}", self.given_name.trim(), self.family_name.trim())
            .trim()
            .to_string()
    }
}

impl Note {
    fn field(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "note_record_id" => &mut self.note_record_id,
            "person_record_id" => &mut self.person_record_id,
            "author_name" => &mut self.author_name,
            "source_date" => &mut self.source_date,
            "entry_date" => &mut self.entry_date,
            "status" => &mut self.status,
            "last_known_location" => &mut self.last_known_location,
            "text" => &mut self.text,
            _ => return None,
        })
    }
}

/// The local part of a possibly prefixed XML name.
fn local(name: &[u8]) -> &[u8] {
    name.rsplit(|b| *b == b':').next().unwrap_or(name)
}

/// Reads a PFIF document. Notes outside a person go to the person their
/// `person_record_id` names, if the document has it; unknown fields are
/// skipped.
pub fn parse(xml: &str) -> Result<Vec<Person>, PfifError> {
    let mut reader = Reader::from_str(xml);
    let error = |reader: &Reader<&[u8]>, why: String| PfifError::Xml {
        at: reader.buffer_position(),
        why,
    };
    let mut persons: Vec<Person> = Vec::new();
    let mut loose: Vec<Note> = Vec::new();
    let mut person: Option<Person> = None;
    let mut note: Option<Note> = None;
    let mut field: Option<String> = None;
    let mut value = String::new();
    let mut rooted = false;
    // Elements opened and not yet closed: a document cut short ends with
    // some still open, and is refused rather than read in part.
    let mut open = 0usize;
    // Bounded: each event consumes input, and the reader stops at its end.
    loop {
        let event = reader
            .read_event()
            .map_err(|e| error(&reader, e.to_string()))?;
        match &event {
            Event::Start(_) => open += 1,
            Event::End(_) => open = open.saturating_sub(1),
            Event::Eof if open > 0 => {
                return Err(error(
                    &reader,
                    format!("the document ends with {open} element(s) still open: it is cut short"),
                ));
            }
            _ => {}
        }
        match event {
            Event::Start(start) | Event::Empty(start) if !rooted => {
                let is_pfif = local(start.name().as_ref()) == b"pfif"
                    && start.attributes().flatten().any(|a| {
                        a.key.as_ref().starts_with(b"xmlns")
                            && a.value.as_ref().starts_with(b"http://zesty.ca/pfif/1.")
                    });
                if !is_pfif {
                    return Err(PfifError::NotPfif);
                }
                rooted = true;
            }
            Event::Start(start) => {
                let name = String::from_utf8_lossy(local(start.name().as_ref())).into_owned();
                match name.as_str() {
                    "person" if person.is_none() && note.is_none() => {
                        person = Some(Person::default());
                    }
                    "note" if note.is_none() => note = Some(Note::default()),
                    _ => {
                        field = Some(name);
                        value.clear();
                    }
                }
            }
            Event::Text(text) if field.is_some() => {
                let text = text.decode().map_err(|e| error(&reader, e.to_string()))?;
                value.push_str(&text);
            }
            Event::CData(text) if field.is_some() => {
                let text = text.decode().map_err(|e| error(&reader, e.to_string()))?;
                value.push_str(&text);
            }
            Event::GeneralRef(entity) if field.is_some() => {
                if let Ok(Some(c)) = entity.resolve_char_ref() {
                    value.push(c);
                } else {
                    let name = entity.decode().map_err(|e| error(&reader, e.to_string()))?;
                    match resolve_predefined_entity(&name) {
                        Some(s) => value.push_str(s),
                        None => return Err(error(&reader, format!("unknown entity &{name};"))),
                    }
                }
            }
            Event::End(end) => {
                let name = local(end.name().as_ref()).to_vec();
                if let Some(f) = field.take() {
                    if value.len() > MAX_FIELD_BYTES {
                        return Err(PfifError::FieldTooLong(f));
                    }
                    let target = match (&mut note, &mut person) {
                        (Some(n), _) => n.field(&f),
                        (None, Some(p)) => p.field(&f),
                        (None, None) => None,
                    };
                    if let Some(target) = target {
                        *target = value.trim().to_string();
                    }
                    continue;
                }
                match name.as_slice() {
                    b"note" => {
                        if let Some(mut n) = note.take() {
                            match &mut person {
                                Some(p) => {
                                    if n.person_record_id.is_empty() {
                                        n.person_record_id = p.person_record_id.clone();
                                    }
                                    p.notes.push(n);
                                }
                                None => loose.push(n),
                            }
                        }
                    }
                    b"person" => {
                        if let Some(mut p) = person.take() {
                            for n in &mut p.notes {
                                if n.person_record_id.is_empty() {
                                    n.person_record_id = p.person_record_id.clone();
                                }
                            }
                            if persons.len() >= MAX_PERSONS {
                                return Err(PfifError::TooMany);
                            }
                            persons.push(p);
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !rooted {
        return Err(PfifError::NotPfif);
    }
    for n in loose {
        if let Some(p) = persons
            .iter_mut()
            .find(|p| p.person_record_id == n.person_record_id)
        {
            p.notes.push(n);
        }
    }
    Ok(persons)
}

/// Writes a PFIF 1.4 document. Empty fields are left out, except the
/// ones PFIF requires.
pub fn write(persons: &[Person]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<pfif:pfif xmlns:pfif=\"{NAMESPACE}\">\n"));
    let field = |out: &mut String, indent: &str, name: &str, value: &str, required: bool| {
        if value.is_empty() && !required {
            return;
        }
        // XML 1.0 has no place for most control characters.
        let clean: String = value
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
            .collect();
        out.push_str(&format!(
            "{indent}<pfif:{name}>{}</pfif:{name}>\n",
            escape(clean.as_str())
        ));
    };
    for p in persons {
        out.push_str("  <pfif:person>\n");
        let i = "    ";
        field(&mut out, i, "person_record_id", &p.person_record_id, true);
        field(&mut out, i, "entry_date", &p.entry_date, false);
        field(&mut out, i, "author_name", &p.author_name, false);
        field(&mut out, i, "source_name", &p.source_name, false);
        field(&mut out, i, "source_date", &p.source_date, true);
        field(&mut out, i, "full_name", &p.full_name, true);
        field(&mut out, i, "given_name", &p.given_name, false);
        field(&mut out, i, "family_name", &p.family_name, false);
        field(&mut out, i, "alternate_names", &p.alternate_names, false);
        field(&mut out, i, "description", &p.description, false);
        field(&mut out, i, "sex", &p.sex, false);
        field(&mut out, i, "age", &p.age, false);
        field(&mut out, i, "home_city", &p.home_city, false);
        field(&mut out, i, "home_country", &p.home_country, false);
        for n in &p.notes {
            out.push_str("    <pfif:note>\n");
            let i = "      ";
            field(&mut out, i, "note_record_id", &n.note_record_id, true);
            field(&mut out, i, "person_record_id", &n.person_record_id, false);
            field(&mut out, i, "entry_date", &n.entry_date, false);
            field(&mut out, i, "author_name", &n.author_name, true);
            field(&mut out, i, "source_date", &n.source_date, true);
            field(&mut out, i, "status", &n.status, false);
            field(
                &mut out,
                i,
                "last_known_location",
                &n.last_known_location,
                false,
            );
            field(&mut out, i, "text", &n.text, true);
            out.push_str("    </pfif:note>\n");
        }
        out.push_str("  </pfif:person>\n");
    }
    out.push_str("</pfif:pfif>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Person {
        Person {
            person_record_id: "samizdat/ab12".into(),
            source_date: "2022-01-07T00:00:00Z".into(),
            full_name: "Әсел Нұрланқызы".into(),
            alternate_names: "Асель Нурланова\nAssel Nurlanova".into(),
            age: "23".into(),
            description: "journalist & <activist>".into(),
            notes: vec![Note {
                note_record_id: "samizdat/cd34".into(),
                person_record_id: "samizdat/ab12".into(),
                author_name: "npub1example".into(),
                source_date: "2022-01-07T00:00:00Z".into(),
                status: "believed_alive".into(),
                last_known_location: "Алматы, СИЗО-1".into(),
                text: "detained (official)".into(),
                ..Note::default()
            }],
            ..Person::default()
        }
    }

    #[test]
    fn round_trip() {
        let written = write(&[sample()]);
        assert!(
            written.contains("journalist &amp; &lt;activist&gt;"),
            "{written}"
        );
        assert_eq!(parse(&written).unwrap(), vec![sample()]);
    }

    #[test]
    fn older_versions_loose_notes_and_other_prefixes() {
        let xml = r#"<?xml version="1.0"?>
            <p:pfif xmlns:p="http://zesty.ca/pfif/1.2">
              <p:person>
                <p:person_record_id>example.org/1</p:person_record_id>
                <p:first_name>Nurlan</p:first_name><p:last_name>Abenov</p:last_name>
                <p:home_city><![CDATA[Жаңаөзен]]></p:home_city>
                <p:unknown_field>ignored</p:unknown_field>
              </p:person>
              <p:note>
                <p:note_record_id>example.org/n1</p:note_record_id>
                <p:person_record_id>example.org/1</p:person_record_id>
                <p:status>believed_dead</p:status>
                <p:text>Seen &#1072;t the square</p:text>
              </p:note>
            </p:pfif>"#;
        let persons = parse(xml).unwrap();
        assert_eq!(persons.len(), 1);
        assert_eq!(persons[0].name(), "Nurlan Abenov");
        assert_eq!(persons[0].home_city, "Жаңаөзен");
        assert_eq!(persons[0].notes[0].status, "believed_dead");
        assert_eq!(persons[0].notes[0].text, "Seen аt the square");
    }

    #[test]
    fn bad_documents_are_named() {
        assert!(matches!(parse("<html></html>"), Err(PfifError::NotPfif)));
        assert!(matches!(parse(""), Err(PfifError::NotPfif)));
        let broken = format!("<pfif:pfif xmlns:pfif=\"{NAMESPACE}\"><pfif:person></pfif:pfif>");
        assert!(matches!(parse(&broken), Err(PfifError::Xml { .. })));
        let entity = format!(
            "<pfif:pfif xmlns:pfif=\"{NAMESPACE}\"><pfif:person><pfif:full_name>&bomb;\
             </pfif:full_name></pfif:person></pfif:pfif>"
        );
        assert!(matches!(parse(&entity), Err(PfifError::Xml { .. })));
        let long = format!(
            "<pfif:pfif xmlns:pfif=\"{NAMESPACE}\"><pfif:person><pfif:full_name>{}\
             </pfif:full_name></pfif:person></pfif:pfif>",
            "a".repeat(MAX_FIELD_BYTES + 1)
        );
        assert!(matches!(parse(&long), Err(PfifError::FieldTooLong(_))));
        // Cut short after a whole person: refused, not read in part.
        let whole = write(&[sample(), sample()]);
        let cut = whole.rfind("<pfif:person>").expect("a second person");
        assert!(
            matches!(parse(&whole[..cut]), Err(PfifError::Xml { ref why, .. }) if why.contains("cut short")),
            "{:?}",
            parse(&whole[..cut]).map(|p| p.len())
        );
    }
}
