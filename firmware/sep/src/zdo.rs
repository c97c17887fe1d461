//! The ZigBee Device Profile (profile 0x0000, endpoint 0) as a node serves it: the descriptor
//! requests an application such as zigpy or zigbee-herdsman sends to interview a device —
//! Node_Desc_req, Active_EP_req, Simple_Desc_req — and their responses (ZigBee specification
//! 05-3474 §2.4.3–2.4.4; layouts as zigpy's `zigpy/zdo/types.py` and Wireshark's
//! `packet-zbee-zdp` read them). One [`ZdoNode::answer`] serves both the simulated devices
//! and the simulated co-processors' own endpoints.

use crate::mac::Eui64;

/// ZDO cluster IDs (a response is its request's ID with bit 15 set).
pub mod cluster {
    /// Node_Desc_req.
    pub const NODE_DESC_REQ: u16 = 0x0002;
    /// Simple_Desc_req.
    pub const SIMPLE_DESC_REQ: u16 = 0x0004;
    /// Active_EP_req.
    pub const ACTIVE_EP_REQ: u16 = 0x0005;
    /// Device_annce.
    pub const DEVICE_ANNCE: u16 = 0x0013;
    /// Mgmt_Permit_Joining_req.
    pub const MGMT_PERMIT_JOINING_REQ: u16 = 0x0036;
    /// The response bit.
    pub const RESPONSE: u16 = 0x8000;
}

/// ZDP status codes.
pub mod status {
    /// SUCCESS.
    pub const SUCCESS: u8 = 0x00;
    /// DEVICE_NOT_FOUND: the NWK address of interest is not this node's.
    pub const DEVICE_NOT_FOUND: u8 = 0x81;
    /// INVALID_EP.
    pub const INVALID_EP: u8 = 0x82;
    /// NOT_ACTIVE: the endpoint is not described.
    pub const NOT_ACTIVE: u8 = 0x83;
    /// NOT_SUPPORTED: a request the node does not serve.
    pub const NOT_SUPPORTED: u8 = 0x84;
}

/// Logical types in the node descriptor.
pub mod logical_type {
    /// Coordinator.
    pub const COORDINATOR: u8 = 0;
    /// Router.
    pub const ROUTER: u8 = 1;
    /// End device.
    pub const END_DEVICE: u8 = 2;
}

/// The node descriptor (§2.3.2.3): thirteen bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NodeDescriptor {
    /// Logical type ([`logical_type`]).
    pub logical_type: u8,
    /// MAC capability flags (0x80 allocate address, 0x08 receiver on when idle, 0x04 mains
    /// powered, 0x02 full-function device, 0x01 alternate PAN coordinator).
    pub mac_capabilities: u8,
    /// Manufacturer code.
    pub manufacturer_code: u16,
    /// Maximum NSDU size.
    pub max_buffer_size: u8,
    /// Maximum incoming transfer size.
    pub max_incoming_transfer: u16,
    /// Server mask (bit 0 primary trust centre; bits 9–15 the stack compliance revision).
    pub server_mask: u16,
    /// Maximum outgoing transfer size.
    pub max_outgoing_transfer: u16,
    /// Descriptor capability field.
    pub descriptor_capabilities: u8,
}

impl NodeDescriptor {
    /// Wire length.
    pub const LEN: usize = 13;

    /// The thirteen bytes: the frequency band is 2.4 GHz (band bit 3).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.logical_type & 0x07;
        b[1] = 0x08 << 3;
        b[2] = self.mac_capabilities;
        b[3..5].copy_from_slice(&self.manufacturer_code.to_le_bytes());
        b[5] = self.max_buffer_size;
        b[6..8].copy_from_slice(&self.max_incoming_transfer.to_le_bytes());
        b[8..10].copy_from_slice(&self.server_mask.to_le_bytes());
        b[10..12].copy_from_slice(&self.max_outgoing_transfer.to_le_bytes());
        b[12] = self.descriptor_capabilities;
        b
    }
}

/// A simple descriptor (§2.3.2.5): one endpoint's profile, device and clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SimpleDescriptor {
    /// Endpoint (1–240).
    pub endpoint: u8,
    /// Application profile.
    pub profile: u16,
    /// Device ID.
    pub device_id: u16,
    /// Device version (low four bits).
    pub device_version: u8,
    /// Server (input) clusters.
    pub input: heapless::Vec<u16, 16>,
    /// Client (output) clusters.
    pub output: heapless::Vec<u16, 16>,
}

/// Why a ZDO frame could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ZdoError {
    /// The request ends before its layout does.
    Truncated,
    /// The output buffer is too small.
    BufferTooSmall,
}

/// A node as its ZDO server describes it.
#[derive(Debug, Clone)]
pub struct ZdoNode<'a> {
    /// Its short address.
    pub nwk: u16,
    /// Its EUI64.
    pub ieee: Eui64,
    /// Its node descriptor.
    pub node: NodeDescriptor,
    /// Its endpoints.
    pub endpoints: &'a [SimpleDescriptor],
}

struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Out<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ZdoError> {
        let end = self.len + bytes.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(ZdoError::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

impl ZdoNode<'_> {
    /// The answer to ZDO request `cluster` with `payload` (transaction sequence number first):
    /// the response's cluster and its length in `out`. `Ok(None)` for frames that take no
    /// answer (responses, announcements, and the management requests a node acts on without
    /// answering when broadcast).
    pub fn answer(
        &self,
        cluster: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<Option<(u16, usize)>, ZdoError> {
        if cluster & cluster::RESPONSE != 0
            || cluster == cluster::DEVICE_ANNCE
            || cluster == cluster::MGMT_PERMIT_JOINING_REQ
        {
            return Ok(None);
        }
        let (&tsn, rest) = payload.split_first().ok_or(ZdoError::Truncated)?;
        let mut o = Out { buf: out, len: 0 };
        let nwk_of_interest = || -> Result<u16, ZdoError> {
            match rest {
                [lo, hi, ..] => Ok(u16::from_le_bytes([*lo, *hi])),
                _ => Err(ZdoError::Truncated),
            }
        };
        match cluster {
            cluster::NODE_DESC_REQ => {
                let nwk = nwk_of_interest()?;
                o.put(&[tsn])?;
                if nwk == self.nwk {
                    o.put(&[status::SUCCESS])?;
                    o.put(&nwk.to_le_bytes())?;
                    o.put(&self.node.to_bytes())?;
                } else {
                    o.put(&[status::DEVICE_NOT_FOUND])?;
                    o.put(&nwk.to_le_bytes())?;
                }
            }
            cluster::ACTIVE_EP_REQ => {
                let nwk = nwk_of_interest()?;
                o.put(&[tsn])?;
                if nwk == self.nwk {
                    o.put(&[status::SUCCESS])?;
                    o.put(&nwk.to_le_bytes())?;
                    o.put(&[self.endpoints.len() as u8])?;
                    for e in self.endpoints {
                        o.put(&[e.endpoint])?;
                    }
                } else {
                    o.put(&[status::DEVICE_NOT_FOUND])?;
                    o.put(&nwk.to_le_bytes())?;
                    o.put(&[0])?;
                }
            }
            cluster::SIMPLE_DESC_REQ => {
                let nwk = nwk_of_interest()?;
                let &endpoint = rest.get(2).ok_or(ZdoError::Truncated)?;
                o.put(&[tsn])?;
                let found = self.endpoints.iter().find(|e| e.endpoint == endpoint);
                match (nwk == self.nwk, endpoint, found) {
                    (true, 1..=240, Some(e)) => {
                        o.put(&[status::SUCCESS])?;
                        o.put(&nwk.to_le_bytes())?;
                        let len = 8 + 2 * (e.input.len() + e.output.len());
                        o.put(&[len as u8, e.endpoint])?;
                        o.put(&e.profile.to_le_bytes())?;
                        o.put(&e.device_id.to_le_bytes())?;
                        o.put(&[e.device_version & 0x0F, e.input.len() as u8])?;
                        for c in &e.input {
                            o.put(&c.to_le_bytes())?;
                        }
                        o.put(&[e.output.len() as u8])?;
                        for c in &e.output {
                            o.put(&c.to_le_bytes())?;
                        }
                    }
                    (false, _, _) => {
                        o.put(&[status::DEVICE_NOT_FOUND])?;
                        o.put(&nwk.to_le_bytes())?;
                        o.put(&[0])?;
                    }
                    (true, 1..=240, None) => {
                        o.put(&[status::NOT_ACTIVE])?;
                        o.put(&nwk.to_le_bytes())?;
                        o.put(&[0])?;
                    }
                    (true, _, _) => {
                        o.put(&[status::INVALID_EP])?;
                        o.put(&nwk.to_le_bytes())?;
                        o.put(&[0])?;
                    }
                }
            }
            // Any other request: NOT_SUPPORTED (§2.4.4: the response carries the status).
            _ => o.put(&[tsn, status::NOT_SUPPORTED])?,
        }
        Ok(Some((cluster | cluster::RESPONSE, o.len)))
    }

    /// The Device_annce a node broadcasts once it has joined: `tsn`, its NWK address, its
    /// EUI64 and its MAC capabilities.
    pub fn device_annce(&self, tsn: u8) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0] = tsn;
        b[1..3].copy_from_slice(&self.nwk.to_le_bytes());
        b[3..11].copy_from_slice(&self.ieee.0.to_le_bytes());
        b[11] = self.node.mac_capabilities;
        b
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn node(endpoints: &[SimpleDescriptor]) -> ZdoNode<'_> {
        ZdoNode {
            nwk: 0x2000,
            ieee: Eui64(0x000D_6F00_0000_0001),
            node: NodeDescriptor {
                logical_type: logical_type::END_DEVICE,
                mac_capabilities: 0x80,
                manufacturer_code: 0x1234,
                max_buffer_size: 82,
                max_incoming_transfer: 82,
                server_mask: 0x2C00,
                max_outgoing_transfer: 82,
                descriptor_capabilities: 0,
            },
            endpoints,
        }
    }

    #[test]
    fn descriptors_are_served_for_the_node_and_refused_for_others() {
        let ep = SimpleDescriptor {
            endpoint: 1,
            profile: 0x0109,
            device_id: 0x0502,
            device_version: 0,
            input: heapless::Vec::from_slice(&[0x0000, 0x0003]).unwrap(),
            output: heapless::Vec::from_slice(&[0x0700]).unwrap(),
        };
        let eps = [ep];
        let n = node(&eps);
        let mut out = [0u8; 64];
        let (c, len) = n
            .answer(0x0002, &[7, 0x00, 0x20], &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(c, 0x8002);
        assert_eq!(
            &out[..len],
            &[
                7, 0, 0x00, 0x20, 0x02, 0x40, 0x80, 0x34, 0x12, 82, 82, 0, 0x00, 0x2C, 82, 0, 0
            ]
        );
        let (c, len) = n
            .answer(0x0005, &[8, 0x00, 0x20], &mut out)
            .unwrap()
            .unwrap();
        assert_eq!((c, &out[..len]), (0x8005, &[8, 0, 0x00, 0x20, 1, 1][..]));
        let (c, len) = n
            .answer(0x0004, &[9, 0x00, 0x20, 1], &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(c, 0x8004);
        assert_eq!(
            &out[..len],
            &[
                9, 0, 0x00, 0x20, 14, 1, 0x09, 0x01, 0x02, 0x05, 0, 2, 0, 0, 3, 0, 1, 0, 0x07
            ]
        );
        // Another node's address, an endpoint not described, a reserved endpoint.
        let (_, len) = n
            .answer(0x0002, &[1, 0x01, 0x20], &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(&out[..len], &[1, 0x81, 0x01, 0x20]);
        let (_, len) = n
            .answer(0x0004, &[2, 0x00, 0x20, 2], &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(&out[..len], &[2, 0x83, 0x00, 0x20, 0]);
        let (_, len) = n
            .answer(0x0004, &[3, 0x00, 0x20, 0xF2], &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(&out[..len], &[3, 0x82, 0x00, 0x20, 0]);
        // Unserved requests; truncated ones; responses and announcements take no answer.
        let (c, len) = n.answer(0x0021, &[4, 1, 2, 3], &mut out).unwrap().unwrap();
        assert_eq!((c, &out[..len]), (0x8021, &[4, 0x84][..]));
        assert_eq!(
            n.answer(0x0004, &[5, 0x00, 0x20], &mut out),
            Err(ZdoError::Truncated)
        );
        assert_eq!(n.answer(0x8002, &[6, 0], &mut out), Ok(None));
        assert_eq!(n.answer(0x0013, &[6, 0], &mut out), Ok(None));
        assert_eq!(
            n.device_annce(5),
            [5, 0x00, 0x20, 0x01, 0, 0, 0, 0, 0x6F, 0x0D, 0x00, 0x80]
        );
    }
}
