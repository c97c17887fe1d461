//! The two sans-IO state machines against each other: the good path, every Terminate status,
//! timeouts from the advertised times, one exchange at a time, and starting again.

#![allow(clippy::unwrap_used)]

use hanrig_cbke::exchange::{
    Config, Failure, Identity, Initiator, Outcome, Responder, Stage, Step,
};
use hanrig_cbke::keys::{CertificateAuthority, KeyError, TEST_ISSUER, TEST_PROFILE};
use hanrig_cbke::{Certificate, PrivateKey};
use hanrig_sep::Command;
use hanrig_sep::Eui64;
use hanrig_sep::clusters::key_establishment::TerminateStatus;
use hanrig_sep::wire::RestBytes;

const ESI: Eui64 = Eui64(0x0013_A200_0000_0001);
const IHD: Eui64 = Eui64(0x0013_A200_0000_0002);
const OTHER: Eui64 = Eui64(0x0013_A200_0000_0003);

/// Deterministic entropy: a counter through a mixing function.
fn entropy(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move |buf: &mut [u8]| {
        for b in buf {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}

fn seed48(seed: u64) -> [u8; 48] {
    let mut out = [0u8; 48];
    entropy(seed)(&mut out);
    out
}

fn ca(seed: u64, issuer: [u8; 8]) -> CertificateAuthority {
    CertificateAuthority::new(PrivateKey::from_entropy(&seed48(seed)).unwrap(), issuer)
}

fn identity(ca: &CertificateAuthority, eui: Eui64, seed: u64) -> Identity {
    let (cert, key) = ca
        .issue(eui.0.to_be_bytes(), TEST_PROFILE, &seed48(seed))
        .unwrap();
    Identity::new(cert, key, ca.public_key()).unwrap()
}

type Rng = Box<dyn FnMut(&mut [u8])>;

struct Pair {
    device: Initiator,
    esi: Responder,
    rng: Rng,
}

fn pair() -> Pair {
    let ca = ca(1, TEST_ISSUER);
    Pair {
        device: Initiator::new(identity(&ca, IHD, 2), Config::default()),
        esi: Responder::new(identity(&ca, ESI, 3), Config::default()),
        rng: Box::new(entropy(4)),
    }
}

impl Pair {
    /// Deliver `step`'s command to the other side (the device sends to the ESI and vice versa).
    fn esi_gets(&mut self, step: Step, now: u64) -> Step {
        let (to, command) = step.send.unwrap();
        assert_eq!(to, ESI);
        self.esi.handle(IHD, &command, now, &mut self.rng)
    }
    fn device_gets(&mut self, step: Step, now: u64) -> Step {
        let (to, command) = step.send.unwrap();
        assert_eq!(to, IHD);
        self.device.handle(ESI, &command, now, &mut self.rng)
    }
}

fn status_sent(step: &Step) -> TerminateStatus {
    match &step.send {
        Some((_, Command::TerminateKeyEstablishment(t))) => t.status_code,
        other => panic!("expected a Terminate, got {other:?}"),
    }
}

fn link_key(outcome: &Option<Outcome>) -> [u8; 16] {
    match outcome {
        Some(Outcome::Established {
            link_key: Some(link_key),
            ..
        }) => *link_key,
        other => panic!("expected a key, got {other:?}"),
    }
}

#[test]
fn both_sides_establish_the_same_link_key_in_six_messages() {
    let mut p = pair();
    let s = p.device.start(ESI, 0);
    assert!(matches!(
        s.send,
        Some((ESI, Command::InitiateKeyEstablishmentRequest(_)))
    ));
    let s = p.esi_gets(s, 10);
    assert!(matches!(
        s.send,
        Some((IHD, Command::InitiateKeyEstablishmentResponse(_)))
    ));
    let s = p.device_gets(s, 20);
    assert!(matches!(
        s.send,
        Some((ESI, Command::EphemeralDataRequest(_)))
    ));
    let s = p.esi_gets(s, 30);
    assert!(matches!(
        s.send,
        Some((IHD, Command::EphemeralDataResponse(_)))
    ));
    let s = p.device_gets(s, 40);
    assert!(matches!(
        s.send,
        Some((ESI, Command::ConfirmKeyDataRequest(_)))
    ));
    let s = p.esi_gets(s, 50);
    let esi_key = link_key(&s.outcome);
    assert!(matches!(
        s.send,
        Some((IHD, Command::ConfirmKeyDataResponse(_)))
    ));
    let s = p.device_gets(s, 60);
    assert_eq!(link_key(&s.outcome), esi_key);
    assert!(s.send.is_none());
    assert_eq!((p.device.stage(), p.esi.current()), (None, None));

    // A second exchange gives a different key (fresh ephemeral keys).
    let s = p.device.start(ESI, 100);
    let s = p.esi_gets(s, 100);
    let s = p.device_gets(s, 100);
    let s = p.esi_gets(s, 100);
    let s = p.device_gets(s, 100);
    let s = p.esi_gets(s, 100);
    let again = link_key(&s.outcome);
    assert_ne!(again, esi_key);
    assert_eq!(link_key(&p.device_gets(s, 100).outcome), again);
}

#[test]
fn an_unsupported_suite_is_terminated_with_unsupported_suite() {
    let mut p = pair();
    let Some((_, Command::InitiateKeyEstablishmentRequest(mut req))) = p.device.start(ESI, 0).send
    else {
        panic!()
    };
    req.key_establishment_suite = 0x0002;
    let s = p.esi.handle(
        IHD,
        &Command::InitiateKeyEstablishmentRequest(req),
        0,
        &mut p.rng,
    );
    assert_eq!(status_sent(&s), TerminateStatus::UnsupportedSuite);
    // The device learns it from the Terminate.
    let s = p.device_gets(s, 0);
    assert_eq!(
        s.outcome,
        Some(Outcome::Failed {
            partner: ESI,
            failure: Failure::Terminated {
                status: TerminateStatus::UnsupportedSuite,
                wait_time: 30
            }
        })
    );
}

#[test]
fn a_certificate_from_another_issuer_is_terminated_with_unknown_issuer() {
    let foreign = ca(9, *b"OTHERCA!");
    let mut device = Initiator::new(identity(&foreign, IHD, 2), Config::default());
    let mut p = pair();
    let s = device.start(ESI, 0);
    let s = p.esi_gets(s, 0);
    assert_eq!(status_sent(&s), TerminateStatus::UnknownIssuer);
    assert!(p.esi.current().is_none());
}

#[test]
fn a_certificate_whose_subject_is_not_the_sender_is_a_bad_message() {
    let mut p = pair();
    let s = p.device.start(ESI, 0);
    let (_, command) = s.send.unwrap();
    let s = p.esi.handle(OTHER, &command, 0, &mut p.rng);
    assert_eq!(s.send.as_ref().unwrap().0, OTHER);
    assert_eq!(status_sent(&s), TerminateStatus::BadMessage);
}

#[test]
fn a_truncated_certificate_is_a_bad_message_and_a_broken_one_an_invalid_certificate() {
    let mut p = pair();
    let Some((_, Command::InitiateKeyEstablishmentRequest(req))) = p.device.start(ESI, 0).send
    else {
        panic!()
    };
    let mut short = req.clone();
    short.identity = RestBytes::new(&req.identity.as_bytes()[..47]).unwrap();
    let s = p.esi.handle(
        IHD,
        &Command::InitiateKeyEstablishmentRequest(short),
        0,
        &mut p.rng,
    );
    assert_eq!(status_sent(&s), TerminateStatus::BadMessage);

    // A reconstruction point that is on no curve point: x chosen until decompression fails.
    let mut cert = Certificate::from_slice(req.identity.as_bytes()).unwrap();
    let mut broken = None;
    for i in 0..=255u8 {
        cert.0[21] = i;
        let c = Certificate(cert.0);
        if hanrig_cbke::curve::Point::decompress(&c.reconstruction_data()).is_err() {
            broken = Some(c);
            break;
        }
    }
    let mut bad = req.clone();
    bad.identity = RestBytes::new(&broken.unwrap().0).unwrap();
    let s = p.esi.handle(
        IHD,
        &Command::InitiateKeyEstablishmentRequest(bad),
        0,
        &mut p.rng,
    );
    assert_eq!(status_sent(&s), TerminateStatus::InvalidCertificate);
}

#[test]
fn a_wrong_macu_gets_bad_key_confirm_from_the_esi() {
    let mut p = pair();
    let s = p.device.start(ESI, 0);
    let s = p.esi_gets(s, 0);
    let s = p.device_gets(s, 0);
    let s = p.esi_gets(s, 0);
    let Some((to, Command::ConfirmKeyDataRequest(mut c))) = p.device_gets(s, 0).send else {
        panic!()
    };
    c.secure_message_authentication_code.0[0] ^= 0x80;
    let s = p
        .esi
        .handle(IHD, &Command::ConfirmKeyDataRequest(c), 0, &mut p.rng);
    assert_eq!(to, ESI);
    assert_eq!(status_sent(&s), TerminateStatus::BadKeyConfirm);
    assert_eq!(
        s.outcome,
        Some(Outcome::Failed {
            partner: IHD,
            failure: Failure::Refused(TerminateStatus::BadKeyConfirm)
        })
    );
}

#[test]
fn a_wrong_macv_gets_bad_key_confirm_from_the_device() {
    let mut p = pair();
    let s = p.device.start(ESI, 0);
    let s = p.esi_gets(s, 0);
    let s = p.device_gets(s, 0);
    let s = p.esi_gets(s, 0);
    let s = p.device_gets(s, 0);
    let Some((_, Command::ConfirmKeyDataResponse(mut c))) = p.esi_gets(s, 0).send else {
        panic!()
    };
    c.secure_message_authentication_code.0[15] ^= 1;
    let s = p
        .device
        .handle(ESI, &Command::ConfirmKeyDataResponse(c), 0, &mut p.rng);
    assert_eq!(status_sent(&s), TerminateStatus::BadKeyConfirm);
}

#[test]
fn a_device_certified_by_an_impostor_ca_under_the_same_issuer_fails_key_confirmation() {
    // Same issuer ID, different CA key: the certificate reconstructs, but to a key the device's
    // private key does not match from the ESI's point of view, so the MACs differ.
    let impostor = ca(77, TEST_ISSUER);
    let (cert, key) = impostor
        .issue(IHD.0.to_be_bytes(), TEST_PROFILE, &seed48(5))
        .unwrap();
    let real_ca = ca(1, TEST_ISSUER);
    // The device believes in the impostor's CA key for its own pair.
    let mut device = Initiator::new(
        Identity::new(cert, key, impostor.public_key()).unwrap(),
        Config::default(),
    );
    let mut esi = Responder::new(identity(&real_ca, ESI, 3), Config::default());
    let mut rng = entropy(6);
    let (_, c) = device.start(ESI, 0).send.unwrap();
    let (_, c) = esi.handle(IHD, &c, 0, &mut rng).send.unwrap();
    let (_, c) = device.handle(ESI, &c, 0, &mut rng).send.unwrap();
    let (_, c) = esi.handle(IHD, &c, 0, &mut rng).send.unwrap();
    let (_, c) = device.handle(ESI, &c, 0, &mut rng).send.unwrap();
    let s = esi.handle(IHD, &c, 0, &mut rng);
    assert_eq!(status_sent(&s), TerminateStatus::BadKeyConfirm);
}

#[test]
fn an_invalid_ephemeral_point_and_a_command_out_of_sequence_are_bad_messages() {
    let mut p = pair();
    let s = p.device.start(ESI, 0);
    let s = p.esi_gets(s, 0);
    let Some((_, Command::EphemeralDataRequest(mut e))) = p.device_gets(s, 0).send else {
        panic!()
    };
    e.ephemeral_data = RestBytes::new(&[0x04; 22]).unwrap();
    let s = p
        .esi
        .handle(IHD, &Command::EphemeralDataRequest(e), 0, &mut p.rng);
    assert_eq!(status_sent(&s), TerminateStatus::BadMessage);

    // Confirm before anything else.
    let mut p = pair();
    let confirm =
        Command::ConfirmKeyDataRequest(hanrig_sep::clusters::key_establishment::ConfirmKeyData {
            secure_message_authentication_code: hanrig_sep::wire::Bytes([0; 16]),
        });
    let s = p.esi.handle(IHD, &confirm, 0, &mut p.rng);
    assert_eq!(status_sent(&s), TerminateStatus::BadMessage);
}

#[test]
fn the_esi_serves_one_partner_at_a_time_and_tells_others_no_resources() {
    let mut p = pair();
    let ca = ca(1, TEST_ISSUER);
    let mut other = Initiator::new(identity(&ca, OTHER, 8), Config::default());
    let s = p.device.start(ESI, 0);
    let s = p.esi_gets(s, 0);
    let (_, c) = other.start(ESI, 0).send.unwrap();
    let refused = p.esi.handle(OTHER, &c, 0, &mut p.rng);
    assert_eq!(refused.send.as_ref().unwrap().0, OTHER);
    assert_eq!(status_sent(&refused), TerminateStatus::NoResources);
    assert!(
        refused.outcome.is_none(),
        "the exchange in progress goes on"
    );
    // The first exchange completes undisturbed.
    let s = p.device_gets(s, 0);
    let s = p.esi_gets(s, 0);
    let s = p.device_gets(s, 0);
    let s = p.esi_gets(s, 0);
    link_key(&s.outcome);
    // Now the other device is served.
    let (_, c) = other.start(ESI, 1).send.unwrap();
    let s = p.esi.handle(OTHER, &c, 1, &mut p.rng);
    assert!(matches!(
        s.send,
        Some((OTHER, Command::InitiateKeyEstablishmentResponse(_)))
    ));
}

#[test]
fn waits_last_the_partners_advertised_time_plus_the_margin_and_send_no_terminate() {
    let mut p = pair();
    let s = p.device.start(ESI, 1_000);
    // No answer: the device gives up after the margin alone (it knows no partner time yet).
    assert_eq!(p.device.deadline_ms(), Some(11_000));
    assert_eq!(p.device.poll(10_999), Step::default());
    let t = p.device.poll(11_000);
    assert!(t.send.is_none());
    assert_eq!(
        t.outcome,
        Some(Outcome::Failed {
            partner: ESI,
            failure: Failure::Timeout(Stage::InitiateResponse)
        })
    );

    // The ESI waits the device's ephemeral generate time (4 s) plus 10 s for the Ephemeral Data.
    let _ = p.esi_gets(s, 2_000);
    assert_eq!(p.esi.deadline_ms(), Some(16_000));
    let t = p.esi.poll(16_000);
    assert!(t.send.is_none());
    assert_eq!(
        t.outcome,
        Some(Outcome::Failed {
            partner: IHD,
            failure: Failure::Timeout(Stage::EphemeralRequest)
        })
    );

    // After both timed out, a new start succeeds.
    let s = p.device.start(ESI, 20_000);
    let s = p.esi_gets(s, 20_000);
    let s = p.device_gets(s, 20_000);
    // The device now waits the ESI's advertised ephemeral time.
    assert_eq!(p.device.deadline_ms(), Some(20_000 + 4_000 + 10_000));
    let s = p.esi_gets(s, 20_000);
    let s = p.device_gets(s, 20_000);
    assert_eq!(p.device.deadline_ms(), Some(20_000 + 6_000 + 10_000));
    let s = p.esi_gets(s, 20_000);
    link_key(&p.device_gets(s, 20_000).outcome);
}

#[test]
fn a_partner_that_starts_again_mid_exchange_is_served_anew() {
    let mut p = pair();
    let s = p.device.start(ESI, 0);
    let s = p.esi_gets(s, 0);
    let _ = p.device_gets(s, 0); // the device's Ephemeral Data Request is lost
    let s = p.device.start(ESI, 5);
    let s = p.esi_gets(s, 5);
    let s = p.device_gets(s, 5);
    let s = p.esi_gets(s, 5);
    let s = p.device_gets(s, 5);
    let s = p.esi_gets(s, 5);
    let key = link_key(&s.outcome);
    assert_eq!(link_key(&p.device_gets(s, 5).outcome), key);
}

#[test]
fn an_identity_whose_key_is_not_the_certificates_is_refused() {
    let ca = ca(1, TEST_ISSUER);
    let (cert, _) = ca
        .issue(IHD.0.to_be_bytes(), TEST_PROFILE, &seed48(2))
        .unwrap();
    let (_, other_key) = ca
        .issue(IHD.0.to_be_bytes(), TEST_PROFILE, &seed48(3))
        .unwrap();
    assert_eq!(
        Identity::new(cert, other_key, ca.public_key()).err(),
        Some(KeyError::KeyMismatch)
    );
}
