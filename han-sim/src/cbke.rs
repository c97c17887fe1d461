//! Key Establishment in the simulated HAN: a scenario's test certificate authority, the
//! certificates it issues to meters and devices (good ones and deliberately bad ones), and the
//! glue between the `hanrig-cbke` state machines and simulated time and randomness.

use hanrig_cbke::exchange::{Config, Identity};
use hanrig_cbke::keys::{CertificateAuthority, TEST_PROFILE};
use hanrig_cbke::{Certificate, PrivateKey};
use hanrig_device::Rng;
use hanrig_sep::clusters::key_establishment::{
    SUITE_CBKE_163K1, TerminateKeyEstablishment, TerminateStatus,
};
use hanrig_sep::wire::RestBytes;
use hanrig_sep::{Command, Eui64};

use crate::clock::SimTime;

pub use hanrig_scenario::{BUSY_WAIT_S, ISSUER};
/// The issuer ID of the foreign CA a `foreign-issuer` device's certificate comes from.
pub const FOREIGN_ISSUER: [u8; 8] = *b"ELSEWHER";

/// What certificate a device holds, as a scenario says (`cbke = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCbke {
    /// A certificate from the meter's CA: the exchange succeeds.
    Good,
    /// No CBKE: the device keeps the install-code link key.
    None,
    /// A certificate from another CA with another issuer ID: the ESI answers UNKNOWN_ISSUER.
    ForeignIssuer,
    /// A certificate from an impostor CA under the meter CA's issuer ID: it reconstructs, but to
    /// a key the device does not hold, so key confirmation fails (BAD_KEY_CONFIRM).
    ImpostorCa,
    /// A good certificate, but the device sends a corrupted MACU (BAD_KEY_CONFIRM).
    BrokenConfirm,
    /// A good certificate, but after its Initiate Request the device answers nothing (a partner
    /// that stops mid-exchange).
    Stalls,
    /// Proposes suite 0x0002 (sect283k1) in its Initiate Request (UNSUPPORTED_SUITE).
    UnsupportedSuite,
    /// Sends a certificate whose reconstruction point is no point (INVALID_CERTIFICATE).
    InvalidCertificate,
    /// Sends an ephemeral key that is no point of the curve (BAD_MESSAGE).
    BadEphemeral,
}

impl DeviceCbke {
    /// From its scenario name.
    pub fn from_name(name: &str) -> Option<DeviceCbke> {
        Some(match name {
            "good" => DeviceCbke::Good,
            "none" => DeviceCbke::None,
            "foreign-issuer" => DeviceCbke::ForeignIssuer,
            "impostor-ca" => DeviceCbke::ImpostorCa,
            "broken-confirm" => DeviceCbke::BrokenConfirm,
            "stalls" => DeviceCbke::Stalls,
            "unsupported-suite" => DeviceCbke::UnsupportedSuite,
            "invalid-certificate" => DeviceCbke::InvalidCertificate,
            "bad-ephemeral" => DeviceCbke::BadEphemeral,
            _ => return None,
        })
    }

    /// Every scenario name, for error messages.
    pub const NAMES: &'static str = "good, none, foreign-issuer, impostor-ca, broken-confirm, \
        stalls, unsupported-suite, invalid-certificate, bad-ephemeral";
}

/// How a device of kind `cbke` breaks a request it sends.
pub fn break_request(cbke: DeviceCbke, command: &mut Command) {
    match (cbke, command) {
        (DeviceCbke::BrokenConfirm, Command::ConfirmKeyDataRequest(c)) => {
            c.secure_message_authentication_code.0[0] ^= 0x01;
        }
        (DeviceCbke::UnsupportedSuite, Command::InitiateKeyEstablishmentRequest(r)) => {
            r.key_establishment_suite = 0x0002;
        }
        (DeviceCbke::InvalidCertificate, Command::InitiateKeyEstablishmentRequest(r)) => {
            if let Some(cert) = Certificate::from_slice(r.identity.as_bytes()) {
                r.identity = RestBytes::new(&broken_point(cert).0).unwrap_or_default();
            }
        }
        (DeviceCbke::BadEphemeral, Command::EphemeralDataRequest(e)) => {
            if let Ok(point) = <[u8; 22]>::try_from(e.ephemeral_data.as_bytes()) {
                e.ephemeral_data = RestBytes::new(&broken_ephemeral(point)).unwrap_or_default();
            }
        }
        _ => {}
    }
}

/// A certificate whose reconstruction point is no point (prefix 0x04, not a compressed
/// point's), issuer and subject intact: what an INVALID_CERTIFICATE test sends.
pub fn broken_point(mut certificate: Certificate) -> Certificate {
    certificate.0[0] = 0x04;
    certificate
}

/// An ephemeral key that is no point of the curve (prefix 0x04): what a BAD_MESSAGE test sends.
pub fn broken_ephemeral(mut point: [u8; 22]) -> [u8; 22] {
    point[0] = 0x04;
    point
}

/// 48 bytes from a seeded generator.
fn seed48(rng: &mut Rng) -> [u8; 48] {
    let mut out = [0u8; 48];
    fill(rng, &mut out);
    out
}

/// Fill `buf` from a seeded generator (the simulator's entropy: runs are reproducible).
pub fn fill(rng: &mut Rng, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let bytes = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// A scenario's test CA, drawn from its seed. What it issues to an EUI64 depends only on the
/// seed and the EUI64, so a DUT in a process of its own is given the same certificate as it would
/// hold in the rig's process.
#[derive(Debug)]
pub struct TestCa {
    ca: CertificateAuthority,
    seed: u64,
}

fn new_key(rng: &mut Rng) -> PrivateKey {
    loop {
        if let Some(key) = PrivateKey::from_entropy(&seed48(rng)) {
            return key;
        }
    }
}

impl TestCa {
    /// The CA of a scenario with `seed`.
    pub fn new(seed: u64) -> TestCa {
        let mut rng = Rng::new(seed ^ 0xCB4E_CB4E_CB4E_CB4E);
        TestCa {
            ca: CertificateAuthority::new(new_key(&mut rng), ISSUER),
            seed,
        }
    }

    /// The generator for what is issued to `eui` (`salt` tells uses apart).
    fn rng(&self, eui: Eui64, salt: u64) -> Rng {
        Rng::new(self.seed ^ eui.0.rotate_left(17) ^ salt)
    }

    fn issue_from(
        ca: &CertificateAuthority,
        rng: &mut Rng,
        eui: Eui64,
    ) -> (Certificate, PrivateKey) {
        loop {
            if let Some(issued) = ca.issue(eui.0.to_be_bytes(), TEST_PROFILE, &seed48(rng)) {
                return issued;
            }
        }
    }

    /// A good identity for `eui` (a meter's ESI or a device).
    pub fn identity(&self, eui: Eui64) -> Identity {
        let (cert, key) = Self::issue_from(&self.ca, &mut self.rng(eui, 1), eui);
        // A pair the CA just issued always belongs together.
        Identity::new(cert, key, self.ca.public_key())
            .unwrap_or_else(|_| unreachable!("fresh pair"))
    }

    /// The identity a device of kind `cbke` holds (`None` for a device without CBKE).
    pub fn device_identity(&self, eui: Eui64, cbke: DeviceCbke) -> Option<Identity> {
        match cbke {
            DeviceCbke::None => None,
            DeviceCbke::Good
            | DeviceCbke::BrokenConfirm
            | DeviceCbke::Stalls
            | DeviceCbke::UnsupportedSuite
            | DeviceCbke::InvalidCertificate
            | DeviceCbke::BadEphemeral => Some(self.identity(eui)),
            DeviceCbke::ForeignIssuer | DeviceCbke::ImpostorCa => {
                let issuer = if cbke == DeviceCbke::ForeignIssuer {
                    FOREIGN_ISSUER
                } else {
                    ISSUER
                };
                let mut rng = self.rng(eui, 2);
                let ca = CertificateAuthority::new(new_key(&mut rng), issuer);
                let (cert, key) = Self::issue_from(&ca, &mut rng, eui);
                // The device trusts the CA that certified it.
                Identity::new(cert, key, ca.public_key()).ok()
            }
        }
    }
}

/// How a rig's ESI deliberately breaks Key Establishment, to see what the device under test does
/// (a scenario's meter `cbke_fault = "…"`). One definition for the simulated ESI and for the
/// rig's ESI on an EZSP radio: both hand every command through [`EsiFaults`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsiFault {
    /// Sends a corrupted MACV in its Confirm Key Data Response.
    WrongConfirm,
    /// Answers the Initiate Request with a certificate from a foreign CA (issuer
    /// [`FOREIGN_ISSUER`]).
    ForeignCertificate,
    /// Sends no Ephemeral Data Response: a partner that stops mid-exchange.
    Silent,
    /// Refuses the first Initiate Request with Terminate NO_RESOURCES and a wait of
    /// [`BUSY_WAIT_S`] seconds.
    Busy,
    /// Answers with its certificate's reconstruction point broken ([`broken_point`]).
    InvalidCertificate,
    /// Sends an ephemeral key that is no point ([`broken_ephemeral`]).
    BadEphemeral,
}

impl EsiFault {
    /// From its scenario name.
    pub fn from_name(name: &str) -> Option<EsiFault> {
        Some(match name {
            "wrong-confirm" => EsiFault::WrongConfirm,
            "foreign-certificate" => EsiFault::ForeignCertificate,
            "silent" => EsiFault::Silent,
            "busy" => EsiFault::Busy,
            "invalid-certificate" => EsiFault::InvalidCertificate,
            "bad-ephemeral" => EsiFault::BadEphemeral,
            _ => return None,
        })
    }

    /// Every scenario name, for error messages.
    pub const NAMES: &'static str =
        "wrong-confirm, foreign-certificate, silent, busy, invalid-certificate, bad-ephemeral";
}

/// An ESI's fault and what it needs: the foreign certificate it shows, whether it has refused.
#[derive(Debug, Clone)]
pub struct EsiFaults {
    fault: EsiFault,
    foreign: Certificate,
    refused: bool,
}

impl EsiFaults {
    /// The ESI `eui` of a scenario whose CA is `ca` plays `fault`.
    pub fn new(fault: EsiFault, ca: &TestCa, eui: Eui64) -> EsiFaults {
        let mut rng = ca.rng(eui, 3);
        let foreign = CertificateAuthority::new(new_key(&mut rng), FOREIGN_ISSUER);
        let (cert, _) = TestCa::issue_from(&foreign, &mut rng, eui);
        EsiFaults {
            fault,
            foreign: cert,
            refused: false,
        }
    }

    /// Before the responder sees `incoming`: the refusal a busy ESI sends instead (once).
    pub fn intercept(&mut self, incoming: &Command) -> Option<Command> {
        let refuse = self.fault == EsiFault::Busy
            && !self.refused
            && matches!(incoming, Command::InitiateKeyEstablishmentRequest(_));
        if !refuse {
            return None;
        }
        self.refused = true;
        Some(Command::TerminateKeyEstablishment(
            TerminateKeyEstablishment {
                status_code: TerminateStatus::NoResources,
                wait_time: BUSY_WAIT_S,
                key_establishment_suite: SUITE_CBKE_163K1,
            },
        ))
    }

    /// What the ESI sends in place of the responder's `command` (`None`: nothing).
    pub fn outgoing(&self, mut command: Command) -> Option<Command> {
        match (self.fault, &mut command) {
            (EsiFault::WrongConfirm, Command::ConfirmKeyDataResponse(c)) => {
                c.secure_message_authentication_code.0[0] ^= 0x01;
            }
            (EsiFault::ForeignCertificate, Command::InitiateKeyEstablishmentResponse(r)) => {
                r.identity = RestBytes::new(&self.foreign.0).unwrap_or_default();
            }
            (EsiFault::Silent, Command::EphemeralDataResponse(_)) => return None,
            (EsiFault::InvalidCertificate, Command::InitiateKeyEstablishmentResponse(r)) => {
                if let Some(cert) = Certificate::from_slice(r.identity.as_bytes()) {
                    r.identity = RestBytes::new(&broken_point(cert).0).unwrap_or_default();
                }
            }
            (EsiFault::BadEphemeral, Command::EphemeralDataResponse(e)) => {
                if let Ok(point) = <[u8; 22]>::try_from(e.ephemeral_data.as_bytes()) {
                    e.ephemeral_data = RestBytes::new(&broken_ephemeral(point)).unwrap_or_default();
                }
            }
            _ => {}
        }
        Some(command)
    }
}

/// The exchange settings of the simulated ESIs and devices.
pub fn config() -> Config {
    Config::default()
}

/// Simulated time in the milliseconds the state machines count.
pub fn ms(t: SimTime) -> u64 {
    t.0 / (SimTime::SECOND / 1000)
}

/// Simulated time from those milliseconds.
pub fn from_ms(ms: u64) -> SimTime {
    SimTime(ms * (SimTime::SECOND / 1000))
}

/// A Terminate status as the event log names it.
pub fn status_name(status: TerminateStatus) -> String {
    format!("{status:?}")
}
