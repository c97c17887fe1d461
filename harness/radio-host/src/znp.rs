//! The ZNP host driver: TI Z-Stack 3 co-processors over MT, on a serial port or TCP. One
//! request at a time, each matched to its SRSP (or to the RPC error that refuses it);
//! asynchronous indications are queued apart. Z-Stack keeps its network in NV, so forming one
//! means writing the NV items and starting BDB formation, as zigpy-znp does.

use std::collections::VecDeque;
use std::time::Duration;

use hanrig_radio::mt::zdo::{DEV_END_DEVICE, DEV_ZB_COORD};
use hanrig_radio::mt::{self, Decoder, Frame, Header, Kind, af, app_cnf, nv, subsystem, sys, zdo};
use hanrig_sep::Eui64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::port::{FlowControl, Port, open};
use super::{ApsMessage, Event, FormParams, NetworkInfo, Radio, RadioError};

/// SYS_PING capability: APP_CNF (Z-Stack 3 BDB commissioning).
const CAP_APP_CNF: u16 = 0x0400;
/// AF_DATA_REQUEST option: APS security.
const AF_EN_SECURITY: u8 = 0x40;
/// The Smart Energy profile, registered on endpoint 1.
const PROFILE_SMART_ENERGY: u16 = 0x0109;
/// Clusters of the ESI's endpoint: Basic, Identify, Time, Key Establishment, Price, DRLC,
/// Metering, Messaging.
const ESI_CLUSTERS: [u16; 8] = [
    0x0000, 0x0003, 0x000A, 0x0800, 0x0700, 0x0701, 0x0702, 0x0703,
];
const SREQ_TIMEOUT: Duration = Duration::from_secs(6);
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A Z-Stack co-processor speaking MT.
#[derive(Debug)]
pub struct ZnpHost {
    name: String,
    port: Port,
    decoder: Decoder,
    responses: VecDeque<Frame>,
    indications: VecDeque<Frame>,
    endpoints: Vec<(u8, u16)>,
    transaction: u8,
}

impl ZnpHost {
    /// Opens `port` (`/dev/ttyACM0`, `socket://127.0.0.1:9999`).
    pub async fn open(port: &str, baud: u32, flow: FlowControl) -> Result<ZnpHost, RadioError> {
        Ok(ZnpHost::over(port, open(port, baud, flow).await?))
    }

    /// Opens the port again (after the device vanished and came back) and registers the
    /// endpoints again; the network itself is in the co-processor's NV.
    pub async fn reconnect(&mut self, baud: u32, flow: FlowControl) -> Result<String, RadioError> {
        self.port = open(&self.name, baud, flow).await?;
        self.decoder = Decoder::new();
        self.responses.clear();
        self.indications.clear();
        self.endpoints.clear();
        Radio::start(self).await
    }

    /// A host on a port already open (`name` names it in errors).
    pub fn over(name: &str, port: Port) -> ZnpHost {
        ZnpHost {
            name: name.to_string(),
            port,
            decoder: Decoder::new(),
            responses: VecDeque::new(),
            indications: VecDeque::new(),
            endpoints: Vec::new(),
            transaction: 0,
        }
    }

    fn io(&self, reason: impl std::fmt::Display) -> RadioError {
        RadioError::Io {
            port: self.name.clone(),
            reason: reason.to_string(),
        }
    }

    fn protocol(&self, what: impl Into<String>) -> RadioError {
        RadioError::Protocol {
            port: self.name.clone(),
            what: what.into(),
        }
    }

    fn timeout(&self, what: impl Into<String>, after: Duration) -> RadioError {
        RadioError::Timeout {
            port: self.name.clone(),
            what: what.into(),
            seconds: after.as_secs_f64(),
        }
    }

    async fn write(
        &mut self,
        kind: Kind,
        subsystem: u8,
        id: u8,
        data: &[u8],
    ) -> Result<(), RadioError> {
        let mut out = [0u8; mt::MAX_FRAME];
        let len = mt::encode(Header::new(kind, subsystem, id), data, &mut out)
            .map_err(|e| self.protocol(format!("cannot encode: {e:?}")))?;
        self.port.write_all(&out[..len]).await.map_err(|e| {
            use std::io::ErrorKind::*;
            match e.kind() {
                ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected => {
                    self.io(format!("the connection closed (device unplugged?): {e}"))
                }
                _ => self.io(e),
            }
        })
    }

    /// Reads what arrives for up to `wait`; frames go to the response or indication queue.
    async fn pump(&mut self, wait: Duration) -> Result<(), RadioError> {
        let mut buf = [0u8; 512];
        let n = match tokio::time::timeout(wait, self.port.read(&mut buf)).await {
            Err(_) => return Ok(()),
            Ok(Ok(0)) => return Err(self.io("the connection closed (device unplugged?)")),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(self.io(e)),
        };
        for &b in &buf[..n] {
            if let Some(Ok(frame)) = self.decoder.push(b) {
                match frame.header.kind {
                    Kind::Srsp => self.responses.push_back(frame),
                    _ => self.indications.push_back(frame),
                }
            }
        }
        Ok(())
    }

    /// Sends an SREQ and returns its SRSP's data; an RPC error is a clear refusal.
    pub async fn request(
        &mut self,
        subsystem: u8,
        id: u8,
        data: &[u8],
    ) -> Result<Vec<u8>, RadioError> {
        self.responses.clear();
        self.write(Kind::Sreq, subsystem, id, data).await?;
        let cmd0 = Header::new(Kind::Sreq, subsystem, id).cmd0();
        let deadline = Instant::now() + SREQ_TIMEOUT;
        loop {
            while let Some(frame) = self.responses.pop_front() {
                let h = frame.header;
                if h.subsystem == subsystem && h.id == id {
                    return Ok(frame.data.to_vec());
                }
                if h.subsystem == subsystem::RPC_ERROR && frame.data.get(1..3) == Some(&[cmd0, id])
                {
                    return Err(self.protocol(format!(
                        "MT command {cmd0:02x} {id:02x} refused (RPC error {})",
                        frame.data[0]
                    )));
                }
            }
            if Instant::now() > deadline {
                return Err(self.timeout(format!("MT command {cmd0:02x} {id:02x}"), SREQ_TIMEOUT));
            }
            self.pump(Duration::from_millis(20)).await?;
        }
    }

    /// Waits for the indication `subsystem`/`id` whose data `accept` takes.
    async fn indication(
        &mut self,
        subsystem: u8,
        id: u8,
        timeout: Duration,
        accept: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, RadioError> {
        let what = format!("MT indication {subsystem:02x} {id:02x}");
        self.indication_where(&what, timeout, |h, d| {
            h.subsystem == subsystem && h.id == id && accept(d)
        })
        .await
        .map(|(_, data)| data)
    }

    /// Waits for the first indication `accept` takes; returns its header and data.
    async fn indication_where(
        &mut self,
        what: &str,
        timeout: Duration,
        accept: impl Fn(&Header, &[u8]) -> bool,
    ) -> Result<(Header, Vec<u8>), RadioError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self
                .indications
                .iter()
                .position(|f| accept(&f.header, &f.data))
                && let Some(f) = self.indications.remove(i)
            {
                return Ok((f.header, f.data.to_vec()));
            }
            if Instant::now() > deadline {
                return Err(self.timeout(what, timeout));
            }
            self.pump(Duration::from_millis(20)).await?;
        }
    }

    fn status(&self, what: &str, data: &[u8]) -> Result<(), RadioError> {
        match data.first() {
            Some(0) => Ok(()),
            _ => Err(self.protocol(format!("{what} failed: {data:02x?}"))),
        }
    }

    /// Reads an OSAL NV item; `None` when it does not exist.
    pub async fn nv_read(&mut self, id: u16) -> Result<Option<Vec<u8>>, RadioError> {
        let len = self
            .request(subsystem::SYS, sys::OSAL_NV_LENGTH, &id.to_le_bytes())
            .await?;
        let len = usize::from(u16::from_le_bytes([
            *len.first().unwrap_or(&0),
            *len.get(1).unwrap_or(&0),
        ]));
        if len == 0 {
            return Ok(None);
        }
        let mut value = Vec::new();
        while value.len() < len {
            let mut p = id.to_le_bytes().to_vec();
            p.extend_from_slice(&(value.len() as u16).to_le_bytes());
            let r = self
                .request(subsystem::SYS, sys::OSAL_NV_READ_EXT, &p)
                .await?;
            self.status(&format!("reading NV item 0x{id:04x}"), &r)?;
            let chunk = r.get(2..).unwrap_or_default();
            if chunk.is_empty() {
                return Err(self.protocol(format!("NV item 0x{id:04x}: empty read")));
            }
            value.extend_from_slice(chunk);
        }
        Ok(Some(value))
    }

    /// Writes an OSAL NV item, creating it when it does not exist.
    pub async fn nv_write(&mut self, id: u16, value: &[u8]) -> Result<(), RadioError> {
        let len = self
            .request(subsystem::SYS, sys::OSAL_NV_LENGTH, &id.to_le_bytes())
            .await?;
        if len.get(..2) == Some(&[0, 0]) {
            let mut p = id.to_le_bytes().to_vec();
            p.extend_from_slice(&(value.len() as u16).to_le_bytes());
            p.push(value.len() as u8);
            p.extend_from_slice(value);
            let r = self
                .request(subsystem::SYS, sys::OSAL_NV_ITEM_INIT, &p)
                .await?;
            // 0x09: created with the value given.
            if r.first() != Some(&0x09) && r.first() != Some(&0x00) {
                return Err(self.protocol(format!("creating NV item 0x{id:04x} failed: {r:02x?}")));
            }
            return Ok(());
        }
        let mut p = id.to_le_bytes().to_vec();
        p.extend_from_slice(&0u16.to_le_bytes());
        p.extend_from_slice(&(value.len() as u16).to_le_bytes());
        p.extend_from_slice(value);
        let r = self
            .request(subsystem::SYS, sys::OSAL_NV_WRITE_EXT, &p)
            .await?;
        self.status(&format!("writing NV item 0x{id:04x}"), &r)
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
        p.extend_from_slice(&[0, 0]); // device version, latency
        for _ in 0..2 {
            p.push(clusters.len() as u8);
            for c in clusters {
                p.extend_from_slice(&c.to_le_bytes());
            }
        }
        let r = self.request(subsystem::AF, af::REGISTER, &p).await?;
        self.status(&format!("registering endpoint {endpoint}"), &r)?;
        self.endpoints.retain(|(e, _)| *e != endpoint);
        self.endpoints.push((endpoint, profile));
        Ok(())
    }

    /// SYS_RESET_REQ (soft), then SYS_RESET_IND.
    async fn reset(&mut self) -> Result<(), RadioError> {
        self.indications.clear();
        self.write(Kind::Areq, subsystem::SYS, sys::RESET_REQ, &[1])
            .await?;
        self.indication(subsystem::SYS, sys::RESET_IND, START_TIMEOUT, |_| true)
            .await
            .map(|_| ())
    }

    /// BDB formation (which restores a network the co-processor already holds), until the
    /// co-processor says it started as coordinator.
    async fn commission(&mut self) -> Result<(), RadioError> {
        let r = self
            .request(
                subsystem::APP_CNF,
                app_cnf::BDB_START_COMMISSIONING,
                &[0x04],
            )
            .await?;
        self.status("BDB commissioning", &r)?;
        self.indication(subsystem::ZDO, zdo::STATE_CHANGE_IND, START_TIMEOUT, |d| {
            d.first() == Some(&DEV_ZB_COORD)
        })
        .await
        .map(|_| ())
    }
}

impl Radio for ZnpHost {
    async fn start(&mut self) -> Result<String, RadioError> {
        let caps = self.request(subsystem::SYS, sys::PING, &[]).await?;
        let caps = u16::from_le_bytes([*caps.first().unwrap_or(&0), *caps.get(1).unwrap_or(&0)]);
        if caps & CAP_APP_CNF == 0 {
            return Err(self.protocol(format!(
                "capabilities 0x{caps:04x}: Z-Stack 1.2 (no BDB commissioning) is not supported"
            )));
        }
        let v = self.request(subsystem::SYS, sys::VERSION, &[]).await?;
        let [transport, product, major, minor, maint, ..] = v[..] else {
            return Err(self.protocol(format!("short SYS_VERSION answer: {v:02x?}")));
        };
        let revision = v
            .get(5..9)
            .map(|r| u32::from_le_bytes(r.try_into().unwrap_or_default()))
            .unwrap_or(0);
        self.register_endpoint(1, PROFILE_SMART_ENERGY, 0x0500, &ESI_CLUSTERS)
            .await?;
        Ok(format!(
            "Z-Stack {major}.{minor}.{maint} (revision {revision}, product {product}, MT transport {transport})"
        ))
    }

    async fn eui64(&mut self) -> Result<Eui64, RadioError> {
        let r = self.request(subsystem::SYS, sys::GET_EXTADDR, &[]).await?;
        let bytes: [u8; 8] = r
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| self.protocol("short SYS_GET_EXTADDR answer"))?;
        Ok(Eui64(u64::from_le_bytes(bytes)))
    }

    async fn network_init(&mut self) -> Result<bool, RadioError> {
        if self.nv_read(nv::BDBNODEISONANETWORK).await?.as_deref() != Some(&[1]) {
            return Ok(false);
        }
        self.commission().await?;
        Ok(true)
    }

    async fn network_info(&mut self) -> Result<NetworkInfo, RadioError> {
        let nib = self
            .nv_read(nv::NIB)
            .await?
            .ok_or_else(|| self.protocol("no NIB: the co-processor holds no network"))?;
        // Z-Stack 3.30 (aligned) layout; 3.0 on a CC2531 packs it into 110 bytes.
        let (channel, pan, epid) = match nib.len() {
            116 => (24, 36, 57),
            110 => (22, 33, 53),
            n => return Err(self.protocol(format!("a NIB of {n} bytes is neither Z-Stack layout"))),
        };
        let logical = self.nv_read(nv::LOGICAL_TYPE).await?.unwrap_or_default();
        Ok(NetworkInfo {
            // Z-Stack's logical type 0/1/2 as the EmberNodeType 1/2/3 the trait reports.
            node_type: logical.first().map_or(0, |t| t + 1),
            extended_pan_id: u64::from_le_bytes(nib[epid..epid + 8].try_into().unwrap_or_default()),
            pan_id: u16::from_le_bytes([nib[pan], nib[pan + 1]]),
            channel: nib[channel],
        })
    }

    async fn form_network(&mut self, form: &FormParams) -> Result<(), RadioError> {
        if form.global_link_key.is_some() {
            return Err(self.protocol(
                "the ZNP driver forms install-code (Smart Energy) networks only, not ones with a global link key",
            ));
        }
        if !(11..=26).contains(&form.channel) {
            return Err(self.protocol(format!(
                "channel {} is not a 2.4 GHz channel (11–26)",
                form.channel
            )));
        }
        let mask = (1u32 << form.channel).to_le_bytes();
        let epid = form.extended_pan_id.to_le_bytes();
        for (id, value) in [
            (nv::LOGICAL_TYPE, &[0u8][..]),
            (nv::PANID, &form.pan_id.to_le_bytes()[..]),
            (nv::CHANLIST, &mask[..]),
            (nv::EXTENDED_PAN_ID, &epid[..]),
            (nv::APS_USE_EXT_PANID, &epid[..]),
            (nv::PRECFGKEY, &form.network_key[..]),
            // Clear the old network at the next reset.
            (nv::STARTUP_OPTION, &[0x02][..]),
        ] {
            self.nv_write(id, value).await?;
        }
        self.reset().await?;
        let mut p = vec![1]; // primary channel set
        p.extend_from_slice(&mask);
        let r = self
            .request(subsystem::APP_CNF, app_cnf::BDB_SET_CHANNEL, &p)
            .await?;
        self.status("BDB set channel", &r)?;
        // Endpoints are RAM state: register again after the reset.
        self.register_endpoint(1, PROFILE_SMART_ENERGY, 0x0500, &ESI_CLUSTERS)
            .await?;
        self.commission().await
    }

    async fn join_network(
        &mut self,
        pan_id: u16,
        channel: u8,
        link_key: &[u8; 16],
    ) -> Result<(), RadioError> {
        if !(11..=26).contains(&channel) {
            return Err(self.protocol(format!(
                "channel {channel} is not a 2.4 GHz channel (11–26)"
            )));
        }
        let eui = Radio::eui64(self).await?;
        let mask = (1u32 << channel).to_le_bytes();
        for (id, value) in [
            (nv::LOGICAL_TYPE, &[2u8][..]), // end device
            (nv::PANID, &pan_id.to_le_bytes()[..]),
            (nv::CHANLIST, &mask[..]),
            (nv::STARTUP_OPTION, &[0x02][..]),
        ] {
            self.nv_write(id, value).await?;
        }
        self.reset().await?;
        let mut p = vec![1];
        p.extend_from_slice(&mask);
        let r = self
            .request(subsystem::APP_CNF, app_cnf::BDB_SET_CHANNEL, &p)
            .await?;
        self.status("BDB set channel", &r)?;
        // Join with the key from our own install code.
        let r = self
            .request(
                subsystem::APP_CNF,
                app_cnf::BDB_SET_JOINUSESINSTALLCODEKEY,
                &[1],
            )
            .await?;
        self.status("BDB join uses install code key", &r)?;
        self.add_link_key(eui, link_key).await?;
        self.register_endpoint(1, PROFILE_SMART_ENERGY, 0x0507, &ESI_CLUSTERS)
            .await?;
        // Network steering; then either the device state or a failed notification.
        let r = self
            .request(
                subsystem::APP_CNF,
                app_cnf::BDB_START_COMMISSIONING,
                &[0x02],
            )
            .await?;
        self.status("BDB network steering", &r)?;
        let (header, data) = self
            .indication_where("joining", START_TIMEOUT, |h, d| {
                (h.subsystem == subsystem::ZDO
                    && h.id == zdo::STATE_CHANGE_IND
                    && d.first() == Some(&DEV_END_DEVICE))
                    || (h.subsystem == subsystem::APP_CNF
                        && h.id == app_cnf::BDB_COMMISSIONING_NOTIFICATION
                        && d.first() != Some(&0))
            })
            .await?;
        if header.subsystem == subsystem::ZDO {
            return Ok(());
        }
        Err(self.protocol(format!(
            "joining PAN 0x{pan_id:04x} on channel {channel} failed (commissioning status {:02x?})",
            data.first()
        )))
    }

    async fn add_link_key(&mut self, eui: Eui64, key: &[u8; 16]) -> Result<(), RadioError> {
        // Format 2: the key already derived from the install code.
        let mut p = vec![2];
        p.extend_from_slice(&eui.to_le_bytes());
        p.extend_from_slice(key);
        let r = self
            .request(subsystem::APP_CNF, app_cnf::BDB_ADD_INSTALLCODE, &p)
            .await?;
        self.status(&format!("loading the install-code key of {eui}"), &r)
    }

    async fn permit_joining(&mut self, seconds: u8) -> Result<(), RadioError> {
        // To the coordinator itself (address mode 2, 0x0000), trust-centre significance.
        let r = self
            .request(
                subsystem::ZDO,
                zdo::MGMT_PERMIT_JOIN_REQ,
                &[0x02, 0x00, 0x00, seconds, 0x01],
            )
            .await?;
        self.status("permit join", &r)?;
        let rsp = self
            .indication(
                subsystem::ZDO,
                zdo::MGMT_PERMIT_JOIN_RSP,
                SREQ_TIMEOUT,
                |_| true,
            )
            .await?;
        match rsp.get(2) {
            Some(0) => Ok(()),
            _ => Err(self.protocol(format!("permit join refused: {rsp:02x?}"))),
        }
    }

    async fn send_unicast(&mut self, message: &ApsMessage) -> Result<u8, RadioError> {
        let len = u8::try_from(message.payload.len())
            .map_err(|_| self.protocol("message over 255 bytes"))?;
        self.transaction = self.transaction.wrapping_add(1);
        let transaction = self.transaction;
        let mut p = message.node.to_le_bytes().to_vec();
        p.extend_from_slice(&[message.destination_endpoint, message.source_endpoint]);
        p.extend_from_slice(&message.cluster.to_le_bytes());
        let options = if message.aps_encryption {
            AF_EN_SECURITY
        } else {
            0
        };
        p.extend_from_slice(&[transaction, options, 30, len]);
        p.extend_from_slice(&message.payload);
        let r = self.request(subsystem::AF, af::DATA_REQUEST, &p).await?;
        self.status(&format!("AF data request to 0x{:04x}", message.node), &r)?;
        let confirm = self
            .indication(subsystem::AF, af::DATA_CONFIRM, SREQ_TIMEOUT, |d| {
                d.get(2) == Some(&transaction)
            })
            .await?;
        match confirm.first() {
            Some(0) => Ok(transaction),
            _ => Err(self.protocol(format!(
                "delivery to 0x{:04x} failed: AF_DATA_CONFIRM {confirm:02x?}",
                message.node
            ))),
        }
    }

    async fn next_event(&mut self, timeout: Duration) -> Result<Event, RadioError> {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(frame) = self.indications.pop_front() {
                let d = &frame.data;
                let u16_at = |i: usize| Some(u16::from_le_bytes([*d.get(i)?, *d.get(i + 1)?]));
                match (frame.header.subsystem, frame.header.id) {
                    // ZDO_TC_DEV_IND: short, IEEE, parent.
                    (subsystem::ZDO, zdo::TC_DEV_IND) => {
                        if let (Some(short), Some(eui)) = (u16_at(0), d.get(2..10)) {
                            let eui = Eui64(u64::from_le_bytes(eui.try_into().unwrap_or_default()));
                            return Ok(Event::Joined { short, eui });
                        }
                    }
                    // AF_INCOMING_MSG: group, cluster, source, endpoints, broadcast, LQI,
                    // security, timestamp, sequence, LV data, MAC source, radius.
                    (subsystem::AF, af::INCOMING_MSG) => {
                        let (Some(cluster), Some(source)) = (u16_at(2), u16_at(4)) else {
                            continue;
                        };
                        let len = usize::from(*d.get(16).unwrap_or(&0));
                        let Some(payload) = d.get(17..17 + len) else {
                            continue;
                        };
                        let destination_endpoint = d[7];
                        let profile = self
                            .endpoints
                            .iter()
                            .find(|(e, _)| *e == destination_endpoint)
                            .map_or(0, |(_, p)| *p);
                        return Ok(Event::Incoming(ApsMessage {
                            node: source,
                            profile,
                            cluster,
                            source_endpoint: d[6],
                            destination_endpoint,
                            aps_encryption: d[10] != 0,
                            payload: payload.to_vec(),
                        }));
                    }
                    _ => {}
                }
            }
            if Instant::now() > deadline {
                return Err(self.timeout("a network event", timeout));
            }
            self.pump(Duration::from_millis(20)).await?;
        }
    }
}
