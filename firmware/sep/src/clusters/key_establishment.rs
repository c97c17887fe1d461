//! Key Establishment cluster (0x0800): the CBKE message layouts (the cryptography itself is not
//! here).

use crate::MAX_PAYLOAD_LEN;
use crate::wire::{Bytes, RestBytes};

/// Cluster identifier.
pub const CLUSTER_ID: u16 = 0x0800;

/// Command identifiers, the same in both directions.
pub mod command {
    /// Initiate Key Establishment Request / Response.
    pub const INITIATE_KEY_ESTABLISHMENT: u8 = 0x00;
    /// Ephemeral Data Request / Response.
    pub const EPHEMERAL_DATA: u8 = 0x01;
    /// Confirm Key Data Request / Response.
    pub const CONFIRM_KEY_DATA: u8 = 0x02;
    /// Terminate Key Establishment.
    pub const TERMINATE_KEY_ESTABLISHMENT: u8 = 0x03;
}

/// Attribute KeyEstablishmentSuite (both sides).
pub const ATTRIBUTE_KEY_ESTABLISHMENT_SUITE: u16 = 0x0000;
/// Suite 1: CBKE with sect163k1 (SE 1.0).
pub const SUITE_CBKE_163K1: u16 = 0x0001;
/// Suite 2: CBKE with sect283k1 (SE 1.2).
pub const SUITE_CBKE_283K1: u16 = 0x0002;
/// Length of a suite-1 implicit certificate.
pub const SUITE1_CERTIFICATE_LEN: usize = 48;
/// Length of a suite-1 ephemeral public key (compressed point).
pub const SUITE1_EPHEMERAL_DATA_LEN: usize = 22;

open_enum! {
    /// Status of Terminate Key Establishment.
    pub enum TerminateStatus(u8) {
        /// The issuer of the certificate is unknown.
        UnknownIssuer = 0x01,
        /// Key confirmation failed.
        BadKeyConfirm = 0x02,
        /// A message was malformed.
        BadMessage = 0x03,
        /// No resources to go on.
        NoResources = 0x04,
        /// The suite is not supported.
        UnsupportedSuite = 0x05,
        /// The certificate is invalid.
        InvalidCertificate = 0x06,
    }
}

layout! {
    /// Initiate Key Establishment Request (client→server 0x00) and Response (server→client
    /// 0x00).
    pub struct InitiateKeyEstablishment {
        /// Suite in use (0x0001 = CBKE sect163k1).
        pub key_establishment_suite: u16,
        /// Seconds the sender needs to generate ephemeral data.
        pub ephemeral_data_generate_time: u8,
        /// Seconds the sender needs to generate the key confirmation.
        pub confirm_key_generate_time: u8,
        /// The sender's implicit certificate (48 bytes for suite 1).
        pub identity: RestBytes<MAX_PAYLOAD_LEN>,
    }
}

layout! {
    /// Ephemeral Data Request (client→server 0x01) and Response (server→client 0x01).
    pub struct EphemeralData {
        /// The sender's ephemeral public key (22 bytes for suite 1).
        pub ephemeral_data: RestBytes<MAX_PAYLOAD_LEN>,
    }
}

layout! {
    /// Confirm Key Data Request (client→server 0x02) and Response (server→client 0x02).
    pub struct ConfirmKeyData {
        /// MACU (request) or MACV (response).
        pub secure_message_authentication_code: Bytes<16>,
    }
}

layout! {
    /// Terminate Key Establishment (0x03, either direction).
    pub struct TerminateKeyEstablishment {
        /// Why.
        pub status_code: TerminateStatus,
        /// Seconds to wait before trying again.
        pub wait_time: u8,
        /// Suite in use.
        pub key_establishment_suite: u16,
    }
}
