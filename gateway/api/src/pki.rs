//! The lab certificate authority: it signs the gateway's server certificate and the client
//! certificates that identify companies (mutual TLS). A CA is a directory holding `ca.pem`
//! and `ca.key`; keys are ECDSA P-256.
//!
//! A client certificate identifies its company through the gateway's repository, which
//! records each issued certificate's SHA-256 [`fingerprint`]: a certificate the CA signed
//! but the repository does not know (or has revoked) identifies nobody.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, date_time_ymd,
};

/// What went wrong with certificates and keys.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        source: std::io::Error,
    },
    /// Generating or parsing a certificate or key.
    #[error("{what}: {source}")]
    Certificate {
        /// What was being done.
        what: String,
        /// What went wrong.
        source: rcgen::Error,
    },
    /// A PEM file without the expected contents.
    #[error("{0}")]
    Pem(String),
}

type Result<T> = std::result::Result<T, PkiError>;

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
    /// SHA-256 of the certificate's DER, lower-case hex.
    pub fingerprint: String,
    /// The subject's common name.
    pub subject: String,
}

/// The lab CA.
#[derive(Debug)]
pub struct LabCa {
    key: KeyPair,
    cert_pem: String,
}

fn certificate(what: &str) -> impl FnOnce(rcgen::Error) -> PkiError + '_ {
    move |source| PkiError::Certificate {
        what: what.to_string(),
        source,
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes `text` to `path`; private keys (`private`) readable by the owner only.
pub fn write(path: &Path, text: &str, private: bool) -> Result<()> {
    let io = |source| PkiError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::write(path, text).map_err(io)?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = private;
    Ok(())
}

/// `n` random bytes from the system's generator, lower-case hex: secrets (invitation links,
/// demo passwords). `None` if the system has no randomness to give.
pub fn random_hex(n: usize) -> Option<String> {
    use ring::rand::SecureRandom;
    let mut bytes = vec![0u8; n];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// SHA-256 of a certificate's DER encoding, lower-case hex: how the repository knows it.
pub fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The DER of the first certificate in `pem`.
pub fn first_der(pem: &str) -> Result<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .ok_or_else(|| PkiError::Pem("no certificate in the PEM text".into()))?
        .map(|c| c.to_vec())
        .map_err(|e| PkiError::Pem(format!("reading a certificate: {e}")))
}

/// The CA's parameters: the same every time, so that a CA read back from its key signs
/// certificates that chain to the `ca.pem` written when it was created.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "hanrig lab CA");
    name.push(DnType::OrganizationName, "hanrig");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = date_time_ymd(2024, 1, 1);
    params.not_after = date_time_ymd(2050, 1, 1);
    params
}

impl LabCa {
    /// A new CA with a fresh key.
    pub fn create() -> Result<LabCa> {
        let key = KeyPair::generate().map_err(certificate("generating the CA key"))?;
        let cert = ca_params()
            .self_signed(&key)
            .map_err(certificate("signing the CA certificate"))?;
        Ok(LabCa {
            key,
            cert_pem: cert.pem(),
        })
    }

    /// The CA kept in `dir` (`ca.pem`, `ca.key`).
    pub fn load(dir: &Path) -> Result<LabCa> {
        let key = KeyPair::from_pem(&read(&dir.join("ca.key"))?)
            .map_err(certificate("reading ca.key"))?;
        let cert_pem = read(&dir.join("ca.pem"))?;
        first_der(&cert_pem)?;
        Ok(LabCa { key, cert_pem })
    }

    /// Writes `ca.pem` and `ca.key` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        write(&dir.join("ca.pem"), &self.cert_pem, false)?;
        write(&dir.join("ca.key"), &self.key.serialize_pem(), true)
    }

    /// The CA certificate, PEM: what clients trust and the server checks clients against.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    fn issue(&self, mut params: CertificateParams, subject: &str) -> Result<Issued> {
        let key = KeyPair::generate().map_err(certificate("generating a key"))?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, subject);
        params.distinguished_name = name;
        params.not_before = date_time_ymd(2024, 1, 1);
        params.not_after = date_time_ymd(2050, 1, 1);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let issuer = Issuer::new(ca_params(), &self.key);
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(certificate("signing a certificate"))?;
        Ok(Issued {
            fingerprint: fingerprint(cert.der()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            subject: subject.to_string(),
        })
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn issue_server(&self, names: &[&str]) -> Result<Issued> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params =
            CertificateParams::new(names.clone()).map_err(certificate("server names"))?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, names.first().map_or("hanrig gateway", |n| n))
    }

    /// A client certificate whose subject is `company`; the repository must record its
    /// fingerprint for it to identify the company.
    pub fn issue_client(&self, company: &str) -> Result<Issued> {
        let mut params = CertificateParams::default();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, company)
    }
}
