//! Key Establishment with the ECC on the radio: the host runs the exchange (the
//! [`hanrig_cbke::exchange`] state machines, the same a simulated ESI runs in software) and an
//! EZSP co-processor's CBKE library computes — generateCbkeKeys, calculateSmacs,
//! clearTemporaryDataMaybeStoreLinkKey — so the certificate's private key never leaves the chip.
//!
//! The chip answers those commands asynchronously, while the state machines are synchronous:
//! [`ChipResponder::handle`] asks the chip for what the machine is about to need (the ephemeral
//! key and both MACs, when an Ephemeral Data Request arrives in its turn) and hands the results
//! to the machine's engine, then runs the machine; [`ChipResponder::settle`] ends the chip's
//! exchange once the step's command has been sent.

use hanrig_cbke::Certificate;
use hanrig_cbke::curve::POINT_LEN;
use hanrig_cbke::engine::{Engine, EngineError, Smacs};
use hanrig_cbke::exchange::{Config, Entropy, Outcome, Responder, Stage, Step};
use hanrig_cbke::kdf::Party;
use hanrig_sep::{Command, Eui64};

use super::RadioError;
use super::ezsp::EzspHost;

/// The results the chip gave for the step the machine is about to take.
#[derive(Debug)]
pub struct ChipEngine {
    certificate: Certificate,
    ephemeral: Option<[u8; POINT_LEN]>,
    smacs: Option<Smacs>,
    finish: Option<bool>,
}

impl Engine for ChipEngine {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn generate_keys(&mut self, _: &mut dyn Entropy) -> Result<[u8; POINT_LEN], EngineError> {
        self.ephemeral.take().ok_or(EngineError::Failed)
    }

    fn calculate_smacs(
        &mut self,
        _: Party,
        _: &Certificate,
        _: &[u8; POINT_LEN],
    ) -> Result<Smacs, EngineError> {
        // The chip computed them for this partner and point, or refused them.
        self.smacs.take().ok_or(EngineError::Failed)
    }

    fn finish(&mut self, store: bool) -> Option<[u8; 16]> {
        self.ephemeral = None;
        self.smacs = None;
        self.finish = Some(store);
        // The chip keeps KeyData in its key table.
        None
    }
}

/// The trust centre's side of Key Establishment on an EZSP co-processor with the CBKE library.
#[derive(Debug)]
pub struct ChipResponder {
    machine: Responder<ChipEngine>,
}

impl ChipResponder {
    /// Checks that the co-processor has the CBKE and ECC libraries and a certificate, and
    /// takes its certificate.
    pub async fn new(host: &mut EzspHost, config: Config) -> Result<ChipResponder, RadioError> {
        if !host.cbke_library().await? {
            return Err(RadioError::Protocol {
                port: host.name().to_string(),
                what: "the co-processor's firmware has no CBKE library (getLibraryStatus \
                       0x06 and 0x08 say absent): Key Establishment needs an image built with \
                       the CBKE and ECC libraries and a certificate in its tokens"
                    .to_string(),
            });
        }
        let certificate = Certificate(host.cbke_certificate().await?);
        let engine = ChipEngine {
            certificate,
            ephemeral: None,
            smacs: None,
            finish: None,
        };
        Ok(ChipResponder {
            machine: Responder::with_engine(engine, config),
        })
    }

    /// The certificate the chip holds.
    pub fn certificate(&mut self) -> Certificate {
        *self.machine.engine_mut().certificate()
    }

    /// When [`ChipResponder::poll`] is next due.
    pub fn deadline_ms(&self) -> Option<u64> {
        self.machine.deadline_ms()
    }

    /// A Key Establishment command from `from`: the chip's part first, then the machine's.
    pub async fn handle(
        &mut self,
        host: &mut EzspHost,
        from: Eui64,
        command: &Command,
        now_ms: u64,
    ) -> Result<Step, RadioError> {
        if let Command::EphemeralDataRequest(msg) = command
            && self.machine.current() == Some((from, Stage::EphemeralRequest))
            && let Some(partner) = self.machine.partner_certificate().copied()
            && let Ok(point) = <[u8; POINT_LEN]>::try_from(msg.ephemeral_data.as_bytes())
        {
            let ephemeral = host.generate_cbke_keys().await?;
            let smacs = host.calculate_smacs(false, &partner.0, &point).await?;
            let engine = self.machine.engine_mut();
            engine.ephemeral = Some(ephemeral);
            engine.smacs = smacs.map(|(initiator, responder)| Smacs {
                initiator,
                responder,
            });
        }
        // The chip draws the ephemeral key; the host needs no entropy.
        Ok(self
            .machine
            .handle(from, command, now_ms, &mut |_: &mut [u8]| {}))
    }

    /// Lets time pass.
    pub fn poll(&mut self, now_ms: u64) -> Step {
        self.machine.poll(now_ms)
    }

    /// After the step's command has gone out: ends the chip's exchange if the step ended it
    /// (storing KeyData on success) and returns the stored link key, read back from the key
    /// table, for the capture's key file.
    pub async fn settle(
        &mut self,
        host: &mut EzspHost,
        outcome: Option<&Outcome>,
    ) -> Result<Option<[u8; 16]>, RadioError> {
        let Some(store) = self.machine.engine_mut().finish.take() else {
            return Ok(None);
        };
        host.finish_cbke(store).await?;
        match outcome {
            Some(Outcome::Established { partner, .. }) if store => host.link_key_of(*partner).await,
            _ => Ok(None),
        }
    }
}
