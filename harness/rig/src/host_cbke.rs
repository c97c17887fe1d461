//! The rig's ESI on an EZSP radio, for Key Establishment: the exchange with the chip doing the
//! ECC ([`ChipResponder`]), the faults a case asks the ESI to play ([`EsiFaults`], the same the
//! simulated ESI plays), SE frames refused before a device has its key, and the devices served
//! once they have it. One definition for the `sim-serial` and black-box rigs
//! ([`super::serial`]) and the lab rig ([`super::lab`]).

use hanrig_cbke::exchange::{Outcome, Step};
use hanrig_sep::clusters::key_establishment;
use hanrig_sep::{Command, Direction, Eui64, ZclFrame};
use hanrig_sim::cbke::EsiFaults;
use hanrig_sim::clock::SimTime;
use hanrig_sim::esi::{EsiApp, Outgoing};
use hanrig_sim::log::Log;
use serde_json::json;

use hanrig_conformance::ctx::CaseError;
use hanrig_radio_host::cbke::ChipResponder;
use hanrig_radio_host::ezsp::EzspHost;

fn rig(e: impl std::fmt::Display) -> CaseError {
    CaseError::Rig(e.to_string())
}

/// The host's side of Key Establishment.
#[derive(Debug)]
pub struct HostCbke {
    responder: ChipResponder,
    faults: Option<EsiFaults>,
    /// The devices given a key, with the key the chip stored.
    established: Vec<(Eui64, Option<[u8; 16]>)>,
}

impl HostCbke {
    /// Checks that the radio has the CBKE library and a certificate; `faults` the case asks for.
    pub async fn new(host: &mut EzspHost, faults: Option<EsiFaults>) -> Result<Self, CaseError> {
        Ok(HostCbke {
            responder: ChipResponder::new(host, hanrig_sim::cbke::config())
                .await
                .map_err(rig)?,
            faults,
            established: Vec::new(),
        })
    }

    /// The devices given a key, with the key the chip stored for each (for the key file).
    pub fn established(&self) -> &[(Eui64, Option<[u8; 16]>)] {
        &self.established
    }

    /// When [`HostCbke::poll`] is next due (ms of the cases' clock).
    pub fn deadline_ms(&self) -> Option<u64> {
        self.responder.deadline_ms()
    }

    /// Whether an SE application frame (`cluster`) from `device` is refused because it has not
    /// done Key Establishment (SE 1.0: the SE clusters run under the key it gives), as the
    /// simulated ESI refuses it.
    pub fn refuses(
        &self,
        app: &EsiApp,
        now: SimTime,
        device: Eui64,
        cluster: u16,
        log: &mut Log,
    ) -> bool {
        let refused = hanrig_sep::clusters::aps_secured(cluster)
            && !self.established.iter().any(|(e, _)| *e == device);
        if refused {
            log.push(
                now,
                &app.name,
                "refused_before_cbke",
                json!({"device": device.to_string(), "cluster": cluster}),
            );
        }
        refused
    }

    /// A Key Establishment frame from `device`: the refusal a fault sends instead, or the
    /// exchange's next step; returns the frames to send.
    #[allow(clippy::too_many_arguments)]
    pub async fn receive(
        &mut self,
        host: &mut EzspHost,
        app: &mut EsiApp,
        now: SimTime,
        device: Eui64,
        payload: &[u8],
        log: &mut Log,
    ) -> Result<Vec<Outgoing>, CaseError> {
        let Ok(frame) = ZclFrame::parse(key_establishment::CLUSTER_ID, payload) else {
            return Ok(Vec::new());
        };
        let tsn = frame.header.tsn;
        if let Some(refusal) = self
            .faults
            .as_mut()
            .and_then(|f| f.intercept(&frame.command))
        {
            return Ok(frame_to(device, refusal, tsn).into_iter().collect());
        }
        let step = self
            .responder
            .handle(host, device, &frame.command, hanrig_sim::cbke::ms(now))
            .await
            .map_err(rig)?;
        self.settle(host, app, now, step, tsn, log).await
    }

    /// Lets time pass: an exchange whose wait has run out fails.
    pub async fn poll(
        &mut self,
        host: &mut EzspHost,
        app: &mut EsiApp,
        now: SimTime,
        log: &mut Log,
    ) -> Result<Vec<Outgoing>, CaseError> {
        let due = self
            .responder
            .deadline_ms()
            .is_some_and(|d| d <= hanrig_sim::cbke::ms(now));
        if !due {
            return Ok(Vec::new());
        }
        let step = self.responder.poll(hanrig_sim::cbke::ms(now));
        self.settle(host, app, now, step, 0, log).await
    }

    /// `step`'s command (as a fault changes it), after ending the chip's exchange if the step
    /// ended it; a device given a key is served from now on.
    async fn settle(
        &mut self,
        host: &mut EzspHost,
        app: &mut EsiApp,
        now: SimTime,
        step: Step,
        tsn: u8,
        log: &mut Log,
    ) -> Result<Vec<Outgoing>, CaseError> {
        let mut out = Vec::new();
        if let Some((to, command)) = step.send {
            let command = match &self.faults {
                Some(f) => f.outgoing(command),
                None => Some(command),
            };
            out.extend(command.and_then(|c| frame_to(to, c, tsn)));
        }
        // Key Establishment frames are NWK-secured only: the chip's switch to the new key does
        // not touch them.
        let stored = self
            .responder
            .settle(host, step.outcome.as_ref())
            .await
            .map_err(rig)?;
        match step.outcome {
            Some(Outcome::Established { partner, .. }) => {
                self.established.retain(|(e, _)| *e != partner);
                self.established.push((partner, stored));
                app.admit(partner);
                log.push(
                    now,
                    &app.name,
                    "cbke_established",
                    json!({"device": partner.to_string(), "key_stored": stored.is_some()}),
                );
            }
            Some(Outcome::Failed { partner, failure }) => log.push(
                now,
                &app.name,
                "cbke_failed",
                json!({"device": partner.to_string(), "reason": format!("{failure:?}")}),
            ),
            None => {}
        }
        Ok(out)
    }
}

/// A Key Establishment command from the ESI (the cluster's server) to `device`.
fn frame_to(device: Eui64, command: Command, tsn: u8) -> Option<Outgoing> {
    let mut frame = ZclFrame::new(key_establishment::CLUSTER_ID, command, tsn)?;
    frame.header.direction = Direction::ServerToClient;
    Some(Outgoing { device, frame })
}
