//! Judging Key Establishment frames heard on the air, for the device and meter suites: the
//! clause they cite, a partner's Initiate (suite, certificate length, subject, issuer) and an
//! ephemeral key (a compressed point of the subgroup).

use hanrig_cbke::curve::POINT_LEN;
use hanrig_cbke::{Certificate, PublicKey};
use hanrig_sep::Eui64;
use hanrig_sep::clusters::key_establishment::{
    EphemeralData, InitiateKeyEstablishment, SUITE_CBKE_163K1,
};

use super::ctx::{Outcome, check, fail};

/// What the Key Establishment cases cite.
pub const CLAUSE: &str = "SE 1.x Annex C (CBKE suite 1, sect163k1) and the Key Establishment cluster 0x0800, as the Silicon Labs key-establishment plugin implements them (cbke-facts.md §2)";

/// An Initiate (`what`, e.g. "Initiate KE Response to the display") must propose suite 1 with a
/// 48-byte certificate naming `subject`, issued by `issuer`.
pub fn initiate_ok(
    what: &str,
    msg: &InitiateKeyEstablishment,
    subject: Eui64,
    issuer: Option<[u8; 8]>,
) -> Outcome {
    check(
        msg.key_establishment_suite == SUITE_CBKE_163K1,
        &format!("{what}: suite is not CBKE suite 1"),
        "0x0001",
        format!("{:#06x}", msg.key_establishment_suite),
    )?;
    let cert = Certificate::from_slice(msg.identity.as_bytes()).ok_or_else(|| {
        fail(
            format!("{what}: the certificate is not 48 bytes"),
            "48 bytes",
            format!("{} bytes", msg.identity.as_bytes().len()),
        )
    })?;
    check(
        cert.subject() == subject.0.to_be_bytes(),
        &format!("{what}: the certificate's subject is not the DUT"),
        format!("{:016X}", subject.0),
        format!("{:016X}", u64::from_be_bytes(cert.subject())),
    )?;
    check(
        issuer == Some(cert.issuer()),
        &format!("{what}: the certificate's issuer is not the rig CA's"),
        issuer.map_or("(the rig's certificate)".into(), |i| {
            String::from_utf8_lossy(&i).into_owned()
        }),
        String::from_utf8_lossy(&cert.issuer()).into_owned(),
    )
}

/// The issuer of the certificate an Initiate carries.
pub fn issuer(msg: &InitiateKeyEstablishment) -> Option<[u8; 8]> {
    Certificate::from_slice(msg.identity.as_bytes()).map(|c| c.issuer())
}

/// Ephemeral data (`what`) must be a compressed point of the subgroup.
pub fn point_ok(what: &str, msg: &EphemeralData) -> Outcome {
    let point: Result<&[u8; POINT_LEN], _> = msg.ephemeral_data.as_bytes().try_into();
    let valid = point.map(|p| {
        PublicKey::from_compressed(p)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    check(
        matches!(valid, Ok(Ok(()))),
        &format!("{what}: not a valid sect163k1 public key"),
        "22 bytes, a compressed point of the subgroup",
        format!("{valid:?}"),
    )
}
