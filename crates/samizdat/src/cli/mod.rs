//! The command line, as clap types. Resolved once into a `Context` in
//! `app`; nothing else reads arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod records;

pub use records::{
    AttestArgs, KindName, Label, PeopleCommand, PeopleFormat, PersonCommand, PlaceArgs,
    RetractArgs, SealArgs, SealedAs, SealedCommand, Source, Status, TestimonyCommand,
};

/// samizdat: collect, protect, verify, preserve and spread eyewitness records.
///
/// Records are signed Nostr events kept in a local data directory. Every
/// command works with no network at all.
#[derive(Debug, Parser)]
#[command(name = "samizdat", version, max_term_width = 100)]
pub struct Cli {
    /// Data directory [default: $SAMIZDAT_DATA, else $XDG_DATA_HOME/samizdat,
    /// ~/.local/share/samizdat]
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Print machine-readable JSON (one object per line) instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// More log output on stderr (-v, -vv); or set SAMIZDAT_LOG
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory and its store
    Init,
    /// Manage identities (keys); secret keys are stored only encrypted
    #[command(subcommand)]
    Id(IdCommand),
    /// Record testimonies
    #[command(subcommand)]
    Testimony(TestimonyCommand),
    /// Report what happened to a person
    #[command(subcommand)]
    Person(PersonCommand),
    /// The people registry: match names across scripts and spellings
    #[command(subcommand)]
    People(PeopleCommand),
    /// Open and publish sealed records addressed to you
    #[command(subcommand)]
    Sealed(SealedCommand),
    /// Corroborate, dispute, verify, or mark a record as duplicate or translation
    Attest(AttestArgs),
    /// Retract one of your own records (NIP-09 deletion request)
    Retract(RetractArgs),
    /// List records, newest first
    List(ListArgs),
    /// Show one record and whether its signature and attachments check out
    Show(ShowArgs),
    /// Full-text search in any script, ignoring case and diacritics
    Search(SearchArgs),
    /// Re-check every signature and every blob hash in the store
    Verify,
    /// Export or import events as NIP-01 JSON lines
    #[command(subcommand)]
    Events(EventsCommand),
    /// Read stored blobs (attachments)
    #[command(subcommand)]
    Blob(BlobCommand),
    /// Look at the metadata a media file carries
    #[command(subcommand)]
    Media(MediaCommand),
    /// Run the node: a Nostr relay and a Blossom blob server on one port
    Serve(ServeArgs),
    /// Reconcile this store with a peer relay (NIP-77, or REQ if it lacks it)
    Sync(SyncArgs),
    /// Carry records and their blobs as a file: export, import, inspect
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Records as sound, for a phone call or a radio when no data link
    /// works: `send` writes a transmission, `receive` hears one
    #[command(subcommand)]
    Call(CallCommand),
    /// Publish the public records: a static mirror anyone can host, copy
    /// or carry (`site`, `verify`), and the public relays (`relays`)
    #[command(subcommand)]
    Publish(PublishCommand),
    /// How each peer in samizdat.toml is doing (`serve` keeps them in step)
    Peers {
        /// Configuration file [default: samizdat.toml in the data directory]
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Destroy this node's keys and data, keys first (asks to confirm)
    Wipe(WipeArgs),
    /// Pack the whole data directory into one encrypted file while no node
    /// runs (`lock`), and back (`open`)
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Where the store keeps what it holds: move it (`copy`)
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy every event to another database (PostgreSQL, or back to the
    /// data directory's SQLite), every blob to another place (an S3
    /// bucket, or back to the data directory's folder), or both, checking
    /// each signature and hash; run it again to go on after a cut. Then
    /// set `[store] events` or `blobs` in samizdat.toml to the new place
    Copy(StoreCopyArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("to").required(true).multiple(true).args(["events_to", "blobs_to"]))]
pub struct StoreCopyArgs {
    /// Where the events go: `sqlite` (the data directory's samizdat.db) or
    /// `postgres://USER@HOST[:PORT]/DATABASE`
    #[arg(long, value_name = "PLACE")]
    pub events_to: Option<String>,
    /// Where the blobs go: `folder` (the data directory's blobs/) or
    /// `s3://BUCKET[/FOLDER]?endpoint=http://HOST:PORT[,…]&region=REGION`
    #[arg(long, value_name = "PLACE")]
    pub blobs_to: Option<String>,
    /// A file with the bucket's access_key_id and secret_access_key and
    /// the database's postgres_password [default: the file `[store]
    /// credentials` names, else SAMIZDAT_S3_ACCESS_KEY_ID,
    /// SAMIZDAT_S3_SECRET_ACCESS_KEY, SAMIZDAT_POSTGRES_PASSWORD]
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

impl Command {
    /// Whether the command opens network connections (or serves them).
    pub fn uses_network(&self) -> bool {
        matches!(
            self,
            Command::Serve(_)
                | Command::Sync(_)
                | Command::Publish(PublishCommand::Relays { .. })
                | Command::Call(CallCommand::Send { live: true, .. })
                | Command::Call(CallCommand::Receive { live: true, .. })
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Create a new identity (asks for a passphrase to encrypt it)
    New {
        /// A short local name: a-z, 0-9, - and _
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// List identities with their public keys
    List,
    /// Show an identity's public key (npub)
    Show { name: Option<String> },
    /// Make an identity the one that signs new records
    Use { name: String },
    /// Print the secret key (nsec, or ncryptsec with --encrypted); handle with care
    Export {
        name: Option<String>,
        /// Print the NIP-49 encrypted key instead of the bare nsec
        #[arg(long)]
        encrypted: bool,
    },
    /// Import a secret key (nsec or ncryptsec), read from standard input
    Import {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PublishCommand {
    /// Write a static mirror of the public records into DIR: pages in
    /// four languages, the records as signed, their media, and the hashes
    /// to check it all. Publishing again replaces DIR's content, writing
    /// only what changed
    Site {
        /// The mirror's folder: new, empty, or an earlier mirror
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Check a mirror: every file against its hashes, every record's id
    /// and signature; says exactly what is wrong
    Verify {
        /// The mirror's folder
        dir: PathBuf,
    },
    /// Push the public records to the public relays in samizdat.toml
    /// ([[publish.relays]]); never sealed records, nor one its author
    /// marked private
    Relays {
        /// Configuration file [default: samizdat.toml in the data directory]
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Publish to this relay (ws:// or wss://) instead of the configured
        /// ones, with the default limits. Repeatable
        #[arg(long = "relay", value_name = "URL")]
        relays: Vec<samizdat_node::route::RelayUrl>,
        #[command(flatten)]
        filter: FilterArgs,
        /// How long to wait for any one answer from a relay
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
}

#[derive(Debug, Subcommand)]
pub enum CallCommand {
    /// Send the records (person reports first, then testimonies; text
    /// only): live, into a call through the sound card, or as a one-way
    /// transmission written to an 8 kHz mono 16-bit WAV file
    Send {
        /// Write a one-way transmission to this WAV file
        #[arg(long, value_name = "FILE", required_unless_present = "live")]
        wav: Option<PathBuf>,
        /// Send live through the sound card (or --audio-out), hearing the
        /// other side's acknowledgements (or --audio-in): only what is
        /// missing is sent again, and the fast speed is tried
        #[arg(long, conflicts_with = "wav")]
        live: bool,
        #[command(flatten)]
        filter: FilterArgs,
        /// Only what the node that wrote this want file lacks
        #[arg(long = "for", value_name = "WANT_FILE")]
        for_want: Option<PathBuf>,
        /// robust: any phone call (AMR-NB at any rate, GSM, Opus 8 kbit/s)
        /// and radios; fast: nearly three times the rate, through AMR-NB
        /// at 10.2 or 12.2 kbit/s and radios only. A live call starts
        /// robust and goes fast if the other side hears it
        #[arg(long, default_value = "robust", value_parser = ["robust", "fast"])]
        speed: String,
        /// Extra coded packets per packet of data, for what the channel
        /// loses (in a live call, before the first acknowledgement)
        #[arg(long, default_value_t = 0.25)]
        redundancy: f64,
        /// Also send sealed records (gift wraps): only their readers can
        /// open them, but anyone on the line can see whom they are for.
        /// Without it only public records go; private ones never do
        #[arg(long)]
        sealed: bool,
        #[command(flatten)]
        audio: AudioArgs,
    },
    /// Hear a call and store the records that check out (id, signature,
    /// record rules), printing each: live from the sound card, or from a
    /// WAV file
    Receive {
        /// Hear this WAV file (8 kHz mono 16-bit)
        #[arg(long, value_name = "FILE", required_unless_present = "live")]
        wav: Option<PathBuf>,
        /// Hear live from the sound card (or --audio-in), answering with
        /// what is held (on the sound card, or --audio-out)
        #[arg(long, conflicts_with = "wav")]
        live: bool,
        #[command(flatten)]
        audio: AudioArgs,
    },
}

/// Where a live call's sound comes from and goes to.
#[derive(Debug, Args)]
pub struct AudioArgs {
    /// Hear raw 8 kHz mono 16-bit little-endian sound from this file or
    /// pipe (`-`: standard input) instead of the sound card
    #[arg(long, value_name = "PATH", requires = "live")]
    pub audio_in: Option<PathBuf>,
    /// Play to this file or pipe (`-`: standard output) instead of the
    /// sound card
    #[arg(long, value_name = "PATH", requires = "live")]
    pub audio_out: Option<PathBuf>,
    /// The ALSA device for arecord and aplay (such as plughw:1,0)
    #[arg(long, value_name = "NAME", requires = "live")]
    pub device: Option<String>,
    /// Stop after this long, whatever was heard
    #[arg(long, value_name = "MINUTES", default_value_t = 30, requires = "live")]
    pub max_minutes: u64,
}

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write records (most important first) and then the blobs they
    /// reference (smallest first) into one bundle file
    Export {
        /// The bundle file to write
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Records only, no blobs
        #[arg(long)]
        no_blobs: bool,
        /// Encrypt to this age recipient (age1…, from `bundle keygen`).
        /// Repeatable: any one of them opens the bundle
        #[arg(
            long = "encrypt-to",
            value_name = "RECIPIENT",
            conflicts_with = "passphrase"
        )]
        encrypt_to: Vec<String>,
        /// Encrypt under a passphrase (asked, or SAMIZDAT_BUNDLE_PASSPHRASE)
        #[arg(long)]
        passphrase: bool,
        /// Only what the node that wrote this want file lacks
        #[arg(long = "for", value_name = "WANT_FILE")]
        for_want: Option<PathBuf>,
        /// Split into parts of at most this size (such as 20M), written
        /// as FILE.001, FILE.002…; each part imports on its own
        #[arg(long, value_name = "SIZE")]
        max_part_size: Option<String>,
    },
    /// Write a small file saying what this node has, for a courier to
    /// carry to a node that will `bundle export --for` it
    Want {
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Check bundles whole, then store what they hold
    Import {
        /// Bundle files
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// An age identity file that opens bundles encrypted to it. Repeatable
        #[arg(long = "identity", value_name = "FILE")]
        identities: Vec<PathBuf>,
        /// From a damaged or cut bundle, keep every complete member that
        /// checks out on its own (events by id and signature, blobs by hash)
        #[arg(long)]
        salvage: bool,
    },
    /// Check a bundle and list what it holds, without importing it
    Inspect {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// An age identity file that opens bundles encrypted to it. Repeatable
        #[arg(long = "identity", value_name = "FILE")]
        identities: Vec<PathBuf>,
    },
    /// Make a key pair to receive encrypted bundles: the identity goes to
    /// FILE (keep it safe), the recipient (age1…) to standard output
    Keygen {
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    /// Only this kind of record. Repeatable
    #[arg(long = "kind", value_enum)]
    pub kinds: Vec<KindName>,
    /// Only records by this author (npub, hex, or a local identity name). Repeatable
    #[arg(long = "author", value_name = "KEY")]
    pub authors: Vec<String>,
    /// Only records signed at or after TIME
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records signed at or before TIME
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only records with this tag, as NAME=VALUE (t=almaty). Repeatable
    #[arg(long = "tag", value_name = "NAME=VALUE")]
    pub tags: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// At most this many records
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Encrypt the data directory into a vault file under a passphrase
    /// (prompt, or SAMIZDAT_VAULT_PASSPHRASE), check that it opens, then
    /// destroy the directory as `wipe` does
    Lock(VaultArgs),
    /// Decrypt a vault back into the data directory, then remove the vault
    Open(VaultArgs),
}

#[derive(Debug, Args)]
pub struct VaultArgs {
    /// The vault file [default: the data directory's path + `.samizdat-vault`]
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// `lock`: destroy the data directory once the vault is written,
    /// without asking (for scripts)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct WipeArgs {
    /// Confirm without a prompt (for scripts): everything is destroyed
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Record id (hex, note1… or nevent1…)
    pub id: String,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find; every word must match
    #[arg(required = true)]
    pub words: Vec<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Write events as JSON lines: every event, or those matching the filters
    Export {
        /// Output file [default: standard output]
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Read events from JSON lines; each is verified before it is stored
    Import {
        /// Input file, or - for standard input
        #[arg(default_value = "-")]
        input: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum BlobCommand {
    /// Write a blob's bytes (hash checked) to a file or standard output
    Get {
        hash: String,
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// List the identifying metadata in a file (GPS, camera, times…)
    Inspect { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The peer: ws://host:port or wss://host
    pub url: String,
    /// Only take what the peer has
    #[arg(long, conflicts_with_all = ["push", "both"])]
    pub pull: bool,
    /// Only give what the peer lacks
    #[arg(long, conflicts_with = "both")]
    pub push: bool,
    /// Both ways (the default)
    #[arg(long)]
    pub both: bool,
    /// Which events: a NIP-01 filter as JSON, such as '{"kinds":[1948]}'
    #[arg(long, value_name = "JSON")]
    pub filter: Option<String>,
    /// How long to wait for any one answer from the peer
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// Stop cleanly this long after starting, having moved records before
    /// blobs and the most important records first; the next run goes on
    /// from there
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub window: Option<std::time::Duration>,
    /// Stop cleanly once about this many bytes have crossed, both ways
    /// (such as 5M or 200k)
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_bytes: Option<u64>,
    /// Move only events, not the blobs their records reference
    #[arg(long)]
    pub no_blobs: bool,
    /// The peer's Blossom server, when it is not at the relay's own address
    #[arg(long, value_name = "URL")]
    pub blossom: Option<samizdat_node::route::Url>,
    /// Go through a proxy: socks5h://127.0.0.1:9050 for Tor (names resolved
    /// by the proxy), socks5://HOST:PORT, or http://HOST:PORT (CONNECT)
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
}

/// A byte count with an optional k, M or G suffix (powers of 1024).
fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a byte count such as 500k or 5M"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{text:?}: the unit must be k, M or G")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Alone, `--listen` serves every network
    /// interface on the configured port; without it the node listens on
    /// loopback only (127.0.0.1:4848 unless samizdat.toml says otherwise)
    #[arg(long, value_name = "ADDR", num_args = 0..=1)]
    pub listen: Option<Option<std::net::SocketAddr>>,

    /// Configuration file [default: samizdat.toml in the data directory]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Announce this node on the local network (mDNS) and keep in step
    /// with every samizdat node found there. Serves every interface unless
    /// --listen says otherwise; everyone on the network learns that a node
    /// runs here
    #[arg(long)]
    pub lan: bool,
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn byte_counts_take_binary_units_and_refuse_the_rest() {
        assert_eq!(parse_bytes("512"), Ok(512));
        assert_eq!(parse_bytes("150k"), Ok(150 * 1024));
        assert_eq!(parse_bytes("5M"), Ok(5 << 20));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        for bad in ["", "k", "5 parsecs", "-1", "99999999999999G"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
