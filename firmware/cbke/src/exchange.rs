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

use subtle::ConstantTimeEq;

use crate::curve::POINT_LEN;
pub use crate::engine::subject_eui64;
use crate::engine::{Engine, EngineError, Smacs, Software};
use crate::kdf::Party;
use crate::keys::{Certificate, KeyError, PrivateKey, PublicKey, check_pair};

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
    NoTimeout,
}

fn flawed(config: &Config, t: Trait) -> bool {
    #[cfg(feature = "flaws")]
    {
        config.has(match t {
            Trait::AnyIssuer => Flaw::AcceptsAnyIssuer,
            Trait::NoConfirmCheck => Flaw::SkipsConfirmCheck,
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
        /// KeyData, or `None` where the engine keeps it (a co-processor stores it in its key
        /// table).
        link_key: Option<[u8; 16]>,
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
    smacs: Option<Smacs>,
}

impl Session {
    fn new(partner: Eui64, stage: Stage, deadline_ms: u64) -> Session {
        Session {
            partner,
            stage,
            deadline_ms,
            partner_times: (0, 0),
            partner_certificate: None,
            smacs: None,
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

fn initiate(certificate: &Certificate, config: &Config) -> InitiateKeyEstablishment {
    InitiateKeyEstablishment {
        key_establishment_suite: SUITE_CBKE_163K1,
        ephemeral_data_generate_time: config.ephemeral_data_generate_time,
        confirm_key_generate_time: config.confirm_key_generate_time,
        // 48 bytes always fit a ZCL payload.
        identity: RestBytes::new(&certificate.0).unwrap_or_default(),
    }
}

fn ephemeral_data(point: &[u8; POINT_LEN]) -> EphemeralData {
    EphemeralData {
        ephemeral_data: RestBytes::new(point).unwrap_or_default(),
    }
}

/// Check a partner's Initiate: suite, certificate length, issuer, subject, and whatever the
/// engine checks early (reconstruction, in software).
fn check_initiate(
    engine: &impl Engine,
    config: &Config,
    from: Eui64,
    msg: &InitiateKeyEstablishment,
) -> Result<Certificate, TerminateStatus> {
    if msg.key_establishment_suite != SUITE_CBKE_163K1 {
        return Err(TerminateStatus::UnsupportedSuite);
    }
    let cert =
        Certificate::from_slice(msg.identity.as_bytes()).ok_or(TerminateStatus::BadMessage)?;
    if cert.issuer() != engine.certificate().issuer() && !flawed(config, Trait::AnyIssuer) {
        return Err(TerminateStatus::UnknownIssuer);
    }
    if subject_eui64(&cert) != from {
        return Err(TerminateStatus::BadMessage);
    }
    engine.check_certificate(&cert).map_err(status_of)?;
    Ok(cert)
}

fn point(msg: &EphemeralData) -> Result<[u8; POINT_LEN], TerminateStatus> {
    msg.ephemeral_data
        .as_bytes()
        .try_into()
        .map_err(|_| TerminateStatus::BadMessage)
}

fn status_of(e: EngineError) -> TerminateStatus {
    match e {
        EngineError::InvalidCertificate => TerminateStatus::InvalidCertificate,
        EngineError::BadPoint | EngineError::Failed => TerminateStatus::BadMessage,
    }
}

/// The MACs once both ephemeral keys are known.
fn agree(
    engine: &mut impl Engine,
    session: &mut Session,
    partner_ephemeral: &[u8; POINT_LEN],
    we: Party,
) -> Result<(), TerminateStatus> {
    let cert = session
        .partner_certificate
        .as_ref()
        .ok_or(TerminateStatus::BadMessage)?;
    let smacs = engine
        .calculate_smacs(we, cert, partner_ephemeral)
        .map_err(status_of)?;
    session.smacs = Some(smacs);
    Ok(())
}

/// Ends the exchange in progress if its wait has run out at `now_ms` (no Terminate is sent).
fn expire(
    session: &mut Option<Session>,
    engine: &mut impl Engine,
    config: &Config,
    now_ms: u64,
) -> Step {
    match session {
        Some(s) if now_ms >= s.deadline_ms && !flawed(config, Trait::NoTimeout) => {
            let (partner, stage) = (s.partner, s.stage);
            *session = None;
            engine.finish(false);
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

/// Whether `received` is the MAC we computed for the partner (constant-time comparison).
fn confirms(expected: &[u8; 16], received: &[u8; 16]) -> bool {
    bool::from(expected.ct_eq(received))
}

/// The initiating side (ZCL client): one exchange with the trust centre, its ECC done by `E`.
#[derive(Debug)]
pub struct Initiator<E: Engine = Software> {
    engine: E,
    config: Config,
    session: Option<Session>,
}

impl Initiator<Software> {
    /// An initiator with its identity, its ECC in software.
    pub fn new(identity: Identity, config: Config) -> Initiator {
        Initiator::with_engine(Software::new(identity), config)
    }
}

impl<E: Engine> Initiator<E> {
    /// Play `flaw` from now on (feature `flaws`), or behave again (`None`).
    #[cfg(feature = "flaws")]
    pub fn set_flaw(&mut self, flaw: Option<Flaw>) {
        self.config.flaw = flaw;
        self.engine
            .set_wrong_kdf_counter(flaw == Some(Flaw::WrongKdfCounter));
    }

    /// An initiator whose ECC `engine` does.
    pub fn with_engine(engine: E, config: Config) -> Initiator<E> {
        Initiator {
            engine,
            config,
            session: None,
        }
    }

    /// The engine (to give a co-processor's results to it before [`Initiator::handle`]).
    pub fn engine_mut(&mut self) -> &mut E {
        &mut self.engine
    }

    /// Start (or start again) an exchange with `partner`: send the returned Initiate Request.
    pub fn start(&mut self, partner: Eui64, now_ms: u64) -> Step {
        if self.session.is_some() {
            self.engine.finish(false);
        }
        self.session = Some(Session::new(
            partner,
            Stage::InitiateResponse,
            now_ms + self.config.timeout_margin_ms,
        ));
        Step::send(
            partner,
            Command::InitiateKeyEstablishmentRequest(initiate(
                self.engine.certificate(),
                &self.config,
            )),
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
        expire(&mut self.session, &mut self.engine, &self.config, now_ms)
    }

    fn fail(&mut self, partner: Eui64, status: TerminateStatus) -> Step {
        self.session = None;
        self.engine.finish(false);
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
            self.engine.finish(false);
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
                let cert = match check_initiate(&self.engine, &self.config, from, msg) {
                    Ok(v) => v,
                    Err(status) => return self.fail(from, status),
                };
                let qe = match self.engine.generate_keys(entropy) {
                    Ok(qe) => qe,
                    Err(e) => return self.fail(from, status_of(e)),
                };
                session.partner_times = (
                    msg.ephemeral_data_generate_time,
                    msg.confirm_key_generate_time,
                );
                session.partner_certificate = Some(cert);
                session.stage = Stage::EphemeralResponse;
                session.deadline_ms = now_ms + u64::from(session.partner_times.0) * 1000 + margin;
                Step::send(from, Command::EphemeralDataRequest(ephemeral_data(&qe)))
            }
            (Stage::EphemeralResponse, Command::EphemeralDataResponse(msg)) => {
                let agreed = point(msg)
                    .and_then(|qev| agree(&mut self.engine, session, &qev, Party::Initiator));
                let macu = match (agreed, &session.smacs) {
                    (Ok(()), Some(smacs)) => smacs.initiator,
                    (Err(status), _) => return self.fail(from, status),
                    (Ok(()), None) => return self.fail(from, TerminateStatus::BadMessage),
                };
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
                let Some(smacs) = &session.smacs else {
                    return self.fail(from, TerminateStatus::BadMessage);
                };
                if !confirms(&smacs.responder, &msg.secure_message_authentication_code.0)
                    && !flawed(&self.config, Trait::NoConfirmCheck)
                {
                    return self.fail(from, TerminateStatus::BadKeyConfirm);
                }
                self.session = None;
                let link_key = self.engine.finish(true);
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

/// The responding side (ZCL server, the trust centre's ESI): one exchange at a time, its ECC done
/// by `E`.
#[derive(Debug)]
pub struct Responder<E: Engine = Software> {
    engine: E,
    config: Config,
    session: Option<Session>,
}

impl Responder<Software> {
    /// A responder with its identity, its ECC in software.
    pub fn new(identity: Identity, config: Config) -> Responder {
        Responder::with_engine(Software::new(identity), config)
    }
}

impl<E: Engine> Responder<E> {
    /// Play `flaw` from now on (feature `flaws`), or behave again (`None`).
    #[cfg(feature = "flaws")]
    pub fn set_flaw(&mut self, flaw: Option<Flaw>) {
        self.config.flaw = flaw;
        self.engine
            .set_wrong_kdf_counter(flaw == Some(Flaw::WrongKdfCounter));
    }

    /// A responder whose ECC `engine` does.
    pub fn with_engine(engine: E, config: Config) -> Responder<E> {
        Responder {
            engine,
            config,
            session: None,
        }
    }

    /// The engine (to give a co-processor's results to it before [`Responder::handle`]).
    pub fn engine_mut(&mut self) -> &mut E {
        &mut self.engine
    }

    /// The partner and step of the exchange in progress, if any.
    pub fn current(&self) -> Option<(Eui64, Stage)> {
        self.session.as_ref().map(|s| (s.partner, s.stage))
    }

    /// The certificate of the partner in the exchange in progress, once its Initiate was taken.
    pub fn partner_certificate(&self) -> Option<&Certificate> {
        self.session.as_ref()?.partner_certificate.as_ref()
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
        expire(&mut self.session, &mut self.engine, &self.config, now_ms)
    }

    fn fail(&mut self, partner: Eui64, status: TerminateStatus) -> Step {
        if self.session.as_ref().is_some_and(|s| s.partner == partner) {
            self.session = None;
            self.engine.finish(false);
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
                self.engine.finish(false);
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
                if self.session.take().is_some() {
                    self.engine.finish(false);
                }
                let cert = match check_initiate(&self.engine, &self.config, from, msg) {
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
                self.session = Some(session);
                Step::send(
                    from,
                    Command::InitiateKeyEstablishmentResponse(initiate(
                        self.engine.certificate(),
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
                let agreed = point(msg).and_then(|qeu| {
                    let qev = self.engine.generate_keys(entropy).map_err(status_of)?;
                    agree(&mut self.engine, session, &qeu, Party::Responder)?;
                    Ok(qev)
                });
                let qev = match agreed {
                    Ok(qev) => qev,
                    Err(status) => return self.fail(from, status),
                };
                session.stage = Stage::ConfirmRequest;
                session.deadline_ms = now_ms + u64::from(session.partner_times.1) * 1000 + margin;
                Step::send(from, Command::EphemeralDataResponse(ephemeral_data(&qev)))
            }
            Command::ConfirmKeyDataRequest(msg) => {
                let Some(smacs) = self
                    .session
                    .as_ref()
                    .filter(|s| s.stage == Stage::ConfirmRequest)
                    .and_then(|s| s.smacs.clone())
                else {
                    return self.fail(from, TerminateStatus::BadMessage);
                };
                if !confirms(&smacs.initiator, &msg.secure_message_authentication_code.0)
                    && !flawed(&self.config, Trait::NoConfirmCheck)
                {
                    return self.fail(from, TerminateStatus::BadKeyConfirm);
                }
                self.session = None;
                let link_key = self.engine.finish(true);
                Step {
                    send: Some((
                        from,
                        Command::ConfirmKeyDataResponse(ConfirmKeyData {
                            secure_message_authentication_code: Bytes(smacs.responder),
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
