//! The EZSP host driver: ASH over a serial port or TCP, version negotiation, commands matched
//! to responses by sequence number, callbacks queued apart.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

pub use hanrig_radio::ezsp::CONFIG_MAX_END_DEVICE_CHILDREN;
use hanrig_radio::ezsp::command::{
    AddEndpoint, Callback, Command, CustomFrame, FormNetwork, GetEui64, GetNetworkParameters,
    ImportTransientKey, IncomingMessageHandler, JoinNetwork, LeaveNetwork, MessageSentHandler,
    NetworkInit, PermitJoining, SendUnicast, SetConfigurationValue, SetInitialSecurityState,
    StackStatusHandler, TrustCenterJoinHandler, Version, VersionReply, emit, parse,
};
use hanrig_radio::ezsp::command::{
    CalculateSmacs, CalculateSmacsHandler, ClearTemporaryDataMaybeStoreLinkKey,
    ExportLinkKeyByIndex, FindKeyTableEntry, GenerateCbkeKeys, GenerateCbkeKeysHandler,
    GetCertificate, GetLibraryStatus, LIBRARY_CBKE, LIBRARY_ECC, LIBRARY_PRESENT,
    SetPreinstalledCbkeData,
};
use hanrig_radio::ezsp::wire::{
    ApsFrame, ClusterLists, InitialSecurityState, Lv, NetworkParameters, SlStatus, Status, Tag,
    Wire,
};
use hanrig_radio::ezsp::wire::{CertificateData, PrivateKeyData, PublicKeyData};
use hanrig_radio::ezsp::{
    APS_OPTION_ENCRYPTION, FC_HI_V8, Format, HAVE_NETWORK_KEY, HAVE_PRECONFIGURED_KEY, Header,
    REQUIRE_ENCRYPTED_KEY, TC_GLOBAL_LINK_KEY, status,
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

pub use hanrig_sep::install_code::ZIGBEE_ALLIANCE_09;

/// The newest EZSP version the driver asks for.
pub const DESIRED_VERSION: u8 = 14;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
const RESET_TIMEOUT: Duration = Duration::from_secs(8);
/// How long the chip may take for one CBKE computation (EmberZNet advertises 4 s and 6 s).
const CBKE_TIMEOUT: Duration = Duration::from_secs(30);

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

    /// The port's name, as errors give it.
    pub fn name(&self) -> &str {
        &self.name
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

    /// Sends `request` with the layouts shared with the simulated co-processor
    /// ([`hanrig_radio::ezsp::command`]) and reads its response the same way.
    pub async fn call<C: Command>(&mut self, request: &C) -> Result<C::Reply, RadioError> {
        let params = self.encode(request)?;
        let p = self.command(C::ID, &params).await?;
        self.decode(C::NAME, &p)
    }

    fn encode<T: Wire>(&self, value: &T) -> Result<Vec<u8>, RadioError> {
        let mut buf = [0u8; 512];
        let len = emit(self.version, value, &mut buf)
            .map_err(|e| self.protocol(format!("cannot write parameters: {e:?}")))?;
        Ok(buf[..len].to_vec())
    }

    fn decode<T: Wire>(&self, what: &str, params: &[u8]) -> Result<T, RadioError> {
        parse(self.version, params)
            .map_err(|e| self.protocol(format!("{what} {params:02x?} does not read: {e:?}")))
    }

    /// Waits for the stack's next status; whether it is NETWORK_UP.
    async fn wait_network_up(&mut self) -> Result<(bool, Status), RadioError> {
        let p = self
            .wait_callback(StackStatusHandler::ID, Duration::from_secs(10))
            .await?;
        let status: StackStatusHandler = self.decode(StackStatusHandler::NAME, &p)?;
        let (ember, sl) = status::NETWORK_UP;
        Ok((
            status.status == Status::of(self.version, ember, sl),
            status.status,
        ))
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
        if self.version < 13 {
            // v5–v12: addTransientLinkKey (EUI64, key), answered with an EmberStatus.
            let mut params = eui.to_le_bytes().to_vec();
            params.extend_from_slice(key);
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
        let request = ImportTransientKey {
            eui64: eui.0,
            key: *key,
            flags: 0,
        };
        let reply = self.call(&request).await?;
        if reply.status != SlStatus::OK {
            return Err(self.protocol(format!(
                "importTransientKey for {eui} refused: sl_status 0x{:04x}",
                reply.status.0
            )));
        }
        Ok(())
    }

    /// Whether the co-processor's firmware has the CBKE and sect163k1 ECC libraries
    /// (getLibraryStatus): without them it cannot take part in Key Establishment.
    pub async fn cbke_library(&mut self) -> Result<bool, RadioError> {
        let mut present = true;
        for library in [LIBRARY_CBKE, LIBRARY_ECC] {
            let reply = self
                .call(&GetLibraryStatus {
                    library_id: library,
                })
                .await?;
            present &= reply.status != 0xFF && reply.status & LIBRARY_PRESENT != 0;
        }
        Ok(present)
    }

    /// The co-processor's implicit certificate (getCertificate).
    pub async fn cbke_certificate(&mut self) -> Result<[u8; 48], RadioError> {
        let reply = self.call(&GetCertificate {}).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "getCertificate refused (status 0x{:x}): the co-processor holds no CBKE certificate",
                reply.status.0
            )));
        }
        Ok(reply.local_cert.0)
    }

    /// Writes the CA's public key, the certificate and its private key into the chip's
    /// manufacturing tokens (setPreinstalledCbkeData; once per chip).
    pub async fn set_preinstalled_cbke_data(
        &mut self,
        ca_public: &[u8; 22],
        certificate: &[u8; 48],
        private_key: &[u8; 21],
    ) -> Result<(), RadioError> {
        let reply = self
            .call(&SetPreinstalledCbkeData {
                ca_public: PublicKeyData(*ca_public),
                my_cert: CertificateData(*certificate),
                my_key: PrivateKeyData(*private_key),
            })
            .await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "setPreinstalledCbkeData refused (status 0x{:x}): the data do not belong \
                 together, or the chip holds CBKE data already",
                reply.status.0
            )));
        }
        Ok(())
    }

    /// A new ephemeral key pair on the chip (generateCbkeKeys and its handler); its public key.
    pub async fn generate_cbke_keys(&mut self) -> Result<[u8; 22], RadioError> {
        let reply = self.call(&GenerateCbkeKeys {}).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "generateCbkeKeys refused: status 0x{:x}",
                reply.status.0
            )));
        }
        let p = self
            .wait_callback(GenerateCbkeKeysHandler::ID, CBKE_TIMEOUT)
            .await?;
        let handler: GenerateCbkeKeysHandler = self.decode(GenerateCbkeKeysHandler::NAME, &p)?;
        if !handler.status.is_ok() {
            return Err(self.protocol(format!(
                "generateCbkeKeysHandler: status 0x{:x}",
                handler.status.0
            )));
        }
        Ok(handler.ephemeral_public_key.0)
    }

    /// Both key-confirmation MACs from the chip (calculateSmacs and its handler), MACU then
    /// MACV; `Ok(None)` when the chip refuses the partner's data (a certificate that does not
    /// reconstruct, a point off the curve).
    pub async fn calculate_smacs(
        &mut self,
        am_initiator: bool,
        partner_certificate: &[u8; 48],
        partner_ephemeral: &[u8; 22],
    ) -> Result<Option<([u8; 16], [u8; 16])>, RadioError> {
        let request = CalculateSmacs {
            am_initiator,
            partner_certificate: CertificateData(*partner_certificate),
            partner_ephemeral_public_key: PublicKeyData(*partner_ephemeral),
        };
        let reply = self.call(&request).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "calculateSmacs refused: status 0x{:x}",
                reply.status.0
            )));
        }
        let p = self
            .wait_callback(CalculateSmacsHandler::ID, CBKE_TIMEOUT)
            .await?;
        let handler: CalculateSmacsHandler = self.decode(CalculateSmacsHandler::NAME, &p)?;
        Ok(handler
            .status
            .is_ok()
            .then_some((handler.initiator_smac, handler.responder_smac)))
    }

    /// Ends the chip's exchange (clearTemporaryDataMaybeStoreLinkKey): with `store`, KeyData
    /// becomes its link key with the partner.
    pub async fn finish_cbke(&mut self, store: bool) -> Result<(), RadioError> {
        let reply = self
            .call(&ClearTemporaryDataMaybeStoreLinkKey {
                store_link_key: store,
            })
            .await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "clearTemporaryDataMaybeStoreLinkKey refused: status 0x{:x}",
                reply.status.0
            )));
        }
        Ok(())
    }

    /// The link key the co-processor's key table holds for `eui` (findKeyTableEntry and
    /// exportLinkKeyByIndex), if any.
    pub async fn link_key_of(&mut self, eui: Eui64) -> Result<Option<[u8; 16]>, RadioError> {
        let found = self
            .call(&FindKeyTableEntry {
                address: eui.0,
                link_key: true,
            })
            .await?;
        if found.index == 0xFF {
            return Ok(None);
        }
        let entry = self
            .call(&ExportLinkKeyByIndex { index: found.index })
            .await?;
        Ok((entry.status == SlStatus::OK).then_some(entry.key))
    }

    /// Registers an endpoint for `profile` with the given clusters (in and out).
    pub async fn register_endpoint(
        &mut self,
        endpoint: u8,
        profile: u16,
        device_id: u16,
        clusters: &[u16],
    ) -> Result<(), RadioError> {
        let mut lists = ClusterLists::default();
        for &c in clusters {
            if lists.input.push(c).is_err() || lists.output.push(c).is_err() {
                return Err(self.protocol("too many clusters"));
            }
        }
        let request = AddEndpoint {
            endpoint,
            profile,
            device_id,
            device_version: 0,
            clusters: lists,
        };
        let reply = self.call(&request).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "addEndpoint {endpoint} refused: status 0x{:x}",
                reply.status.0
            )));
        }
        Ok(())
    }

    /// Sets a configuration value (before forming the network).
    pub async fn set_configuration_value(&mut self, id: u8, value: u16) -> Result<(), RadioError> {
        let reply = self
            .call(&SetConfigurationValue {
                config_id: id,
                value,
            })
            .await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "setConfigurationValue 0x{id:02x} = {value} refused: status 0x{:x}",
                reply.status.0
            )));
        }
        Ok(())
    }

    /// The security state and network parameters of a network on `pan_id` and `channel`.
    fn parameters(
        extended_pan_id: u64,
        pan_id: u16,
        tx_power: i8,
        channel: u8,
    ) -> NetworkParameters {
        NetworkParameters {
            extended_pan_id,
            pan_id,
            radio_tx_power: tx_power as u8,
            radio_channel: channel,
            join_method: 0, // MAC association
            nwk_manager_id: 0x0000,
            nwk_update_id: 0,
            channels: 1u32 << channel.min(31),
        }
    }

    async fn set_initial_security_state(
        &mut self,
        state: InitialSecurityState,
    ) -> Result<(), RadioError> {
        let reply = self.call(&SetInitialSecurityState { state }).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "setInitialSecurityState refused: status 0x{:x}",
                reply.status.0
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
        self.set_initial_security_state(InitialSecurityState {
            bitmask,
            preconfigured_key: form.global_link_key.unwrap_or([0; 16]),
            network_key: form.network_key,
            network_key_sequence: 0,
            trust_center_eui64: 0, // ourselves
        })
        .await?;
        if !(11..=26).contains(&form.channel) {
            return Err(self.protocol(format!(
                "channel {} is not a 2.4 GHz channel (11–26)",
                form.channel
            )));
        }
        let parameters = Self::parameters(
            form.extended_pan_id,
            form.pan_id,
            form.tx_power,
            form.channel,
        );
        let reply = self.call(&FormNetwork { parameters }).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "formNetwork refused: status 0x{:x}",
                reply.status.0
            )));
        }
        let (up, status) = self.wait_network_up().await?;
        if !up {
            return Err(self.protocol(format!(
                "the network did not come up (stack status 0x{:x})",
                status.0
            )));
        }
        Ok(())
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
        self.set_initial_security_state(InitialSecurityState {
            bitmask: HAVE_PRECONFIGURED_KEY | REQUIRE_ENCRYPTED_KEY,
            preconfigured_key: *link_key,
            network_key: [0; 16],
            network_key_sequence: 0,
            trust_center_eui64: 0,
        })
        .await?;
        let request = JoinNetwork {
            node_type: 3, // EMBER_END_DEVICE
            // Any extended PAN ID.
            parameters: Self::parameters(0, pan_id, 8, channel),
        };
        let reply = self.call(&request).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "joinNetwork refused: status 0x{:x}",
                reply.status.0
            )));
        }
        let (up, status) = self.wait_network_up().await?;
        if !up {
            return Err(self.protocol(format!(
                "joining PAN 0x{pan_id:04x} on channel {channel} failed (stack status 0x{:x})",
                status.0
            )));
        }
        Ok(())
    }

    /// Leaves the network (from v14 with an options byte: none); waits for the stack to report
    /// it down.
    pub async fn leave_network(&mut self) -> Result<(), RadioError> {
        let reply = self.call(&LeaveNetwork { options: 0 }).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "leaveNetwork refused: status 0x{:x}",
                reply.status.0
            )));
        }
        self.journal
            .retain(|(id, _)| *id != frame_id::NETWORK_INIT && *id != frame_id::PERMIT_JOINING);
        self.wait_network_up().await.map(|_| ())
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
        let heard = self.callbacks_heard;
        let request = CustomFrame {
            payload: Lv::from_slice(&payload)
                .map_err(|_| self.protocol("clock request too long"))?,
        };
        let reply = self.call(&request).await?;
        if !reply.status.is_ok() {
            return Ok(None);
        }
        let reply = Some(&reply.reply[..])
            .filter(|r| r.len() >= 10)
            .ok_or_else(|| {
                self.protocol(format!("short virtual clock reply: {:02x?}", reply.reply))
            })?;
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
        let reply = self.call(&PermitJoining { duration: seconds }).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "permitJoining refused: status 0x{:x}",
                reply.status.0
            )));
        }
        Ok(())
    }

    /// Sends `message` directly to `message.node`; returns the APS counter used.
    pub async fn send_unicast(&mut self, message: &ApsMessage) -> Result<u8, RadioError> {
        let payload = Lv::from_slice(&message.payload)
            .map_err(|_| self.protocol("message over 255 bytes"))?;
        // One byte before v14, two from v14.
        self.tag = self.tag.wrapping_add(1);
        let tag = Tag(u16::from(self.tag));
        let request = SendUnicast {
            message_type: 0x00, // EMBER_OUTGOING_DIRECT
            destination: message.node,
            aps_frame: ApsFrame {
                profile: message.profile,
                cluster: message.cluster,
                source_endpoint: message.source_endpoint,
                destination_endpoint: message.destination_endpoint,
                options: if message.aps_encryption {
                    APS_OPTION_ENCRYPTION
                } else {
                    0
                },
                group: 0,
                sequence: 0, // assigned by the stack
            },
            tag,
            message: payload,
        };
        let reply = self.call(&request).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "sendUnicast to 0x{:04x} refused: status 0x{:x}",
                message.node, reply.status.0
            )));
        }
        // Delivery: the messageSentHandler for this tag.
        let version = self.version;
        let sent = self
            .wait_callback_where(MessageSentHandler::ID, COMMAND_TIMEOUT, |p| {
                parse::<MessageSentHandler>(version, p).is_ok_and(|m| m.tag == tag)
            })
            .await?;
        let sent: MessageSentHandler = self.decode(MessageSentHandler::NAME, &sent)?;
        if !sent.status.is_ok() {
            return Err(self.protocol(format!(
                "message to 0x{:04x} not delivered: messageSentHandler status 0x{:x}",
                message.node, sent.status.0
            )));
        }
        Ok(reply.sequence)
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
        if id == TrustCenterJoinHandler::ID {
            let joined: TrustCenterJoinHandler = parse(self.version, p).ok()?;
            return Some(Event::Joined {
                short: joined.new_node_id,
                eui: Eui64(joined.new_node_eui64),
            });
        }
        let m: IncomingMessageHandler = parse(self.version, p).ok()?;
        Some(Event::Incoming(ApsMessage {
            node: m.sender,
            profile: m.aps_frame.profile,
            cluster: m.aps_frame.cluster,
            source_endpoint: m.aps_frame.source_endpoint,
            destination_endpoint: m.aps_frame.destination_endpoint,
            aps_encryption: m.aps_frame.options & APS_OPTION_ENCRYPTION != 0,
            payload: m.message.to_vec(),
        }))
    }

    /// Version negotiation: `version` in the legacy form, then, for v8 and later, again in the
    /// extended form with the version the driver wants.
    async fn negotiate(&mut self) -> Result<String, RadioError> {
        self.format = Format::Legacy;
        let legacy = self.command_once(Version::ID, &[4]).await?;
        let reply: VersionReply = self.decode(Version::NAME, &legacy)?;
        let mut version = reply.protocol;
        let mut stack = reply.stack_version;
        if version >= 8 {
            let desired = version.min(DESIRED_VERSION);
            self.format = Format::Extended;
            self.version = desired;
            let extended = self.command_once(Version::ID, &[desired]).await?;
            let reply: VersionReply = self.decode(Version::NAME, &extended)?;
            let v = reply.protocol;
            if v != desired {
                return Err(self.protocol(format!(
                    "asked for EZSP v{desired}, the co-processor speaks v{v}"
                )));
            }
            version = v;
            stack = reply.stack_version;
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
        Ok(Eui64(self.call(&GetEui64 {}).await?.eui64))
    }

    async fn network_init(&mut self) -> Result<bool, RadioError> {
        let reply = self.call(&NetworkInit { bitmask: 0 }).await?;
        if !reply.status.is_ok() {
            return Ok(false);
        }
        Ok(self.wait_network_up().await?.0)
    }

    async fn network_info(&mut self) -> Result<NetworkInfo, RadioError> {
        let reply = self.call(&GetNetworkParameters {}).await?;
        if !reply.status.is_ok() {
            return Err(self.protocol(format!(
                "getNetworkParameters failed: status 0x{:x}",
                reply.status.0
            )));
        }
        Ok(NetworkInfo {
            node_type: reply.node_type,
            extended_pan_id: reply.parameters.extended_pan_id,
            pan_id: reply.parameters.pan_id,
            channel: reply.parameters.radio_channel,
        })
    }
}
