//! The arguments of the commands that write and read records: testimonies,
//! persons, attestations, retractions, sealing, the registry and sealed
//! records.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum TestimonyCommand {
    /// Record a testimony
    Add(TestimonyArgs),
}

#[derive(Debug, Args)]
pub struct TestimonyArgs {
    /// The text; omit it (or give -) to read standard input
    pub text: Option<String>,
    /// Read the text from a file
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub file: Option<PathBuf>,
    /// Language of the text, ISO 639-1 (kk, ru, en, fr…)
    #[arg(long)]
    pub lang: String,
    #[command(flatten)]
    pub place: PlaceArgs,
    /// When it was seen: TIME or START..END (2022-01-05T14:00, 2022-01-05 14:00+06:00)
    #[arg(long, value_name = "TIME")]
    pub observed: Option<String>,
    /// Attach a photo (JPEG, PNG, WebP, HEIC), video (MP4, MOV) or sound (M4A, MP3, Ogg); metadata is
    /// removed first. Repeatable
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    /// A topic word. Repeatable
    #[arg(long = "topic", value_name = "WORD")]
    pub topics: Vec<String>,
    /// This testimony translates record ID (adds a translation-of attestation)
    #[arg(long, value_name = "ID", conflicts_with = "seal_to")]
    pub translation_of: Option<String>,
    #[command(flatten)]
    pub seal: SealArgs,
}

/// Sealing a new record for chosen readers instead of making it public.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// Seal the record for this reader (npub, hex or local identity name)
    /// instead of making it public: only they can open it, any node can
    /// carry it. Repeatable, one sealed copy per reader
    #[arg(long = "seal-to", value_name = "KEY")]
    pub seal_to: Vec<String>,
    /// What the sealed record is: publishable (signed; a reader may make
    /// it public unchanged), private (signed and provable, but marked
    /// not to be published), deniable (unsigned; it proves nothing if it
    /// leaks, and can never be published)
    #[arg(long, value_enum, default_value = "publishable", requires = "seal_to")]
    pub sealed_as: SealedAs,
    /// Keep the untouched attachments (their metadata intact, as evidence)
    /// sealed for this reader, while the record carries only the stripped
    /// copies; only the sealed part links the two. Repeatable
    #[arg(long = "seal-original-to", value_name = "KEY", requires = "attach")]
    pub seal_original_to: Vec<String>,
    /// Send FILE to the --seal-to readers exactly as it is, metadata and
    /// all, sealed: for a file samizdat cannot strip (such as WAV audio),
    /// or evidence they should have whole. It is never made public.
    /// Repeatable
    #[arg(long = "keep-metadata", value_name = "FILE", requires = "seal_to")]
    pub keep_metadata: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SealedAs {
    Publishable,
    Private,
    Deniable,
}

#[derive(Debug, Subcommand)]
pub enum PeopleCommand {
    /// Whether two names are one person's: score, decision (same,
    /// possible, different) and the reasons
    Match {
        /// A name in any script or spelling, in any order
        a: String,
        b: String,
    },
    /// Every person in the registry, with their latest status
    List,
    /// People whose name matches NAME, in any script or spelling
    Search { name: String },
    /// One person: names, status history (newest first), conflicts and
    /// possible matches; by name, or by the id of one of their reports
    Show { query: String },
    /// Say two person reports are about the same person (signs a
    /// same-person attestation)
    Confirm { a: String, b: String },
    /// Say two person reports are about different people (signs a
    /// different-person attestation)
    Reject { a: String, b: String },
    /// Write the registry as CSV (one row per report) or PFIF 1.4 (one
    /// person record per person, one note per report)
    Export {
        #[arg(long, value_enum, default_value = "pfif")]
        format: PeopleFormat,
        /// Output file [default: standard output]
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Read a PFIF document (1.2 to 1.4) from another registry: each note
    /// becomes a person report signed by you, saying where it came from.
    /// Importing the same document again adds nothing
    Import { file: PathBuf },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeopleFormat {
    Csv,
    Pfif,
}

#[derive(Debug, Subcommand)]
pub enum SealedCommand {
    /// List the sealed records addressed to your identity
    List,
    /// Open one sealed record (by the id of its wrap) and show what is inside
    Show { id: String },
    /// Make a sealed record public, unchanged, its author's signature
    /// intact, with its sealed attachments
    Publish { id: String },
    /// Write a sealed file (an original or an attachment) to FILE
    Save {
        id: String,
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// Where it happened, as free text
    #[arg(long)]
    pub place: Option<String>,
    /// Where it happened, as a geohash (precise positions can expose you)
    #[arg(long, value_name = "GEOHASH")]
    pub geo: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Report a person missing, detained, injured, killed, released or found
    Report(PersonArgs),
}

#[derive(Debug, Args)]
pub struct PersonArgs {
    /// The name, as you would write it
    #[arg(long)]
    pub name: String,
    /// Another spelling of the name. Repeatable
    #[arg(long = "alias", value_name = "NAME")]
    pub aliases: Vec<String>,
    #[arg(long)]
    pub age: Option<u8>,
    /// Such as journalist, union activist, student
    #[arg(long)]
    pub role: Option<String>,
    #[arg(long, value_enum)]
    pub status: Status,
    /// How you know
    #[arg(long, value_enum)]
    pub source: Source,
    /// When it happened: TIME or START..END
    #[arg(long, value_name = "TIME")]
    pub when: Option<String>,
    #[command(flatten)]
    pub place: PlaceArgs,
    /// Language of the name and details, ISO 639-1
    #[arg(long)]
    pub lang: Option<String>,
    /// Free-text details
    #[arg(long, default_value = "")]
    pub details: String,
    /// Attach a photo of the person (metadata is removed). Repeatable
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    #[command(flatten)]
    pub seal: SealArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Status {
    Missing,
    Detained,
    Injured,
    Killed,
    Released,
    Found,
    Unknown,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Source {
    /// You saw it yourself
    Witnessed,
    /// A relative told you
    Relative,
    /// An official source
    Official,
    /// The media
    Media,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Label {
    Corroborates,
    Disputes,
    Verified,
    DuplicateOf,
    TranslationOf,
    SamePerson,
    DifferentPerson,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    #[arg(value_enum)]
    pub label: Label,
    /// The record the attestation is about
    pub id: String,
    /// For duplicate-of and translation-of: the original record
    #[arg(long, value_name = "ID")]
    pub of: Option<String>,
    /// A note explaining the attestation
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Debug, Args)]
pub struct RetractArgs {
    pub id: String,
    #[arg(long, default_value = "")]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindName {
    Testimony,
    Person,
    Attestation,
    Retraction,
    /// Every kind of event, samizdat's or not
    All,
}
