//! Encrypted bundles: the whole file (the zstd stream) inside age, to
//! X25519 recipients or under a passphrase (scrypt). age authenticates
//! every 64 KiB chunk and the end of the stream, so a flipped byte or a
//! cut is found as the bundle is read, and an altered file never decrypts
//! to something else.

use std::io::{self, BufRead, Read, Write};
use std::str::FromStr;

pub use age::secrecy::{ExposeSecret, SecretString};
pub use age::x25519::{Identity, Recipient};

use crate::BundleError;

/// How a bundle is encrypted when it is written.
pub enum Lock {
    /// Not at all.
    Open,
    /// To each of these recipients (`age1…`); any one of them opens it.
    Recipients(Vec<Recipient>),
    /// Under a passphrase.
    Passphrase(SecretString),
}

/// What may open a bundle when it is read.
#[derive(Default)]
pub struct Keys {
    pub identities: Vec<Identity>,
    /// Asked only when the bundle is passphrase-encrypted.
    pub passphrase: Option<Box<dyn FnOnce() -> Result<SecretString, String>>>,
}

/// The first bytes of an age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";

/// Parses a recipient (`age1…`).
pub fn recipient(text: &str) -> Result<Recipient, BundleError> {
    Recipient::from_str(text.trim())
        .map_err(|e| BundleError::Key(format!("{text:?} is not an age recipient (age1…): {e}")))
}

/// The identities (`AGE-SECRET-KEY-1…` lines) of an identity file, as
/// `bundle keygen` or age-keygen write them; `#` lines are comments.
pub fn identities(text: &str) -> Result<Vec<Identity>, BundleError> {
    let found: Vec<Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            Identity::from_str(l)
                .map_err(|_| BundleError::Key("a line that is not an age identity".into()))
        })
        .collect::<Result<_, _>>()?;
    if found.is_empty() {
        return Err(BundleError::Key("no age identity in the file".into()));
    }
    Ok(found)
}

/// The output of a bundle, encrypted or not. [`finish`](Sealed::finish)
/// must be called: it writes the last encrypted chunk.
pub enum Sealed<W: Write> {
    Open(W),
    Age(age::stream::StreamWriter<W>),
}

impl<W: Write> Sealed<W> {
    pub fn new(out: W, lock: Lock) -> Result<Sealed<W>, BundleError> {
        let encryptor = match lock {
            Lock::Open => return Ok(Sealed::Open(out)),
            Lock::Passphrase(passphrase) => age::Encryptor::with_user_passphrase(passphrase),
            Lock::Recipients(recipients) => {
                age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                    .map_err(|e| BundleError::Key(e.to_string()))?
            }
        };
        let writer = encryptor.wrap_output(out).map_err(BundleError::Write)?;
        Ok(Sealed::Age(writer))
    }

    pub fn finish(self) -> io::Result<W> {
        match self {
            Sealed::Open(out) => Ok(out),
            Sealed::Age(writer) => writer.finish(),
        }
    }
}

impl<W: Write> Write for Sealed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sealed::Open(out) => out.write(buf),
            Sealed::Age(writer) => writer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sealed::Open(out) => out.flush(),
            Sealed::Age(writer) => writer.flush(),
        }
    }
}

/// Whether the bundle read from `input` is encrypted, without consuming
/// anything.
pub fn is_sealed(input: &mut impl BufRead) -> Result<bool, BundleError> {
    let head = input.fill_buf().map_err(BundleError::Read)?;
    Ok(head.starts_with(AGE_MAGIC))
}

/// `input` decrypted if it is an age file (with `keys`), as it is
/// otherwise.
pub fn open<'a, R: BufRead + 'a>(
    mut input: R,
    keys: Keys,
) -> Result<Box<dyn Read + 'a>, BundleError> {
    if !is_sealed(&mut input)? {
        return Ok(Box::new(input));
    }
    let decryptor = age::Decryptor::new_buffered(input).map_err(|e| match e {
        age::DecryptError::Io(e) => BundleError::reading(e),
        e => BundleError::Damaged(format!("its encryption header: {e}")),
    })?;
    let reader = if decryptor.is_scrypt() {
        let ask = keys
            .passphrase
            .ok_or_else(|| BundleError::Key("the bundle is encrypted with a passphrase".into()))?;
        let passphrase = ask().map_err(BundleError::Key)?;
        let identity = age::scrypt::Identity::new(passphrase);
        decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                    BundleError::Key("the passphrase does not open this bundle".into())
                }
                e => BundleError::Key(e.to_string()),
            })?
    } else {
        if keys.identities.is_empty() {
            return Err(BundleError::Key(
                "the bundle is encrypted to age recipients: give the identity file that \
                 opens it (--identity)"
                    .into(),
            ));
        }
        decryptor
            .decrypt(keys.identities.iter().map(|i| i as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => BundleError::Key(
                    "none of the given identities opens this bundle (it is encrypted to \
                     other recipients)"
                        .into(),
                ),
                e => BundleError::Key(e.to_string()),
            })?
    };
    Ok(Box::new(reader))
}
