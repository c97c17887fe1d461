//! The Key Establishment exchange (cluster 0x0800, suite 1) as two sans-IO state machines: the
//! [`Initiator`] (ZCL client, an in-home device) and the [`Responder`] (ZCL server, the ESI
//! that is the trust centre). Neither does any I/O or reads a clock: the caller hands in each
//! received command with its sender and the time, and sends what comes back.
//!
//! Flow and checks follow the SE 1.x specification as the Silicon Labs application framework's
//! key-establishment plugin implements it (the spec leaves them open; see `cbke-facts.md`):
//! - Initiate: the suite must be 1 (else UNSUPPORTED_SUITE), the certificate 48 bytes (else
//!   BAD_MESSAGE), its issuer our own certificate's issuer (else UNKNOWN_ISSUER), its subject the
//!   sender's EUI64 (else BAD_MESSAGE), and it must reconstruct to a valid key (else
//!   INVALID_CERTIFICATE).
//! - Ephemeral data must be a valid point of the subgroup (else BAD_MESSAGE); a wrong MAC gets
//!   BAD_KEY_CONFIRM; a command out of sequence gets BAD_MESSAGE.
//! - A responder serves one partner at a time and tells any other NO_RESOURCES with a back-off;
//!   a partner that sends a new Initiate Request is served anew (its earlier attempt has failed on
//!   its side). After success or failure either side may start again.
//! - Each wait lasts the partner's advertised generate time plus a margin (10 s, as Silicon
//!   Labs' `KEY_ESTABLISHMENT_TIMEOUT_BASE_SECONDS`); on a timeout no Terminate is sent (spec).
//!
//! On success both sides hold KeyData, the new APS link key with the partner.

use hanrig_sep::Command;
use hanrig_sep::Eui64;
use hanrig_sep::clusters::key_establishment::{
    ConfirmKeyData, EphemeralData, InitiateKeyEstablishment, SUITE_CBKE_163K1,
    TerminateKeyEstablishment, TerminateStatus,
};
use hanrig_sep::wire::{Bytes, RestBytes};
use zeroize::Zeroize;

use crate::curve::POINT_LEN;
use crate::kdf::{DerivedKeys, Party, Transcript};
use crate::keys::{Certificate, KeyError, PrivateKey, PublicKey, check_pair};
use crate::mqv::shared_secret;

/// A source of random bytes for ephemeral keys (a TRNG on a device, the OS on a host).
pub trait Entropy {
    /// Fill `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Entropy for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf)
    }
}

/// A device's own CBKE data: its certificate and private key and the CA's public key, checked to
/// belong together.
#[derive(Debug, Clone)]
pub struct Identity {
    certificate: Certificate,
    key: PrivateKey,
    ca: PublicKey,
    public: PublicKey,
}

impl Identity {
    /// Check that `key` is the private key of `certificate` under `ca`.
    pub fn new(
        certificate: Certificate,
        key: PrivateKey,
        ca: PublicKey,
    ) -> Result<Identity, KeyError> {
        let public = check_pair(&certificate, &key, &ca)?;
        Ok(Identity {
            certificate,
            key,
            ca,
            public,
        })
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The public key the certificate reconstructs to.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The CA's public key.
    pub fn ca(&self) -> &PublicKey {
        &self.ca
    }

    /// The private key (to load it into a co-processor, or hand it to a device under test).
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }
}

/// What a side advertises and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Seconds we need to generate ephemeral data (advertised in Initiate).
    pub ephemeral_data_generate_time: u8,
    /// Seconds we need to generate the key confirmation (advertised in Initiate).
    pub confirm_key_generate_time: u8,
    /// Added to the partner's advertised time for every wait, in milliseconds.
    pub timeout_margin_ms: u64,
    /// Seconds a refused partner is told to wait (Terminate's WaitTime).
    pub back_off: u8,
    /// A deliberate defect (feature `flaws`, for simulators' broken devices).
    #[cfg(feature = "flaws")]
    pub flaw: Option<Flaw>,
}

/// Deliberately broken behaviour, for proving that conformance suites catch it (feature
/// `flaws`; a real device never enables it).
#[cfg(feature = "flaws")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Flaw {
    /// Takes a partner's certificate whatever its issuer.
    AcceptsAnyIssuer,
    /// Takes the partner's key confirmation without checking it.
    SkipsConfirmCheck,
    /// Derives MacKey and KeyData with counters 0 and 1 instead of 1 and 2.
    WrongKdfCounter,
    /// Never gives up waiting for a partner.
    NoTimeout,
}

impl Config {
    /// Whether this side plays `flaw`.
    #[cfg(feature = "flaws")]
    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }
}

/// What a flaw changes, named without the `flaws` feature too (always false then).
#[derive(Clone, Copy)]
enum Trait {
    AnyIssuer,
    NoConfirmCheck,
    WrongCounter,
    NoTimeout,
}

fn flawed(config: &Config, t: Trait) -> bool {
    #[cfg(feature = "flaws")]
    {
        config.has(match t {
            Trait::AnyIssuer => Flaw::AcceptsAnyIssuer,
            Trait::NoConfirmCheck => Flaw::SkipsConfirmCheck,
            Trait::WrongCounter => Flaw::WrongKdfCounter,
            Trait::NoTimeout => Flaw::NoTimeout,
        })
    }
    #[cfg(not(feature = "flaws"))]
    {
        let _ = (config, t);
        false
    }
}

impl Default for Config {
    fn default() -> Self {
        // Software ECC here takes milliseconds; advertise what an EZSP NCP advertises
        // (zsmartsystems: 4 s and 6 s) so partners' timers fit either.
        Config {
            ephemeral_data_generate_time: 4,
            confirm_key_generate_time: 6,
            timeout_margin_ms: 10_000,
            back_off: 30,
            #[cfg(feature = "flaws")]
            flaw: None,
        }
    }
}

/// The step of the exchange a side waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// Initiator: for the Initiate Key Establishment Response.
    InitiateResponse,
    /// Responder: for the Ephemeral Data Request.
    EphemeralRequest,
    /// Initiator: for the Ephemeral Data Response.
    EphemeralResponse,
    /// Responder: for the Confirm Key Data Request.
    ConfirmRequest,
    /// Initiator: for the Confirm Key Data Response.
    ConfirmResponse,
}

/// How an exchange ended without a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Failure {
    /// We sent Terminate with this status.
    Refused(TerminateStatus),
    /// The partner sent Terminate.
    Terminated {
        /// Its status.
        status: TerminateStatus,
        /// Seconds it asked us to wait before trying again.
        wait_time: u8,
    },
    /// The partner did not answer in time (no Terminate is sent).
    Timeout(Stage),
}

/// How an exchange ended.
#[derive(Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both sides confirmed the key: install `link_key` as the APS link key with `partner`.
    Established {
        /// The partner.
        partner: Eui64,
        /// KeyData.
        link_key: [u8; 16],
    },
    /// No key.
    Failed {
        /// The partner.
        partner: Eui64,
        /// Why.
        failure: Failure,
    },
}

impl core::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Outcome::Established { partner, .. } => {
                write!(f, "Established {{ partner: {partner}, link_key: … }}")
            }
            Outcome::Failed { partner, failure } => {
                write!(f, "Failed {{ partner: {partner}, failure: {failure:?} }}")
            }
        }
    }
}

/// What one input produced: at most one command to send (to `to`) and at most one outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    /// A command to send, and to whom.
    pub send: Option<(Eui64, Command)>,
    /// The end of an exchange.
    pub outcome: Option<Outcome>,
}

impl Step {
    fn send(to: Eui64, command: Command) -> Step {
        Step {
            send: Some((to, command)),
            outcome: None,
        }
    }
}

/// An exchange in progress with one partner.
#[derive(Debug)]
struct Session {
    partner: Eui64,
    stage: Stage,
    deadline_ms: u64,
    /// The partner's advertised times.
    partner_times: (u8, u8),
    partner_certificate: Option<Certificate>,
    partner_public: Option<PublicKey>,
    ephemeral: Option<(PrivateKey, PublicKey)>,
    keys: Option<DerivedKeys>,
    transcript: Option<Transcript>,
}

impl Session {
    fn new(partner: Eui64, stage: Stage, deadline_ms: u64) -> Session {
        Session {
            partner,
            stage,
            deadline_ms,
            partner_times: (0, 0),
            partner_certificate: None,
            partner_public: None,
            ephemeral: None,
            keys: None,
            transcript: None,
        }
    }
}

fn terminate(status: TerminateStatus, back_off: u8) -> Command {
    Command::TerminateKeyEstablishment(TerminateKeyEstablishment {
        status_code: status,
        wait_time: back_off,
        key_establishment_suite: SUITE_CBKE_163K1,
    })
}

fn initiate(identity: &Identity, config: &Config) -> InitiateKeyEstablishment {
    InitiateKeyEstablishment {
        key_establishment_suite: SUITE_CBKE_163K1,
        ephemeral_data_generate_time: config.ephemeral_data_generate_time,
        confirm_key_generate_time: config.confirm_key_generate_time,
        // 48 bytes always fit a ZCL payload.
        identity: RestBytes::new(&identity.certificate.0).unwrap_or_default(),
    }
}

fn ephemeral_data(point: &[u8; POINT_LEN]) -> EphemeralData {
    EphemeralData {
        ephemeral_data: RestBytes::new(point).unwrap_or_default(),
    }
}

/// The subject EUI64 of a certificate (big-endian there) as an address.
pub fn subject_eui64(certificate: &Certificate) -> Eui64 {
    Eui64(u64::from_be_bytes(certificate.subject()))
}

/// Check a partner's Initiate: suite, certificate length, issuer, subject, reconstruction.
fn check_initiate(
    identity: &Identity,
    config: &Config,
    from: Eui64,
    msg: &InitiateKeyEstablishment,
) -> Result<(Certificate, PublicKey), TerminateStatus> {
    if msg.key_establishment_suite != SUITE_CBKE_163K1 {
        return Err(TerminateStatus::UnsupportedSuite);
    }
    let cert =
        Certificate::from_slice(msg.identity.as_bytes()).ok_or(TerminateStatus::BadMessage)?;
    if cert.issuer() != identity.certificate.issuer() && !flawed(config, Trait::AnyIssuer) {
        return Err(TerminateStatus::UnknownIssuer);
    }
    if subject_eui64(&cert) != from {
        return Err(TerminateStatus::BadMessage);
    }
    let public = cert
        .public_key(&identity.ca)
        .map_err(|_| TerminateStatus::InvalidCertificate)?;
    Ok((cert, public))
}

fn parse_point(msg: &EphemeralData) -> Result<PublicKey, TerminateStatus> {
    let bytes: &[u8; POINT_LEN] = msg
        .ephemeral_data
        .as_bytes()
        .try_into()
        .map_err(|_| TerminateStatus::BadMessage)?;
    PublicKey::from_compressed(bytes).map_err(|_| TerminateStatus::BadMessage)
}

fn fresh_ephemeral(entropy: &mut dyn Entropy) -> (PrivateKey, PublicKey) {
    let mut seed = [0u8; 48];
    loop {
        entropy.fill(&mut seed);
        if let Some(key) = PrivateKey::from_entropy(&seed) {
            seed.zeroize();
            let public = key.public_key();
            return (key, public);
        }
    }
}

/// Compute the keys and the transcript once both ephemeral keys are known.
fn agree(
    identity: &Identity,
    config: &Config,
    session: &mut Session,
    partner_ephemeral: &PublicKey,
    we: Party,
) -> Result<(), TerminateStatus> {
    let (Some((r, qe)), Some(partner_static), Some(cert)) = (
        &session.ephemeral,
        &session.partner_public,
        &session.partner_certificate,
    ) else {
        return Err(TerminateStatus::BadMessage);
    };
    let z = shared_secret(&identity.key, r, qe, partner_static, partner_ephemeral)
        .map_err(|_| TerminateStatus::BadMessage)?;
    let (own, other) = (identity.certificate.subject(), cert.subject());
    let (own_q, other_q) = (qe.to_compressed(), partner_ephemeral.to_compressed());
    let transcript = match we {
        Party::Initiator => Transcript {
            initiator_id: own,
            responder_id: other,
            initiator_ephemeral: own_q,
            responder_ephemeral: other_q,
        },
        Party::Responder => Transcript {
            initiator_id: other,
            responder_id: own,
            initiator_ephemeral: other_q,
            responder_ephemeral: own_q,
        },
    };
    session.keys = Some(if flawed(config, Trait::WrongCounter) {
        DerivedKeys::derive_with_counters(&z, 0, 1)
    } else {
        DerivedKeys::derive(&z)
    });
    session.transcript = Some(transcript);
    Ok(())
}

/// The initiating side (ZCL client): one exchange with the trust centre.
#[derive(Debug)]
pub struct Initiator {
    identity: Identity,
    config: Config,
    session: Option<Session>,
}

impl Initiator {
    /// Play `flaw` from now on (feature `flaws`), or behave again (`None`).
    #[cfg(feature = "flaws")]
    pub fn set_flaw(&mut self, flaw: Option<Flaw>) {
        self.config.flaw = flaw;
    }

    /// An initiator with its identity.
    pub fn new(identity: Identity, config: Config) -> Initiator {
        Initiator {
            identity,
            config,
            session: None,
        }
    }

    /// Start (or start again) an exchange with `partner`: send the returned Initiate Request.
    pub fn start(&mut self, partner: Eui64, now_ms: u64) -> Step {
        self.session = Some(Session::new(
            partner,
            Stage::InitiateResponse,
            now_ms + self.config.timeout_margin_ms,
        ));
        Step::send(
            partner,
            Command::InitiateKeyEstablishmentRequest(initiate(&self.identity, &self.config)),
        )
    }

    /// Whether an exchange is in progress, and the step it waits in.
    pub fn stage(&self) -> Option<Stage> {
        self.session.as_ref().map(|s| s.stage)
    }

    /// When [`Initiator::poll`] must next be called, if an exchange is in progress.
    pub fn deadline_ms(&self) -> Option<u64> {
        if flawed(&self.config, Trait::NoTimeout) {
            return None;
        }
        self.session.as_ref().map(|s| s.deadline_ms)
    }

    /// Let time pass: a wait that has run out fails the exchange (no Terminate is sent).
    pub fn poll(&mut self, now_ms: u64) -> Step {
        match &self.session {
            Some(s) if now_ms >= s.deadline_ms && !flawed(&self.config, Trait::NoTimeout) => {
                let (partner, stage) = (s.partner, s.stage);
                self.session = None;
                Step {
                    send: None,
                    outcome: Some(Outcome::Failed {
                        partner,
                        failure: Failure::Timeout(stage),
                    }),
                }
            }
            _ => Step::default(),
        }
    }

    fn fail(&mut self, partner: Eui64, status: TerminateStatus) -> Step {
        self.session = None;
        Step {
            send: Some((partner, terminate(status, self.config.back_off))),
            outcome: Some(Outcome::Failed {
                partner,
                failure: Failure::Refused(status),
            }),
        }
    }

    /// A Key Establishment command received from `from`.
    pub fn handle(
        &mut self,
        from: Eui64,
        command: &Command,
        now_ms: u64,
        entropy: &mut dyn Entropy,
    ) -> Step {
        let Some(session) = self.session.as_mut() else {
            // Nothing in progress: a stray command is ignored (a late answer to a finished or
            // abandoned exchange).
            return Step::default();
        };
        if from != session.partner {
            return Step::send(
                from,
                terminate(TerminateStatus::NoResources, self.config.back_off),
            );
        }
        if let Command::TerminateKeyEstablishment(t) = command {
            self.session = None;
            return Step {
                send: None,
                outcome: Some(Outcome::Failed {
                    partner: from,
                    failure: Failure::Terminated {
                        status: t.status_code,
                        wait_time: t.wait_time,
                    },
                }),
            };
        }
        let margin = self.config.timeout_margin_ms;
        match (session.stage, command) {
            (Stage::InitiateResponse, Command::InitiateKeyEstablishmentResponse(msg)) => {
                let (cert, public) = match check_initiate(&self.identity, &self.config, from, msg) {
                    Ok(v) => v,
                    Err(status) => return self.fail(from, status),
                };
                let ephemeral = fresh_ephemeral(entropy);
                let qe = ephemeral.1.to_compressed();
                session.partner_times = (
                    msg.ephemeral_data_generate_time,
                    msg.confirm_key_generate_time,
                );
                session.partner_certificate = Some(cert);
                session.partner_public = Some(public);
                session.ephemeral = Some(ephemeral);
                session.stage = Stage::EphemeralResponse;
                session.deadline_ms = now_ms + u64::from(session.partner_times.0) * 1000 + margin;
                Step::send(from, Command::EphemeralDataRequest(ephemeral_data(&qe)))
            }
            (Stage::EphemeralResponse, Command::EphemeralDataResponse(msg)) => {
                let agreed = parse_point(msg).and_then(|qev| {
                    agree(
                        &self.identity,
                        &self.config,
                        session,
                        &qev,
                        Party::Initiator,
                    )
                });
                if let Err(status) = agreed {
                    return self.fail(from, status);
                }
                let (Some(keys), Some(t)) = (&session.keys, &session.transcript) else {
                    return self.fail(from, TerminateStatus::BadMessage);
                };
                let macu = keys.mac(Party::Initiator, t);
                session.stage = Stage::ConfirmResponse;
                session.deadline_ms = now_ms + u64::from(session.partner_times.1) * 1000 + margin;
                Step::send(
                    from,
                    Command::ConfirmKeyDataRequest(ConfirmKeyData {
                        secure_message_authentication_code: Bytes(macu),
                    }),
                )
            }
            (Stage::ConfirmResponse, Command::ConfirmKeyDataResponse(msg)) => {
                let (Some(keys), Some(t)) = (&session.keys, &session.transcript) else {
                    return self.fail(from, TerminateStatus::BadMessage);
                };
                if !keys.verify(
                    Party::Responder,
                    t,
                    &msg.secure_message_authentication_code.0,
                ) && !flawed(&self.config, Trait::NoConfirmCheck)
                {
                    return self.fail(from, TerminateStatus::BadKeyConfirm);
                }
                let link_key = keys.key_data;
                self.session = None;
                Step {
                    send: None,
                    outcome: Some(Outcome::Established {
                        partner: from,
                        link_key,
                    }),
                }
            }
            _ => self.fail(from, TerminateStatus::BadMessage),
        }
    }
}

/// The responding side (ZCL server, the trust centre's ESI): one exchange at a time.
#[derive(Debug)]
pub struct Responder {
    identity: Identity,
    config: Config,
    session: Option<Session>,
}

impl Responder {
    /// Play `flaw` from now on (feature `flaws`), or behave again (`None`).
    #[cfg(feature = "flaws")]
    pub fn set_flaw(&mut self, flaw: Option<Flaw>) {
        self.config.flaw = flaw;
    }

    /// A responder with its identity.
    pub fn new(identity: Identity, config: Config) -> Responder {
        Responder {
            identity,
            config,
            session: None,
        }
    }

    /// The partner and step of the exchange in progress, if any.
    pub fn current(&self) -> Option<(Eui64, Stage)> {
        self.session.as_ref().map(|s| (s.partner, s.stage))
    }

    /// When [`Responder::poll`] must next be called, if an exchange is in progress.
    pub fn deadline_ms(&self) -> Option<u64> {
        if flawed(&self.config, Trait::NoTimeout) {
            return None;
        }
        self.session.as_ref().map(|s| s.deadline_ms)
    }

    /// Let time pass: a wait that has run out fails the exchange (no Terminate is sent).
    pub fn poll(&mut self, now_ms: u64) -> Step {
        match &self.session {
            Some(s) if now_ms >= s.deadline_ms && !flawed(&self.config, Trait::NoTimeout) => {
                let (partner, stage) = (s.partner, s.stage);
                self.session = None;
                Step {
                    send: None,
                    outcome: Some(Outcome::Failed {
                        partner,
                        failure: Failure::Timeout(stage),
                    }),
                }
            }
            _ => Step::default(),
        }
    }

    fn fail(&mut self, partner: Eui64, status: TerminateStatus) -> Step {
        if self.session.as_ref().is_some_and(|s| s.partner == partner) {
            self.session = None;
        }
        Step {
            send: Some((partner, terminate(status, self.config.back_off))),
            outcome: Some(Outcome::Failed {
                partner,
                failure: Failure::Refused(status),
            }),
        }
    }

    /// A Key Establishment command received from `from`.
    pub fn handle(
        &mut self,
        from: Eui64,
        command: &Command,
        now_ms: u64,
        entropy: &mut dyn Entropy,
    ) -> Step {
        let busy_with_other = self.session.as_ref().is_some_and(|s| s.partner != from);
        if busy_with_other {
            if matches!(command, Command::TerminateKeyEstablishment(_)) {
                return Step::default();
            }
            return Step::send(
                from,
                terminate(TerminateStatus::NoResources, self.config.back_off),
            );
        }
        let margin = self.config.timeout_margin_ms;
        match command {
            Command::TerminateKeyEstablishment(t) => {
                if self.session.take().is_none() {
                    return Step::default();
                }
                Step {
                    send: None,
                    outcome: Some(Outcome::Failed {
                        partner: from,
                        failure: Failure::Terminated {
                            status: t.status_code,
                            wait_time: t.wait_time,
                        },
                    }),
                }
            }
            Command::InitiateKeyEstablishmentRequest(msg) => {
                // A new start from the current partner replaces its earlier attempt.
                self.session = None;
                let (cert, public) = match check_initiate(&self.identity, &self.config, from, msg) {
                    Ok(v) => v,
                    Err(status) => return self.fail(from, status),
                };
                let times = (
                    msg.ephemeral_data_generate_time,
                    msg.confirm_key_generate_time,
                );
                let mut session = Session::new(
                    from,
                    Stage::EphemeralRequest,
                    now_ms + u64::from(times.0) * 1000 + margin,
                );
                session.partner_times = times;
                session.partner_certificate = Some(cert);
                session.partner_public = Some(public);
                self.session = Some(session);
                Step::send(
                    from,
                    Command::InitiateKeyEstablishmentResponse(initiate(
                        &self.identity,
                        &self.config,
                    )),
                )
            }
            Command::EphemeralDataRequest(msg) => {
                let Some(session) = self
                    .session
                    .as_mut()
                    .filter(|s| s.stage == Stage::EphemeralRequest)
                else {
                    return self.fail(from, TerminateStatus::BadMessage);
                };
                let qeu = match parse_point(msg) {
                    Ok(q) => q,
                    Err(status) => return self.fail(from, status),
                };
                let ephemeral = fresh_ephemeral(entropy);
                let qev = ephemeral.1.to_compressed();
                session.ephemeral = Some(ephemeral);
                if let Err(status) = agree(
                    &self.identity,
                    &self.config,
                    session,
                    &qeu,
                    Party::Responder,
                ) {
                    return self.fail(from, status);
                }
                session.stage = Stage::ConfirmRequest;
                session.deadline_ms = now_ms + u64::from(session.partner_times.1) * 1000 + margin;
                Step::send(from, Command::EphemeralDataResponse(ephemeral_data(&qev)))
            }
            Command::ConfirmKeyDataRequest(msg) => {
                let Some(session) = self
                    .session
                    .as_ref()
                    .filter(|s| s.stage == Stage::ConfirmRequest)
                else {
                    return self.fail(from, TerminateStatus::BadMessage);
                };
                let (Some(keys), Some(t)) = (&session.keys, &session.transcript) else {
                    return self.fail(from, TerminateStatus::BadMessage);
                };
                if !keys.verify(
                    Party::Initiator,
                    t,
                    &msg.secure_message_authentication_code.0,
                ) && !flawed(&self.config, Trait::NoConfirmCheck)
                {
                    return self.fail(from, TerminateStatus::BadKeyConfirm);
                }
                let macv = keys.mac(Party::Responder, t);
                let link_key = keys.key_data;
                self.session = None;
                Step {
                    send: Some((
                        from,
                        Command::ConfirmKeyDataResponse(ConfirmKeyData {
                            secure_message_authentication_code: Bytes(macv),
                        }),
                    )),
                    outcome: Some(Outcome::Established {
                        partner: from,
                        link_key,
                    }),
                }
            }
            _ => self.fail(from, TerminateStatus::BadMessage),
        }
    }
}
