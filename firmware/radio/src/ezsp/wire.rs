//! The building blocks of EZSP parameter layouts: little-endian integers, EUI64s, keys, status
//! codes whose width depends on the protocol version, length-prefixed byte strings, and the
//! EmberZNet structures that commands carry. Each type reads itself from a [`Reader`] and
//! writes itself to a [`Writer`], both of which know the negotiated protocol version.

/// Why parameters could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WireError {
    /// The parameters end before the layout does.
    Truncated,
    /// Bytes are left over after the layout.
    TrailingBytes,
    /// A length prefix or list is longer than the type can hold.
    TooLong,
    /// The output buffer is too small.
    BufferTooSmall,
    /// A value that this protocol version cannot carry (e.g. an EmberStatus over 0xFF).
    OutOfRange,
}

/// Reads parameters in the layout of protocol `version`.
#[derive(Debug)]
pub struct Reader<'a> {
    /// The negotiated EZSP protocol version.
    pub version: u8,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes` at protocol `version`.
    pub fn new(version: u8, bytes: &'a [u8]) -> Self {
        Reader {
            version,
            rest: bytes,
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
}

/// Writes parameters in the layout of protocol `version` into a buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    /// The negotiated EZSP protocol version.
    pub version: u8,
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// A writer filling `buf` at protocol `version`.
    pub fn new(version: u8, buf: &'a mut [u8]) -> Self {
        Writer {
            version,
            buf,
            len: 0,
        }
    }

    /// Appends `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        let end = self.len + bytes.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(WireError::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A value with an EZSP wire layout.
pub trait Wire: Sized {
    /// Reads the value.
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError>;
    /// Writes the value.
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError>;
}

macro_rules! int {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
                Ok(<$t>::from_le_bytes(r.array()?))
            }
            fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
                w.put(&self.to_le_bytes())
            }
        }
    )*};
}
int!(u8, u16, u32, u64, i8);

impl Wire for bool {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match u8::read(r)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError::OutOfRange),
        }
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.put(&[u8::from(*self)])
    }
}

/// A field that ends the parameters and may be left out: read when bytes remain, written
/// when present (bellows' optional struct fields, e.g. getTokenData's value after an error).
impl<T: Wire> Wire for Option<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        if r.is_empty() {
            Ok(None)
        } else {
            T::read(r).map(Some)
        }
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        self.as_ref().map_or(Ok(()), |v| v.write(w))
    }
}

/// A 128-bit key (KeyData).
pub type Key = [u8; 16];

impl Wire for Key {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        r.array()
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.put(self)
    }
}

/// Fixed-length byte strings of the CBKE library's frames, each its own type.
macro_rules! fixed_bytes {
    ($($(#[$m:meta])* $name:ident[$n:literal];)*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub [u8; $n]);
        impl Default for $name {
            fn default() -> Self {
                $name([0; $n])
            }
        }
        impl Wire for $name {
            fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
                r.array().map($name)
            }
            fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
                w.put(&self.0)
            }
        }
    )*};
}

fixed_bytes! {
    /// EmberPublicKeyData: a compressed sect163k1 point.
    PublicKeyData[22];
    /// EmberCertificateData: a 48-byte implicit certificate.
    CertificateData[48];
    /// EmberPrivateKeyData: a sect163k1 private key.
    PrivateKeyData[21];
}

/// An EmberStatus or EzspStatus (one byte) before v14, an `sl_status` (u32) from v14: the code
/// as it is on the wire of the version it was read at or will be written at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Status(pub u32);

impl Status {
    /// Success, in every version.
    pub const OK: Status = Status(0);

    /// `ember` before v14, `sl` from v14.
    pub fn of(version: u8, ember: u8, sl: u32) -> Status {
        Status(if version >= 14 { sl } else { u32::from(ember) })
    }

    /// Success, or the error `ember` / `sl` for `version`.
    pub fn ok_or(version: u8, ok: bool, ember: u8, sl: u32) -> Status {
        if ok {
            Status::OK
        } else {
            Status::of(version, ember, sl)
        }
    }

    /// Whether it is success.
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }
}

/// A value one byte wide before v14 and `T` wide from v14 (statuses, message tags).
fn read_widened<T: Wire + From<u8>>(r: &mut Reader<'_>) -> Result<T, WireError> {
    if r.version >= 14 {
        T::read(r)
    } else {
        u8::read(r).map(T::from)
    }
}

fn write_widened<T: Wire + Copy + TryInto<u8>>(
    value: T,
    w: &mut Writer<'_>,
) -> Result<(), WireError> {
    if w.version >= 14 {
        value.write(w)
    } else {
        value
            .try_into()
            .map_err(|_| WireError::OutOfRange)?
            .write(w)
    }
}

impl Wire for Status {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        read_widened(r).map(Status)
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        write_widened(self.0, w)
    }
}

/// An `sl_status` (u32) in every version (the security-manager commands of v13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SlStatus(pub u32);

impl SlStatus {
    /// SL_STATUS_OK.
    pub const OK: SlStatus = SlStatus(0);
}

impl Wire for SlStatus {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(SlStatus(u32::read(r)?))
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        self.0.write(w)
    }
}

/// A message tag: one byte before v14, two from v14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tag(pub u16);

impl Wire for Tag {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        read_widened(r).map(Tag)
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        write_widened(self.0, w)
    }
}

/// Bytes with a one-byte length prefix (LVBytes).
pub type Lv = heapless::Vec<u8, 255>;

impl Wire for Lv {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let n = usize::from(u8::read(r)?);
        Lv::from_slice(r.take(n)?).map_err(|_| WireError::TooLong)
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        let n = u8::try_from(self.len()).map_err(|_| WireError::TooLong)?;
        w.put(&[n])?;
        w.put(self)
    }
}

/// Bytes with a four-byte length prefix (LVBytes32: token data), at most 255 of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lv32(pub Lv);

impl Wire for Lv32 {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let n = usize::try_from(u32::read(r)?).map_err(|_| WireError::TooLong)?;
        if n > 255 {
            return Err(WireError::TooLong);
        }
        Ok(Lv32(
            Lv::from_slice(r.take(n)?).map_err(|_| WireError::TooLong)?,
        ))
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        (self.0.len() as u32).write(w)?;
        w.put(&self.0)
    }
}

/// The rest of the frame as 16-bit values (an AnonymousList of uint16: counters).
pub type Words = heapless::Vec<u16, 128>;

impl Wire for Words {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let rest = r.rest();
        if !rest.len().is_multiple_of(2) {
            return Err(WireError::Truncated);
        }
        rest.chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .try_fold(Words::new(), |mut v, x| {
                v.push(x).map_err(|_| WireError::TooLong)?;
                Ok(v)
            })
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        self.iter().try_for_each(|x| x.write(w))
    }
}

/// A list of 16-bit values with a one-byte count (AnonymousLVList of NWK: relays).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LvWords(pub heapless::Vec<u16, 64>);

impl Wire for LvWords {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let n = u8::read(r)?;
        let mut v = heapless::Vec::new();
        for _ in 0..n {
            v.push(u16::read(r)?).map_err(|_| WireError::TooLong)?;
        }
        Ok(LvWords(v))
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        let n = u8::try_from(self.0.len()).map_err(|_| WireError::TooLong)?;
        n.write(w)?;
        self.0.iter().try_for_each(|x| x.write(w))
    }
}

/// addEndpoint's cluster lists: both counts, then both lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterLists {
    /// Server (input) clusters.
    pub input: heapless::Vec<u16, 32>,
    /// Client (output) clusters.
    pub output: heapless::Vec<u16, 32>,
}

impl Wire for ClusterLists {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let (n_in, n_out) = (u8::read(r)?, u8::read(r)?);
        let mut lists = ClusterLists::default();
        for _ in 0..n_in {
            lists
                .input
                .push(u16::read(r)?)
                .map_err(|_| WireError::TooLong)?;
        }
        for _ in 0..n_out {
            lists
                .output
                .push(u16::read(r)?)
                .map_err(|_| WireError::TooLong)?;
        }
        Ok(lists)
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        let count = |n: usize| u8::try_from(n).map_err(|_| WireError::TooLong);
        w.put(&[count(self.input.len())?, count(self.output.len())?])?;
        self.input
            .iter()
            .chain(&self.output)
            .try_for_each(|c| c.write(w))
    }
}

/// An EmberZNet structure: its fields in order, each with its own layout.
#[macro_export]
#[doc(hidden)]
macro_rules! ezsp_struct {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident: $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name { $($(#[$fm])* pub $f: $t,)* }
        impl $crate::ezsp::wire::Wire for $name {
            fn read(r: &mut $crate::ezsp::wire::Reader<'_>) -> Result<Self, $crate::ezsp::wire::WireError> {
                Ok($name { $($f: <$t as $crate::ezsp::wire::Wire>::read(r)?,)* })
            }
            #[allow(unused_variables)]
            fn write(&self, w: &mut $crate::ezsp::wire::Writer<'_>) -> Result<(), $crate::ezsp::wire::WireError> {
                $($crate::ezsp::wire::Wire::write(&self.$f, w)?;)*
                Ok(())
            }
        }
    };
}

ezsp_struct! {
    /// EmberNetworkParameters.
    pub struct NetworkParameters {
        /// Extended PAN ID (as an EUI64, little-endian).
        pub extended_pan_id: u64,
        /// PAN ID.
        pub pan_id: u16,
        /// Transmit power, dBm.
        pub radio_tx_power: u8,
        /// Channel.
        pub radio_channel: u8,
        /// EmberJoinMethod.
        pub join_method: u8,
        /// Network manager's node ID.
        pub nwk_manager_id: u16,
        /// Network update ID.
        pub nwk_update_id: u8,
        /// Channel mask.
        pub channels: u32,
    }
}

ezsp_struct! {
    /// EmberApsFrame.
    pub struct ApsFrame {
        /// Profile ID.
        pub profile: u16,
        /// Cluster ID.
        pub cluster: u16,
        /// Source endpoint.
        pub source_endpoint: u8,
        /// Destination endpoint.
        pub destination_endpoint: u8,
        /// EmberApsOption bits.
        pub options: u16,
        /// Group ID.
        pub group: u16,
        /// APS counter.
        pub sequence: u8,
    }
}

ezsp_struct! {
    /// EmberInitialSecurityState.
    pub struct InitialSecurityState {
        /// EmberInitialSecurityBitmask.
        pub bitmask: u16,
        /// The preconfigured (trust-centre link) key.
        pub preconfigured_key: Key,
        /// The network key.
        pub network_key: Key,
        /// The network key's sequence number.
        pub network_key_sequence: u8,
        /// The trust centre's EUI64, for a joining device.
        pub trust_center_eui64: u64,
    }
}

ezsp_struct! {
    /// EmberCurrentSecurityState.
    pub struct CurrentSecurityState {
        /// EmberCurrentSecurityBitmask.
        pub bitmask: u16,
        /// The trust centre's EUI64.
        pub trust_center_eui64: u64,
    }
}

ezsp_struct! {
    /// sl_zb_sec_man_context_t (SecurityManagerContextV13).
    pub struct SecurityContext {
        /// sl_zb_sec_man_key_type_t: 1 network, 2 trust-centre link key, 3 application link key.
        pub core_key_type: u8,
        /// Key index.
        pub key_index: u8,
        /// Derived key type (u16).
        pub derived_type: u16,
        /// Partner EUI64.
        pub eui64: u64,
        /// Multi-network index.
        pub multi_network_index: u8,
        /// Context flags.
        pub flags: u8,
        /// PSA key algorithm permission.
        pub psa_key_alg_permission: u32,
    }
}

ezsp_struct! {
    /// sl_zb_sec_man_network_key_info_t.
    pub struct NetworkKeyInfo {
        /// Whether a network key is set.
        pub network_key_set: bool,
        /// Whether an alternate network key is set.
        pub alternate_network_key_set: bool,
        /// The network key's sequence number.
        pub network_key_sequence: u8,
        /// The alternate key's sequence number.
        pub alternate_network_key_sequence: u8,
        /// The outgoing NWK frame counter.
        pub network_key_frame_counter: u32,
    }
}

ezsp_struct! {
    /// sl_zb_sec_man_aps_key_metadata_t.
    pub struct ApsKeyMetadata {
        /// EmberKeyStructBitmask.
        pub bitmask: u16,
        /// Outgoing APS frame counter.
        pub outgoing_frame_counter: u32,
        /// Incoming APS frame counter.
        pub incoming_frame_counter: u32,
        /// Time to live (transient keys), seconds.
        pub ttl_seconds: u16,
    }
}

ezsp_struct! {
    /// EmberChildData (v10+).
    pub struct ChildData {
        /// The child's EUI64.
        pub eui64: u64,
        /// EmberNodeType.
        pub node_type: u8,
        /// The child's node ID.
        pub id: u16,
        /// PHY index.
        pub phy: u8,
        /// Power.
        pub power: u8,
        /// Timeout (EmberChildTimeout).
        pub timeout: u8,
        /// Timeout remaining, ms.
        pub timeout_remaining: u32,
    }
}

ezsp_struct! {
    /// EmberMulticastTableEntry.
    pub struct MulticastTableEntry {
        /// Group ID.
        pub multicast_id: u16,
        /// Endpoint.
        pub endpoint: u8,
        /// Network index (left out by hosts of EZSP before v5).
        pub network_index: Option<u8>,
    }
}
