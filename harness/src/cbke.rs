//! `hanrig cbke …`: check CBKE values by hand, and run a test certificate authority.
//!
//! - `vector FILE.json` computes a whole suite-1 exchange from fixed keys (the form of the SE
//!   Annex C.5 vectors) and prints every intermediate value.
//! - `public-key` reconstructs a certificate's public key.
//! - `ca-init` and `cert-issue` make a test CA and the certificates and private keys of simulated
//!   (or real test) devices. The files are JSON with hex values; a CA file is written with mode
//!   0600 and never overwritten.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use hanrig_cbke::curve::POINT_LEN;
use hanrig_cbke::kdf::{DerivedKeys, Party, Transcript};
use hanrig_cbke::keys::{CERTIFICATE_LEN, CertificateAuthority, TEST_PROFILE};
use hanrig_cbke::scalar::LEN as SCALAR_LEN;
use hanrig_cbke::{Certificate, PrivateKey, PublicKey, keys, shared_secret};
use hanrig_sep::Eui64;
use serde_json::{Value, json};

use crate::zcl::parse_hex;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A fixed-length hex field of a JSON object, with errors naming the field.
fn field<const N: usize>(v: &Value, path: &str) -> Result<[u8; N], String> {
    let mut at = v;
    for part in path.split('.') {
        at = at.get(part).ok_or_else(|| format!("{path}: missing"))?;
    }
    let text = at
        .as_str()
        .ok_or_else(|| format!("{path}: not a string of hex digits"))?;
    fixed(text, path)
}

fn fixed<const N: usize>(text: &str, name: &str) -> Result<[u8; N], String> {
    let bytes = parse_hex(text).map_err(|e| format!("{name}: {e}"))?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("{name}: {} bytes, must be {N}", bytes.len()))
}

fn public_key(bytes: &[u8; POINT_LEN], name: &str) -> Result<PublicKey, String> {
    PublicKey::from_compressed(bytes).map_err(|e| format!("{name}: {e}"))
}

fn private_key(bytes: &[u8; SCALAR_LEN], name: &str) -> Result<PrivateKey, String> {
    PrivateKey::from_bytes(bytes).map_err(|e| format!("{name}: {e}"))
}

/// One side of a vector file, checked: certificate, its key, the ephemeral key.
struct Side {
    certificate: Certificate,
    key: PrivateKey,
    public: PublicKey,
    ephemeral: PrivateKey,
    ephemeral_public: PublicKey,
}

fn side(v: &Value, name: &str, ca: &PublicKey) -> Result<Side, String> {
    let certificate = Certificate(field::<CERTIFICATE_LEN>(v, &format!("{name}.certificate"))?);
    let key = private_key(
        &field(v, &format!("{name}.private_key"))?,
        &format!("{name}.private_key"),
    )?;
    let public = keys::check_pair(&certificate, &key, ca).map_err(|e| match e {
        hanrig_cbke::KeyError::KeyMismatch => {
            format!("{name}.private_key: does not belong to {name}.certificate under ca_public")
        }
        other => format!("{name}.certificate: {other}"),
    })?;
    let ephemeral = private_key(
        &field(v, &format!("{name}.ephemeral_private_key"))?,
        &format!("{name}.ephemeral_private_key"),
    )?;
    let ephemeral_public = ephemeral.public_key();
    Ok(Side {
        certificate,
        key,
        public,
        ephemeral,
        ephemeral_public,
    })
}

/// `hanrig cbke vector FILE.json`.
pub fn vector(text: &str) -> Result<String, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let ca = public_key(&field(&v, "ca_public")?, "ca_public")?;
    let u = side(&v, "initiator", &ca)?;
    let r = side(&v, "responder", &ca)?;
    let z = shared_secret(
        &u.key,
        &u.ephemeral,
        &u.ephemeral_public,
        &r.public,
        &r.ephemeral_public,
    )
    .map_err(|_| "the keys give the point at infinity: no shared secret".to_string())?;
    let keys = DerivedKeys::derive(&z);
    let transcript = Transcript {
        initiator_id: u.certificate.subject(),
        responder_id: r.certificate.subject(),
        initiator_ephemeral: u.ephemeral_public.to_compressed(),
        responder_ephemeral: r.ephemeral_public.to_compressed(),
    };
    let out = json!({
        "initiator": {
            "public_key": hex(&u.public.to_compressed()),
            "ephemeral_public_key": hex(&u.ephemeral_public.to_compressed()),
        },
        "responder": {
            "public_key": hex(&r.public.to_compressed()),
            "ephemeral_public_key": hex(&r.ephemeral_public.to_compressed()),
        },
        "z": hex(z.as_bytes()),
        "mac_key": hex(&keys.mac_key),
        "key_data": hex(&keys.key_data),
        "macu": hex(&keys.mac(Party::Initiator, &transcript)),
        "macv": hex(&keys.mac(Party::Responder, &transcript)),
    });
    Ok(format!("{out:#}\n"))
}

/// `hanrig cbke public-key --ca HEX --certificate HEX`.
pub fn reconstruct(ca: &str, certificate: &str) -> Result<String, String> {
    let ca = public_key(&fixed(ca, "--ca")?, "--ca")?;
    let cert = Certificate(fixed(certificate, "--certificate")?);
    let q = cert
        .public_key(&ca)
        .map_err(|e| format!("--certificate: {e}"))?;
    Ok(format!("{}\n", hex(&q.to_compressed())))
}

/// 48 bytes from the operating system's generator.
fn entropy() -> Result<[u8; 48], String> {
    let mut out = [0u8; 48];
    getrandom::getrandom(&mut out)
        .map_err(|e| format!("no random numbers from the system: {e}"))?;
    Ok(out)
}

/// An issuer ID from 8 ASCII characters ("TESTSECA") or 16 hex digits.
fn issuer(text: &str) -> Result<[u8; 8], String> {
    if text.len() == 8 && text.is_ascii() {
        let mut out = [0u8; 8];
        out.copy_from_slice(text.as_bytes());
        return Ok(out);
    }
    fixed(text, "--issuer").map_err(|_| {
        format!("--issuer {text:?}: give 8 ASCII characters (TESTSECA) or 16 hex digits")
    })
}

/// `hanrig cbke ca-init --out FILE [--issuer ID]`: a new CA key, written once.
pub fn ca_init(out: &Path, issuer_text: &str) -> Result<String, String> {
    let id = issuer(issuer_text)?;
    let key = loop {
        if let Some(k) = PrivateKey::from_entropy(&entropy()?) {
            break k;
        }
    };
    let ca = CertificateAuthority::new(key, id);
    let doc = json!({
        "issuer": hex(&id),
        "private_key": hex(&ca.private_key().to_bytes()),
        "public_key": hex(&ca.public_key().to_compressed()),
    });
    write_new_private(out, &format!("{doc:#}\n"))?;
    Ok(format!(
        "CA written to {} (issuer {}, public key {})\n",
        out.display(),
        hex(&id),
        hex(&ca.public_key().to_compressed())
    ))
}

/// Create `path` for a secret: refuse to overwrite, mode 0600 on Unix.
fn write_new_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!("{}: exists; a CA is never overwritten", path.display())
        }
        _ => format!("{}: {e}", path.display()),
    })?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A CA file as `ca-init` writes it.
pub fn load_ca(path: &Path) -> Result<CertificateAuthority, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let name = |f: &str| format!("{}: {f}", path.display());
    let id: [u8; 8] = field(&v, "issuer").map_err(|e| name(&e))?;
    let key = private_key(
        &field(&v, "private_key").map_err(|e| name(&e))?,
        &name("private_key"),
    )?;
    let ca = CertificateAuthority::new(key, id);
    if let Ok(public) = field::<POINT_LEN>(&v, "public_key")
        && public != ca.public_key().to_compressed()
    {
        return Err(name("public_key: does not belong to private_key"));
    }
    Ok(ca)
}

/// `hanrig cbke cert-issue --ca FILE --eui64 EUI [--profile HEX]`: a certificate and private key
/// for one device, as JSON (with the CA's public key, which the device also needs).
pub fn cert_issue(ca_path: &Path, eui64: &str, profile: Option<&str>) -> Result<String, String> {
    let ca = load_ca(ca_path)?;
    let eui: Eui64 = eui64
        .parse()
        .map_err(|_| format!("--eui64 {eui64:?}: give 8 bytes as 00:12:4b:00:00:00:00:01"))?;
    let profile = match profile {
        Some(p) => fixed(p, "--profile")?,
        None => TEST_PROFILE,
    };
    let (cert, key) = loop {
        if let Some(issued) = ca.issue(eui.0.to_be_bytes(), profile, &entropy()?) {
            break issued;
        }
    };
    let doc = json!({
        "eui64": eui.to_string(),
        "certificate": hex(&cert.0),
        "private_key": hex(&key.to_bytes()),
        "ca_public": hex(&ca.public_key().to_compressed()),
    });
    Ok(format!("{doc:#}\n"))
}

/// A CBKE identity from hex (certificate, private key, CA public key), checked to belong
/// together; errors name the option.
pub fn identity(
    certificate: &str,
    private_key_hex: &str,
    ca: &str,
) -> Result<hanrig_cbke::exchange::Identity, String> {
    let ca = public_key(&fixed(ca, "--cbke-ca")?, "--cbke-ca")?;
    let cert = Certificate(fixed(certificate, "--cbke-certificate")?);
    let key = private_key(
        &fixed(private_key_hex, "--cbke-private-key")?,
        "--cbke-private-key",
    )?;
    hanrig_cbke::exchange::Identity::new(cert, key, ca)
        .map_err(|e| format!("--cbke-certificate: {e}"))
}

#[derive(Debug, Subcommand)]
pub enum CbkeCommand {
    /// Compute a whole exchange from `{ "ca_public", "initiator": { "certificate",
    /// "private_key", "ephemeral_private_key" }, "responder": { … } }` (hex) and print both
    /// public keys, both ephemeral public keys, z, mac_key, key_data, macu and macv.
    Vector {
        /// The JSON file ('-' for standard input).
        file: String,
    },
    /// Print the public key an implicit certificate reconstructs to under a CA key.
    PublicKey {
        /// The CA's public key (22 bytes, compressed, hex).
        #[arg(long)]
        ca: String,
        /// The certificate (48 bytes, hex).
        #[arg(long)]
        certificate: String,
    },
    /// Create a test CA: a new key and issuer ID in a JSON file (mode 0600, never overwritten).
    CaInit {
        /// The file to create.
        #[arg(long)]
        out: PathBuf,
        /// Issuer ID: 8 ASCII characters or 16 hex digits.
        #[arg(long, default_value = "HANRIGCA")]
        issuer: String,
    },
    /// Issue a certificate and private key to a device; prints JSON.
    CertIssue {
        /// The CA file from `ca-init`.
        #[arg(long)]
        ca: PathBuf,
        /// The device's EUI64, as 00:12:4b:00:00:00:00:01.
        #[arg(long)]
        eui64: String,
        /// Profile attribute data (10 bytes, hex); the Certicom test profile by default.
        #[arg(long)]
        profile: Option<String>,
    },
}

/// Runs `hanrig cbke …`.
pub fn run(command: CbkeCommand) -> anyhow::Result<String> {
    match command {
        CbkeCommand::Vector { file } => {
            vector(&crate::read_input(Some(&file)).map_err(anyhow::Error::msg)?)
        }
        CbkeCommand::PublicKey { ca, certificate } => reconstruct(&ca, &certificate),
        CbkeCommand::CaInit { out, issuer } => ca_init(&out, &issuer),
        CbkeCommand::CertIssue { ca, eui64, profile } => {
            cert_issue(&ca, &eui64, profile.as_deref())
        }
    }
    .map_err(anyhow::Error::msg)
}
