//! The EZSP host driver: ASH over a serial port or TCP, version negotiation, commands matched
//! to responses by sequence number, callbacks queued apart.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

pub use hanrig_radio::ezsp::CONFIG_MAX_END_DEVICE_CHILDREN;
use hanrig_radio::ezsp::{
    APS_OPTION_ENCRYPTION, FC_HI_V8, Format, HAVE_NETWORK_KEY, HAVE_PRECONFIGURED_KEY, Header,
    REQUIRE_ENCRYPTED_KEY, TC_GLOBAL_LINK_KEY,
};
use hanrig_radio::session::{Role, Session, State};
use hanrig_sep::Eui64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::port::{FlowControl, Port, open};
pub use super::{ApsMessage, Event, FormParams};
use super::{NetworkInfo, Radio, RadioError};

pub use hanrig_radio::ezsp::frame_id;

/// Commands that set the co-processor's state: kept in the driver's journal and replayed, in
/// order, after the co-processor restarts (formNetwork replays as networkInit: the network
/// itself survives a restart in the co-processor's tokens).
const JOURNALED: [u16; 8] = [
    frame_id::SET_CONFIGURATION_VALUE,
    frame_id::SET_POLICY,
    frame_id::ADD_ENDPOINT,
    frame_id::SET_INITIAL_SECURITY_STATE,
    frame_id::FORM_NETWORK,
    frame_id::NETWORK_INIT,
    frame_id::IMPORT_TRANSIENT_KEY,
    frame_id::PERMIT_JOINING,
];
/// How often one command may restart the co-processor before its error stands.
const RESTARTS_PER_COMMAND: u32 = 10;

/// The well-known global trust-centre link key of Home Automation networks.
pub const ZIGBEE_ALLIANCE_09: [u8; 16] = *b"ZigBeeAlliance09";

/// The newest EZSP version the driver asks for.
pub const DESIRED_VERSION: u8 = 14;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
const RESET_TIMEOUT: Duration = Duration::from_secs(8);

/// A co-processor speaking EZSP.
#[derive(Debug)]
pub struct EzspHost {
    name: String,
    baud: u32,
    flow: FlowControl,
    port: Port,
    journal: Vec<(u16, Vec<u8>)>,
    /// Times the driver restarted the co-processor after the link failed.
    pub restarts: u32,
    session: Session,
    started: Instant,
    format: Format,
    version: u8,
    sequence: u8,
    callbacks: VecDeque<(u16, Vec<u8>)>,
    callbacks_heard: u64,
    responses: VecDeque<(Header, Vec<u8>)>,
    tag: u8,
}

impl EzspHost {
    /// Opens `port` (`/dev/ttyUSB0`, `socket://127.0.0.1:9999`).
    pub async fn open(port: &str, baud: u32, flow: FlowControl) -> Result<EzspHost, RadioError> {
        let opened = open(port, baud, flow).await?;
        Ok(EzspHost::over(port, opened, baud, flow))
    }

    /// A host on a port already open (`name` names it in errors).
    pub fn over(name: &str, port: Port, baud: u32, flow: FlowControl) -> EzspHost {
        EzspHost {
            name: name.to_string(),
            baud,
            flow,
            port,
            journal: Vec::new(),
            restarts: 0,
            session: Session::new(Role::Host),
            started: Instant::now(),
            format: Format::Legacy,
            version: 4,
            sequence: 0,
            callbacks: VecDeque::new(),
            callbacks_heard: 0,
            responses: VecDeque::new(),
            tag: 0,
        }
    }

    /// Opens the port again (after the device vanished and came back, or the connection
    /// dropped), restarts the co-processor and replays the journal; returns what
    /// [`Radio::start`] returns.
    pub async fn reconnect(&mut self) -> Result<String, RadioError> {
        self.port = open(&self.name, self.baud, self.flow).await?;
        self.restart().await
    }

    /// Resets the link, negotiates the version again and replays the journal: the
    /// co-processor is back in the state the host had put it in (an ASH reset reboots it).
    pub async fn restart(&mut self) -> Result<String, RadioError> {
        self.restarts += 1;
        self.reset().await?;
        let description = self.negotiate().await?;
        for (id, params) in self.journal.clone() {
            let p = self.command_once(id, &params).await?;
            if id == frame_id::NETWORK_INIT && self.status_ok(&p) {
                self.wait_callback(frame_id::STACK_STATUS_HANDLER, Duration::from_secs(10))
                    .await?;
            }
        }
        Ok(description)
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> u8 {
        self.version
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    fn io(&self, e: impl std::fmt::Display) -> RadioError {
        RadioError::Io {
            port: self.name.clone(),
            reason: e.to_string(),
        }
    }

    /// A read or write error, saying plainly when the device or connection went away.
    fn gone(&self, e: std::io::Error) -> RadioError {
        use std::io::ErrorKind::*;
        match e.kind() {
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected => {
                self.io(format!("the connection closed (device unplugged?): {e}"))
            }
            _ => self.io(e),
        }
    }

    /// Writes what the link has to send, reads what arrives for up to `wait`, runs timers.
    async fn pump(&mut self, wait: Duration) -> Result<(), RadioError> {
        let mut out = [0u8; 300];
        while let Some(len) = self.session.poll_transmit(self.now(), &mut out) {
            self.port
                .write_all(&out[..len])
                .await
                .map_err(|e| self.gone(e))?;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(wait, self.port.read(&mut buf)).await {
            Ok(Ok(0)) => return Err(self.io("the connection closed (device unplugged?)")),
            Ok(Ok(n)) => {
                let now = self.now();
                self.session.handle_bytes(now, &buf[..n]);
            }
            Ok(Err(e)) => return Err(self.gone(e)),
            Err(_) => {}
        }
        let now = self.now();
        self.session.handle_timeout(now);
        if self.session.state() == State::Failed {
            return Err(RadioError::LinkFailed {
                port: self.name.clone(),
            });
        }
        while let Some(frame) = self.session.poll_received() {
            if let Ok((header, params)) = Header::parse(self.format, &frame) {
                if header.control & 0x18 == 0x10
                    || header.frame_id == frame_id::STACK_STATUS_HANDLER
                {
                    self.callbacks.push_back((header.frame_id, params.to_vec()));
                    self.callbacks_heard += 1;
                } else {
                    self.responses.push_back((header, params.to_vec()));
                }
            }
        }
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), RadioError> {
        self.session.reset();
        self.responses.clear();
        self.callbacks.clear();
        // CANCEL bytes flush a partial frame in the co-processor before RST.
        self.port
            .write_all(&[0x1A; 32])
            .await
            .map_err(|e| self.gone(e))?;
        let deadline = Instant::now() + RESET_TIMEOUT;
        while self.session.state() != State::Connected {
            if Instant::now() > deadline {
                return Err(RadioError::Timeout {
                    port: self.name.clone(),
                    what: "RST (no RSTACK)".into(),
                    seconds: RESET_TIMEOUT.as_secs_f64(),
                });
            }
            self.pump(Duration::from_millis(20)).await?;
        }
        Ok(())
    }

    /// Sends a command and returns its response's parameters. When the link fails on the way,
    /// the co-processor is restarted ([`EzspHost::restart`]) and the command sent again.
    pub async fn command(&mut self, id: u16, params: &[u8]) -> Result<Vec<u8>, RadioError> {
        let mut restarts = 0;
        loop {
            match self.command_once(id, params).await {
                // The link failed, or the co-processor stopped answering over a working link.
                Err(RadioError::LinkFailed { .. } | RadioError::Timeout { .. })
                    if restarts < RESTARTS_PER_COMMAND =>
                {
                    restarts += 1;
                    // A link that fails while restarting is tried again too.
                    while let Err(e) = self.restart().await {
                        if !matches!(
                            e,
                            RadioError::LinkFailed { .. } | RadioError::Timeout { .. }
                        ) || restarts >= RESTARTS_PER_COMMAND
                        {
                            return Err(e);
                        }
                        restarts += 1;
                    }
                }
                Ok(p) => {
                    if JOURNALED.contains(&id) && self.status_ok(&p) {
                        let entry = if id == frame_id::FORM_NETWORK {
                            (frame_id::NETWORK_INIT, vec![0, 0])
                        } else {
                            (id, params.to_vec())
                        };
                        self.journal.push(entry);
                    }
                    return Ok(p);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn command_once(&mut self, id: u16, params: &[u8]) -> Result<Vec<u8>, RadioError> {
        self.sequence = self.sequence.wrapping_add(1);
        let header = Header {
            sequence: self.sequence,
            control: 0x00,
            control_hi: FC_HI_V8,
            frame_id: id,
        };
        let mut frame = vec![0u8; 5];
        let len = header
            .emit(self.format, &mut frame)
            .map_err(|e| RadioError::Protocol {
                port: self.name.clone(),
                what: format!("{e:?}"),
            })?;
        frame.truncate(len);
        frame.extend_from_slice(params);
        self.session
            .send(&frame)
            .map_err(|e| self.io(format!("cannot send: {e:?}")))?;
        // The answer is due COMMAND_TIMEOUT after the link has delivered the command.
        let mut deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            if let Some(i) = self
                .responses
                .iter()
                .position(|(h, _)| h.sequence == self.sequence)
            {
                let (h, params) = self
                    .responses
                    .remove(i)
                    .unwrap_or_else(|| (header, Vec::new()));
                if h.frame_id == frame_id::INVALID_COMMAND {
                    return Err(RadioError::Protocol {
                        port: self.name.clone(),
                        what: format!("frame 0x{id:04x} refused as invalid (status {params:02x?})"),
                    });
                }
                if h.frame_id != id {
                    return Err(RadioError::Protocol {
                        port: self.name.clone(),
                        what: format!("answer to 0x{id:04x} came as 0x{:04x}", h.frame_id),
                    });
                }
                return Ok(params);
            }
            if self.session.sending() {
                deadline = Instant::now() + COMMAND_TIMEOUT;
            }
            if Instant::now() > deadline {
                return Err(RadioError::Timeout {
                    port: self.name.clone(),
                    what: format!("EZSP frame 0x{id:04x}"),
                    seconds: COMMAND_TIMEOUT.as_secs_f64(),
                });
            }
            self.pump(Duration::from_millis(10)).await?;
        }
    }

    /// Waits for callback `id`; returns its parameters.
    pub async fn wait_callback(
        &mut self,
        id: u16,
        timeout: Duration,
    ) -> Result<Vec<u8>, RadioError> {
        self.wait_callback_where(id, timeout, |_| true).await
    }

    /// Waits for callback `id` whose parameters `accept` takes; returns them.
    async fn wait_callback_where(
        &mut self,
        id: u16,
        timeout: Duration,
        accept: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, RadioError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self
                .callbacks
                .iter()
                .position(|(f, p)| *f == id && accept(p))
            {
                return Ok(self.callbacks.remove(i).map(|(_, p)| p).unwrap_or_default());
            }
            if Instant::now() > deadline {
                return Err(RadioError::Timeout {
                    port: self.name.clone(),
                    what: format!("callback 0x{id:04x}"),
                    seconds: timeout.as_secs_f64(),
                });
            }
            self.pump(Duration::from_millis(10)).await?;
        }
    }

    /// Loads the link key `eui` will join with (from its install code).
    pub async fn import_transient_key(
        &mut self,
        eui: Eui64,
        key: &[u8; 16],
    ) -> Result<(), RadioError> {
        let mut params = eui.to_le_bytes().to_vec();
        params.extend_from_slice(key);
        if self.version < 13 {
            // v5–v12: addTransientLinkKey, answered with an EmberStatus.
            let p = self
                .command(frame_id::ADD_TRANSIENT_LINK_KEY, &params)
                .await?;
            if p.first() != Some(&0) {
                return Err(
                    self.protocol(format!("addTransientLinkKey for {eui} refused: {p:02x?}"))
                );
            }
            return Ok(());
        }
        params.push(0); // SecurityManagerContextFlags: none
        let p = self
            .command(frame_id::IMPORT_TRANSIENT_KEY, &params)
            .await?;
        // sl_status in v13 and v14 alike.
        if p.get(..4) != Some(&[0, 0, 0, 0][..]) {
            return Err(self.protocol(format!("importTransientKey for {eui} refused: {p:02x?}")));
        }
        Ok(())
    }

    /// Registers an endpoint for `profile` with the given clusters (in and out).
    pub async fn register_endpoint(
        &mut self,
        endpoint: u8,
        profile: u16,
        device_id: u16,
        clusters: &[u16],
    ) -> Result<(), RadioError> {
        let mut p = vec![endpoint];
        p.extend_from_slice(&profile.to_le_bytes());
        p.extend_from_slice(&device_id.to_le_bytes());
        p.push(0); // device version
        let count = u8::try_from(clusters.len()).map_err(|_| self.protocol("too many clusters"))?;
        p.extend_from_slice(&[count, count]);
        for _ in 0..2 {
            for c in clusters {
                p.extend_from_slice(&c.to_le_bytes());
            }
        }
        let r = self.command(frame_id::ADD_ENDPOINT, &p).await?;
        if !self.status_ok(&r) {
            return Err(self.protocol(format!("addEndpoint {endpoint} refused: {r:02x?}")));
        }
        Ok(())
    }

    /// Sets a configuration value (before forming the network).
    pub async fn set_configuration_value(&mut self, id: u8, value: u16) -> Result<(), RadioError> {
        let mut params = vec![id];
        params.extend_from_slice(&value.to_le_bytes());
        let p = self
            .command(frame_id::SET_CONFIGURATION_VALUE, &params)
            .await?;
        if !self.status_ok(&p) {
            return Err(self.protocol(format!(
                "setConfigurationValue 0x{id:02x} = {value} refused: {p:02x?}"
            )));
        }
        Ok(())
    }

    /// Forms a network as coordinator and trust centre: setInitialSecurityState, then
    /// formNetwork, then waits for the stack to report the network up.
    pub async fn form_network(&mut self, form: &FormParams) -> Result<(), RadioError> {
        let mut bitmask = HAVE_NETWORK_KEY | REQUIRE_ENCRYPTED_KEY;
        if form.global_link_key.is_some() {
            bitmask |= TC_GLOBAL_LINK_KEY | HAVE_PRECONFIGURED_KEY;
        }
        let mut security = bitmask.to_le_bytes().to_vec();
        security.extend_from_slice(&form.global_link_key.unwrap_or([0; 16]));
        security.extend_from_slice(&form.network_key);
        security.push(0); // key sequence number
        security.extend_from_slice(&[0; 8]); // trust centre EUI64: ourselves
        let p = self
            .command(frame_id::SET_INITIAL_SECURITY_STATE, &security)
            .await?;
        if !self.status_ok(&p) {
            return Err(self.protocol(format!("setInitialSecurityState refused: {p:02x?}")));
        }
        if !(11..=26).contains(&form.channel) {
            return Err(self.protocol(format!(
                "channel {} is not a 2.4 GHz channel (11–26)",
                form.channel
            )));
        }
        let mut params = form.extended_pan_id.to_le_bytes().to_vec();
        params.extend_from_slice(&form.pan_id.to_le_bytes());
        params.extend_from_slice(&[form.tx_power as u8, form.channel, 0]); // MAC association
        params.extend_from_slice(&0u16.to_le_bytes()); // network manager: the coordinator
        params.push(0); // update id
        params.extend_from_slice(&(1u32 << form.channel).to_le_bytes());
        let p = self.command(frame_id::FORM_NETWORK, &params).await?;
        if !self.status_ok(&p) {
            return Err(self.protocol(format!("formNetwork refused: {p:02x?}")));
        }
        let status = self
            .wait_callback(frame_id::STACK_STATUS_HANDLER, Duration::from_secs(10))
            .await?;
        if !self.network_up(&status) {
            return Err(self.protocol(format!(
                "the network did not come up (stack status {status:02x?})"
            )));
        }
        Ok(())
    }

    fn network_up(&self, status: &[u8]) -> bool {
        if self.version >= 14 {
            status.get(..4) == Some(&0x15u32.to_le_bytes()[..])
        } else {
            status.first() == Some(&0x90)
        }
    }

    /// Joins the network on `pan_id` and `channel` as an end device, with `link_key` (from the
    /// co-processor's install code) as the preconfigured key the trust centre sends the
    /// network key under: setInitialSecurityState, joinNetwork, then the stack's status.
    pub async fn join_network(
        &mut self,
        pan_id: u16,
        channel: u8,
        link_key: &[u8; 16],
    ) -> Result<(), RadioError> {
        let mut security = (HAVE_PRECONFIGURED_KEY | REQUIRE_ENCRYPTED_KEY)
            .to_le_bytes()
            .to_vec();
        security.extend_from_slice(link_key);
        security.extend_from_slice(&[0; 16]);
        security.push(0);
        security.extend_from_slice(&[0; 8]);
        let p = self
            .command(frame_id::SET_INITIAL_SECURITY_STATE, &security)
            .await?;
        if !self.status_ok(&p) {
            return Err(self.protocol(format!("setInitialSecurityState refused: {p:02x?}")));
        }
        let mut params = vec![3]; // EMBER_END_DEVICE
        params.extend_from_slice(&[0; 8]); // any extended PAN ID
        params.extend_from_slice(&pan_id.to_le_bytes());
        params.extend_from_slice(&[8, channel, 0]); // power, channel, MAC association
        params.extend_from_slice(&0u16.to_le_bytes());
        params.push(0);
        params.extend_from_slice(&(1u32 << channel.min(31)).to_le_bytes());
        let p = self.command(frame_id::JOIN_NETWORK, &params).await?;
        if !self.status_ok(&p) {
            return Err(self.protocol(format!("joinNetwork refused: {p:02x?}")));
        }
        let status = self
            .wait_callback(frame_id::STACK_STATUS_HANDLER, Duration::from_secs(10))
            .await?;
        if !self.network_up(&status) {
            return Err(self.protocol(format!(
                "joining PAN 0x{pan_id:04x} on channel {channel} failed (stack status {status:02x?})"
            )));
        }
        Ok(())
    }

    /// Leaves the network (v14 takes an options byte: none); waits for the stack to report it
    /// down.
    pub async fn leave_network(&mut self) -> Result<(), RadioError> {
        let options: &[u8] = if self.version >= 14 { &[0] } else { &[] };
        let p = self.command(frame_id::LEAVE_NETWORK, options).await?;
        if !self.status_ok(&p) {
            return Err(self.protocol(format!("leaveNetwork refused: {p:02x?}")));
        }
        self.journal
            .retain(|(id, _)| *id != frame_id::NETWORK_INIT && *id != frame_id::PERMIT_JOINING);
        self.wait_callback(frame_id::STACK_STATUS_HANDLER, Duration::from_secs(10))
            .await
            .map(|_| ())
    }

    /// Asks a simulated co-processor to run its medium up to `until` (µs since 1970; `None`
    /// only reads its clock), stopping early when it has something to report; returns the
    /// virtual time reached once every callback that produced is queued. `Ok(None)`: the
    /// co-processor keeps real time (real firmware refuses the simulator's customFrame).
    pub async fn advance_virtual_clock(
        &mut self,
        until: Option<u64>,
    ) -> Result<Option<u64>, RadioError> {
        let mut payload = b"hanrig".to_vec();
        match until {
            None => payload.push(0x00),
            Some(t) => {
                payload.push(0x01);
                payload.extend_from_slice(&t.to_le_bytes());
            }
        }
        let mut params = vec![payload.len() as u8];
        params.extend(payload);
        let heard = self.callbacks_heard;
        let p = self.command(frame_id::CUSTOM_FRAME, &params).await?;
        if !self.status_ok(&p) {
            return Ok(None);
        }
        let reply = p
            .get(self.status_len() + 1..)
            .filter(|r| r.len() >= 10)
            .ok_or_else(|| self.protocol(format!("short virtual clock reply: {p:02x?}")))?;
        let now = u64::from_le_bytes(reply[..8].try_into().unwrap_or_default());
        let coming = u64::from(u16::from_le_bytes([reply[8], reply[9]]));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        while self.callbacks_heard < heard + coming {
            if Instant::now() > deadline {
                return Err(RadioError::Timeout {
                    port: self.name.clone(),
                    what: format!("{coming} callbacks after advancing the virtual clock"),
                    seconds: COMMAND_TIMEOUT.as_secs_f64(),
                });
            }
            self.pump(Duration::from_millis(10)).await?;
        }
        Ok(Some(now))
    }

    /// The next network event already received, if any (no waiting).
    pub fn queued_event(&mut self) -> Result<Option<Event>, RadioError> {
        let Some(i) = self.callbacks.iter().position(|(f, _)| {
            matches!(
                *f,
                frame_id::TRUST_CENTER_JOIN_HANDLER | frame_id::INCOMING_MESSAGE_HANDLER
            )
        }) else {
            return Ok(None);
        };
        let (id, p) = self.callbacks.remove(i).unwrap_or_default();
        self.parse_event(id, &p)
            .map(Some)
            .ok_or_else(|| self.protocol(format!("callback 0x{id:04x} malformed: {p:02x?}")))
    }

    /// Permits joining for `seconds` (0xFF: until closed; 0: closes).
    pub async fn permit_joining(&mut self, seconds: u8) -> Result<(), RadioError> {
        let p = self.command(frame_id::PERMIT_JOINING, &[seconds]).await?;
        if !self.status_ok(&p) {
            return Err(self.protocol(format!("permitJoining refused: {p:02x?}")));
        }
        Ok(())
    }

    /// Sends `message` directly to `message.node`; returns the APS counter used.
    pub async fn send_unicast(&mut self, message: &ApsMessage) -> Result<u8, RadioError> {
        let len = u8::try_from(message.payload.len())
            .map_err(|_| self.protocol("message over 255 bytes"))?;
        let mut p = vec![0x00]; // EMBER_OUTGOING_DIRECT
        p.extend_from_slice(&message.node.to_le_bytes());
        p.extend_from_slice(&message.profile.to_le_bytes());
        p.extend_from_slice(&message.cluster.to_le_bytes());
        p.extend_from_slice(&[message.source_endpoint, message.destination_endpoint]);
        let options = if message.aps_encryption {
            APS_OPTION_ENCRYPTION
        } else {
            0
        };
        p.extend_from_slice(&options.to_le_bytes());
        p.extend_from_slice(&[0, 0, 0]); // group, sequence (assigned by the stack)
        self.tag = self.tag.wrapping_add(1);
        let tag = self.tag;
        p.push(tag);
        if self.version >= 14 {
            p.push(0); // the tag is u16 from v14
        }
        p.push(len);
        p.extend_from_slice(&message.payload);
        let r = self.command(frame_id::SEND_UNICAST, &p).await?;
        let aps_sequence = match r.get(self.status_len()) {
            Some(&aps_sequence) if self.status_ok(&r) => aps_sequence,
            _ => {
                return Err(self.protocol(format!(
                    "sendUnicast to 0x{:04x} refused: {r:02x?}",
                    message.node
                )));
            }
        };
        // Delivery: messageSentHandler for this tag (v13: type, destination, APS frame, tag,
        // status, message; v14: status u32 first, and a u16 tag).
        let v14 = self.version >= 14;
        let sent = self
            .wait_callback_where(frame_id::MESSAGE_SENT_HANDLER, COMMAND_TIMEOUT, |p| {
                p.get(if v14 { 18 } else { 14 }) == Some(&tag)
            })
            .await?;
        let ok = if v14 {
            sent.get(..4) == Some(&[0, 0, 0, 0][..])
        } else {
            sent.get(15) == Some(&0)
        };
        if !ok {
            return Err(self.protocol(format!(
                "message to 0x{:04x} not delivered: messageSentHandler {sent:02x?}",
                message.node
            )));
        }
        Ok(aps_sequence)
    }

    /// The next network event, waiting up to `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<Event, RadioError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.queued_event()? {
                return Ok(event);
            }
            if Instant::now() > deadline {
                return Err(RadioError::Timeout {
                    port: self.name.clone(),
                    what: "a network event".into(),
                    seconds: timeout.as_secs_f64(),
                });
            }
            self.pump(Duration::from_millis(10)).await?;
        }
    }

    fn parse_event(&self, id: u16, p: &[u8]) -> Option<Event> {
        let u16_at = |i: usize| Some(u16::from_le_bytes([*p.get(i)?, *p.get(i + 1)?]));
        let eui_at = |i: usize| Some(Eui64(u64::from_le_bytes(p.get(i..i + 8)?.try_into().ok()?)));
        if id == frame_id::TRUST_CENTER_JOIN_HANDLER {
            return Some(Event::Joined {
                short: u16_at(0)?,
                eui: eui_at(2)?,
            });
        }
        // type, EmberApsFrame (11), then v13: lqi, rssi, sender, binding, address index;
        // v14: sender, EUI64, binding, address index, lqi, rssi, timestamp.
        let (sender, message_at) = if self.version >= 14 {
            (u16_at(12)?, 12 + 2 + 8 + 4 + 4)
        } else {
            (u16_at(14)?, 12 + 2 + 2 + 2)
        };
        let len = usize::from(*p.get(message_at)?);
        Some(Event::Incoming(ApsMessage {
            node: sender,
            profile: u16_at(1)?,
            cluster: u16_at(3)?,
            source_endpoint: *p.get(5)?,
            destination_endpoint: *p.get(6)?,
            aps_encryption: u16_at(7)? & APS_OPTION_ENCRYPTION != 0,
            payload: p.get(message_at + 1..message_at + 1 + len)?.to_vec(),
        }))
    }

    /// Version negotiation: `version` in the legacy form, then, for v8 and later, again in the
    /// extended form with the version the driver wants.
    async fn negotiate(&mut self) -> Result<String, RadioError> {
        self.format = Format::Legacy;
        let legacy = self.command_once(frame_id::VERSION, &[4]).await?;
        let [mut version, _stack_type, lo, hi, ..] = legacy[..] else {
            return Err(self.protocol("short version response"));
        };
        let mut stack = u16::from_le_bytes([lo, hi]);
        if version >= 8 {
            let desired = version.min(DESIRED_VERSION);
            self.format = Format::Extended;
            self.version = desired;
            let extended = self.command_once(frame_id::VERSION, &[desired]).await?;
            let [v, _, lo, hi, ..] = extended[..] else {
                return Err(self.protocol("short version response"));
            };
            if v != desired {
                return Err(self.protocol(format!(
                    "asked for EZSP v{desired}, the co-processor speaks v{v}"
                )));
            }
            version = v;
            stack = u16::from_le_bytes([lo, hi]);
        }
        self.version = version;
        Ok(format!(
            "EZSP v{version}, EmberZNet {}.{}.{}.{}",
            stack >> 12,
            stack >> 8 & 0xF,
            stack >> 4 & 0xF,
            stack & 0xF
        ))
    }

    fn status_len(&self) -> usize {
        if self.version >= 14 { 4 } else { 1 }
    }

    fn status_ok(&self, params: &[u8]) -> bool {
        params
            .get(..self.status_len())
            .is_some_and(|s| s.iter().all(|b| *b == 0))
    }

    fn protocol(&self, what: impl Into<String>) -> RadioError {
        RadioError::Protocol {
            port: self.name.clone(),
            what: what.into(),
        }
    }
}

impl Radio for EzspHost {
    async fn form_network(&mut self, form: &FormParams) -> Result<(), RadioError> {
        EzspHost::form_network(self, form).await
    }

    async fn join_network(
        &mut self,
        pan_id: u16,
        channel: u8,
        link_key: &[u8; 16],
    ) -> Result<(), RadioError> {
        EzspHost::join_network(self, pan_id, channel, link_key).await
    }

    async fn add_link_key(&mut self, eui: Eui64, key: &[u8; 16]) -> Result<(), RadioError> {
        self.import_transient_key(eui, key).await
    }

    async fn permit_joining(&mut self, seconds: u8) -> Result<(), RadioError> {
        EzspHost::permit_joining(self, seconds).await
    }

    async fn send_unicast(&mut self, message: &ApsMessage) -> Result<u8, RadioError> {
        EzspHost::send_unicast(self, message).await
    }

    async fn next_event(&mut self, timeout: Duration) -> Result<Event, RadioError> {
        EzspHost::next_event(self, timeout).await
    }

    async fn start(&mut self) -> Result<String, RadioError> {
        self.journal.clear();
        self.reset().await?;
        self.negotiate().await
    }

    async fn eui64(&mut self) -> Result<Eui64, RadioError> {
        let p = self.command(frame_id::GET_EUI64, &[]).await?;
        let bytes: [u8; 8] = p
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| self.protocol("short getEui64 response"))?;
        Ok(Eui64(u64::from_le_bytes(bytes)))
    }

    async fn network_init(&mut self) -> Result<bool, RadioError> {
        let p = self.command(frame_id::NETWORK_INIT, &[0x00, 0x00]).await?;
        if !self.status_ok(&p) {
            return Ok(false);
        }
        let status = self
            .wait_callback(frame_id::STACK_STATUS_HANDLER, Duration::from_secs(10))
            .await?;
        Ok(self.network_up(&status))
    }

    async fn network_info(&mut self) -> Result<NetworkInfo, RadioError> {
        let p = self.command(frame_id::GET_NETWORK_PARAMETERS, &[]).await?;
        let s = self.status_len();
        if !self.status_ok(&p) || p.len() < s + 1 + 20 {
            return Err(self.protocol(format!("getNetworkParameters failed: {p:02x?}")));
        }
        let b = &p[s..];
        Ok(NetworkInfo {
            node_type: b[0],
            extended_pan_id: u64::from_le_bytes(b[1..9].try_into().unwrap_or_default()),
            pan_id: u16::from_le_bytes([b[9], b[10]]),
            channel: b[12],
        })
    }
}
