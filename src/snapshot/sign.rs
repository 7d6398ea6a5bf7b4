//! Ed25519 keys and snapshot signatures (`charter keygen`, `build --sign`, `--verify-key`).
//!
//! What is signed is the snapshot's `content_digest` (see [`signing_message`]), which covers
//! every byte of the file except the digest's own value and the signature's. The digest alone
//! shows a file was not changed by accident; the signature shows who built it.
//!
//! Key files are one line of text, so they can be read, diffed and stored as secrets:
//! `charter-ed25519-secret:` or `charter-ed25519-public:` followed by the 32 key bytes in 64
//! lower-case hex digits.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::format::sha256;

/// The first word of a private key file.
pub const SECRET_PREFIX: &str = "charter-ed25519-secret:";
/// The first word of a public key file.
pub const PUBLIC_PREFIX: &str = "charter-ed25519-public:";

/// Key files are a line of text; anything larger is not one (and is not read).
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// A private signing key.
pub struct SecretKey(SigningKey);

/// A public key that checks signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// What the signature is computed over: a fixed label (so that a signature made for something
/// else cannot be passed off as a snapshot's) and the content digest, `sha256:` and 64 hex
/// digits, as ASCII.
pub fn signing_message(content_digest: &str) -> Vec<u8> {
    let mut m = b"charter snapshot content digest\n".to_vec();
    m.extend_from_slice(content_digest.as_bytes());
    m
}

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<SecretKey, String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| format!("no random numbers from the system: {e}"))?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The key file's line (with its newline).
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}\n", hex(&self.0.to_bytes()))
    }

    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let bytes = key_bytes(text, SECRET_PREFIX, "private")?;
        Ok(SecretKey(SigningKey::from_bytes(&bytes)))
    }

    /// The signature of a content digest, in 128 hex digits.
    pub fn sign_digest(&self, content_digest: &str) -> String {
        hex(&self.0.sign(&signing_message(content_digest)).to_bytes())
    }
}

impl PublicKey {
    /// The first 16 hex digits of SHA-256 of the key bytes: what a snapshot records as its
    /// signer.
    pub fn key_id(&self) -> String {
        sha256(self.0.as_bytes())["sha256:".len()..][..16].to_owned()
    }

    /// The key file's line (with its newline).
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_PREFIX}{}\n", hex(self.0.as_bytes()))
    }

    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let bytes = key_bytes(text, PUBLIC_PREFIX, "public")?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| "the public key is not a valid Ed25519 point".to_owned())
    }

    /// Whether `signature` (128 hex digits) is this key's signature of the content digest.
    /// Strict verification: no malleable or small-order forms are accepted.
    pub fn verifies(&self, content_digest: &str, signature: &str) -> bool {
        let Some(bytes) = unhex::<64>(signature) else {
            return false;
        };
        let signature = Signature::from_bytes(&bytes);
        self.0
            .verify_strict(&signing_message(content_digest), &signature)
            .is_ok()
    }
}

/// Why a snapshot is not signed by a given key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsigned {
    /// It carries no signature.
    Missing,
    /// It names another signer: the key id it records.
    OtherKey(String),
    /// It names this key, but the signature does not verify.
    BadSignature,
}

/// Whether `snapshot` (whose content digest has been checked against its bytes, as
/// `format::load` does) carries `key`'s signature of its content digest.
pub fn check(snapshot: &super::Snapshot, key: &PublicKey) -> Result<(), Unsigned> {
    let Some(sig) = &snapshot.signature else {
        return Err(Unsigned::Missing);
    };
    if sig.key_id != key.key_id() {
        return Err(Unsigned::OtherKey(sig.key_id.clone()));
    }
    if !key.verifies(&snapshot.content_digest, &sig.ed25519) {
        return Err(Unsigned::BadSignature);
    }
    Ok(())
}

/// Reads and parses a public key file; the error names the file.
pub fn load_public(path: &std::path::Path) -> Result<PublicKey, String> {
    read_key_file(path)
        .and_then(|t| PublicKey::parse(&t))
        .map_err(|e| format!("cannot read public key `{}`: {e}", path.display()))
}

/// Reads and parses a private key file; the error names the file.
pub fn load_secret(path: &std::path::Path) -> Result<SecretKey, String> {
    read_key_file(path)
        .and_then(|t| SecretKey::parse(&t))
        .map_err(|e| format!("cannot read private key `{}`: {e}", path.display()))
}

fn key_bytes(text: &str, prefix: &str, what: &str) -> Result<[u8; 32], String> {
    let line = text.trim_end_matches(['\n', '\r']);
    let Some(hex) = line.strip_prefix(prefix) else {
        let other = if prefix == SECRET_PREFIX {
            PUBLIC_PREFIX
        } else {
            SECRET_PREFIX
        };
        return Err(if line.starts_with(other) {
            format!("this is not a {what} key file (it holds the other half of the pair)")
        } else {
            format!("this is not a charter {what} key file (it should start with `{prefix}`)")
        });
    };
    unhex::<32>(hex).ok_or_else(|| format!("the {what} key is not 64 hex digits"))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// `N` bytes from exactly `2 * N` lower-case hex digits.
fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let value = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = (value(pair[0])? << 4) | value(pair[1])?;
    }
    Some(out)
}

/// Reads a key file: a regular file of at most 4 KiB, as text.
pub fn read_key_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(format!(
            "it is {}, not a key file",
            crate::source::kind_of(&meta)
        ));
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err("it is too large to be a key file".to_owned());
    }
    let file = crate::source::open_for_reading(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err("it is too large to be a key file".to_owned());
    }
    String::from_utf8(bytes).map_err(|_| "it is not text".to_owned())
}

/// Writes a new key pair as `NAME.key` (private, mode 0600) and `NAME.pub`; refuses to
/// overwrite either. Returns the two paths.
pub fn write_key_pair(
    name: &std::path::Path,
    key: &SecretKey,
) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    use std::io::Write;
    let with = |ext: &str| {
        let mut p = name.as_os_str().to_owned();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    let (secret, public) = (with(".key"), with(".pub"));
    for p in [&secret, &public] {
        if std::fs::symlink_metadata(p).is_ok() {
            return Err(format!("`{}` exists; not overwriting it", p.display()));
        }
    }
    let create = |p: &std::path::Path, mode: u32, text: &str| -> Result<(), String> {
        let mut options = std::fs::OpenOptions::new();
        // `create_new`: fails if the file appeared since the check above, even as a link.
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = options
            .open(p)
            .map_err(|e| format!("cannot create `{}`: {e}", p.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot write `{}`: {e}", p.display()))
    };
    create(&secret, 0o600, &key.to_text())?;
    if let Err(e) = create(&public, 0o644, &key.public().to_text()) {
        // A private key without its public half is of no use; leave nothing behind.
        let _ = std::fs::remove_file(&secret);
        return Err(e);
    }
    Ok((secret, public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_signatures_verify() {
        let key = SecretKey::parse(&format!("{SECRET_PREFIX}{}\n", "11".repeat(32))).unwrap();
        let public = PublicKey::parse(&key.public().to_text()).unwrap();
        let digest = format!("sha256:{}", "ab".repeat(32));
        let sig = key.sign_digest(&digest);
        assert_eq!(sig.len(), 128);
        assert!(public.verifies(&digest, &sig));
        assert!(!public.verifies(&format!("sha256:{}", "ac".repeat(32)), &sig));
        assert!(!public.verifies(&digest, &sig.to_uppercase()));
        assert_eq!(public.key_id().len(), 16);
        assert!(PublicKey::parse(&key.to_text()).is_err());
        assert!(SecretKey::parse(&public.to_text()).is_err());
        assert!(SecretKey::parse("charter-ed25519-secret:zz").is_err());
    }
}
