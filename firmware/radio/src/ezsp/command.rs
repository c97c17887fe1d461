//! EZSP commands, responses and callbacks: each parameter layout written once, for every
//! protocol version hanrig speaks (v13, and v14 with its `sl_status` codes and reordered
//! fields), and used by both sides — the host driver emits requests and parses responses, the
//! simulated co-processor parses requests and emits responses and callbacks.
//!
//! Names, frame IDs and field orders follow bellows' command tables (`bellows/ezsp/v13` and
//! `v14/commands.py`), which follow Silicon Labs' UG100 / the EmberZNet 7.4 and 8.0 headers;
//! `firmware/radio/tests/vectors/bellows-ezsp.txt` holds byte vectors made by bellows' own
//! serialisers, and the tests read and re-write every one of them.

use super::wire::{
    ApsFrame, ApsKeyMetadata, CertificateData, ChildData, ClusterLists, CurrentSecurityState,
    InitialSecurityState, Key, Lv, Lv32, LvWords, MulticastTableEntry, NetworkKeyInfo,
    NetworkParameters, PrivateKeyData, PublicKeyData, Reader, SecurityContext, SlStatus, Status,
    Tag, Wire, WireError, Words, Writer,
};

/// A command the host sends; its response is [`Command::Reply`].
pub trait Command: Wire {
    /// Frame ID.
    const ID: u16;
    /// bellows' name for it.
    const NAME: &'static str;
    /// The response's parameters.
    type Reply: Wire;
}

/// A callback the co-processor sends unasked.
pub trait Callback: Wire {
    /// Frame ID.
    const ID: u16;
    /// bellows' name for it.
    const NAME: &'static str;
}

/// Reads `bytes` whole as a `T` at protocol `version`.
pub fn parse<T: Wire>(version: u8, bytes: &[u8]) -> Result<T, WireError> {
    let mut r = Reader::new(version, bytes);
    let value = T::read(&mut r)?;
    if r.is_empty() {
        Ok(value)
    } else {
        Err(WireError::TrailingBytes)
    }
}

/// Writes `value` at protocol `version` into `buf`; returns the length.
pub fn emit<T: Wire>(version: u8, value: &T, buf: &mut [u8]) -> Result<usize, WireError> {
    let mut w = Writer::new(version, buf);
    value.write(&mut w)?;
    Ok(w.len())
}

/// A parameter layout: a struct whose fields go on the wire in their order, or in the orders
/// given for versions before 14 (`v13`) and from 14 (`v14`); a field a version's order leaves
/// out is not on that version's wire (and reads as its default).
macro_rules! layout {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident: $t:ty),* $(,)? }) => {
        layout!(@ $(#[$m])* $name { $($(#[$fm])* $f: $t),* } [$($f)*] [$($f)*]);
    };
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident: $t:ty),* $(,)? }
        v13 [$($a:ident),*] v14 [$($b:ident),*]) => {
        layout!(@ $(#[$m])* $name { $($(#[$fm])* $f: $t),* } [$($a)*] [$($b)*]);
    };
    (@ $(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident: $t:ty),* }
        [$($a:ident)*] [$($b:ident)*]) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        // The fields are bellows' (UG100's) parameters, in snake case.
        #[allow(missing_docs)]
        pub struct $name { $($(#[$fm])* pub $f: $t,)* }
        impl Wire for $name {
            #[allow(unused_mut, unused_variables)]
            fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
                let mut v = $name::default();
                if r.version >= 14 {
                    $(v.$b = Wire::read(r)?;)*
                } else {
                    $(v.$a = Wire::read(r)?;)*
                }
                Ok(v)
            }
            #[allow(unused_variables)]
            fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
                if w.version >= 14 {
                    $(Wire::write(&self.$b, w)?;)*
                } else {
                    $(Wire::write(&self.$a, w)?;)*
                }
                Ok(())
            }
        }
    };
}

/// A command: its request layout and its response layout.
macro_rules! command {
    ($(#[$m:meta])* $name:ident = $id:literal, $wire:literal
        { $($req:tt)* } $(v13 [$($ra:ident),*] v14 [$($rb:ident),*])?
        => $reply:ident { $($rsp:tt)* } $(v13 [$($pa:ident),*] v14 [$($pb:ident),*])?) => {
        layout!($(#[$m])* $name { $($req)* } $(v13 [$($ra),*] v14 [$($rb),*])?);
        layout!(#[doc = concat!("The response to [`", stringify!($name), "`].")]
            $reply { $($rsp)* } $(v13 [$($pa),*] v14 [$($pb),*])?);
        impl Command for $name {
            const ID: u16 = $id;
            const NAME: &'static str = $wire;
            type Reply = $reply;
        }
    };
}

/// A callback's layout.
macro_rules! callback {
    ($(#[$m:meta])* $name:ident = $id:literal, $wire:literal
        { $($f:tt)* } $(v13 [$($a:ident),*] v14 [$($b:ident),*])?) => {
        layout!($(#[$m])* $name { $($f)* } $(v13 [$($a),*] v14 [$($b),*])?);
        impl Callback for $name {
            const ID: u16 = $id;
            const NAME: &'static str = $wire;
        }
    };
}

command! {
    /// version: the protocol version the host wants; the co-processor answers with its own.
    Version = 0x0000, "version" { desired: u8 }
    => VersionReply { protocol: u8, stack_type: u8, stack_version: u16 }
}
command! {
    /// addEndpoint: an endpoint the co-processor answers ZDO descriptor requests for.
    AddEndpoint = 0x0002, "addEndpoint" {
        endpoint: u8, profile: u16, device_id: u16, device_version: u8, clusters: ClusterLists,
    }
    => AddEndpointReply { status: Status }
}
command! {
    /// nop.
    Nop = 0x0005, "nop" {} => NopReply {}
}
command! {
    /// getMfgToken: a manufacturing token (1 manufacturer string, 2 board name, …).
    GetMfgToken = 0x000B, "getMfgToken" { token: u8 } => GetMfgTokenReply { data: Lv }
}
command! {
    /// setMfgToken: writes a manufacturing token (the custom EUI64 only once).
    SetMfgToken = 0x000C, "setMfgToken" { token: u8, data: Lv } => SetMfgTokenReply { status: Status }
}
command! {
    /// setConcentrator: many-to-one route requests.
    SetConcentrator = 0x0010, "setConcentrator" {
        on: bool, concentrator_type: u16, min_time: u16, max_time: u16,
        route_error_threshold: u8, delivery_failure_threshold: u8, max_hops: u8,
    }
    => SetConcentratorReply { status: Status }
}
command! {
    /// setManufacturerCode: the manufacturer code of the node descriptor (no status before v14).
    SetManufacturerCode = 0x0015, "setManufacturerCode" { code: u16 }
    => SetManufacturerCodeReply { status: Status } v13 [] v14 [status]
}
command! {
    /// networkInit: brings up the network stored in tokens.
    NetworkInit = 0x0017, "networkInit" { bitmask: u16 } => NetworkInitReply { status: Status }
}
command! {
    /// networkState: EmberNetworkStatus (0 none, 2 joined).
    NetworkState = 0x0018, "networkState" {} => NetworkStateReply { state: u8 }
}
callback! {
    /// stackStatusHandler: the network went up or down.
    StackStatusHandler = 0x0019, "stackStatusHandler" { status: Status }
}
command! {
    /// startScan: an energy (0) or active (1) scan of the channels in the mask.
    StartScan = 0x001A, "startScan" { scan_type: u8, channel_mask: u32, duration: u8 }
    => StartScanReply { status: Status }
}
callback! {
    /// scanCompleteHandler: a scan ended.
    ScanCompleteHandler = 0x001C, "scanCompleteHandler" { channel: u8, status: Status }
}
command! {
    /// formNetwork: start a network as coordinator.
    FormNetwork = 0x001E, "formNetwork" { parameters: NetworkParameters }
    => FormNetworkReply { status: Status }
}
command! {
    /// joinNetwork: join a network as `node_type`.
    JoinNetwork = 0x001F, "joinNetwork" { node_type: u8, parameters: NetworkParameters }
    => JoinNetworkReply { status: Status }
}
command! {
    /// leaveNetwork (with its options byte from v14).
    LeaveNetwork = 0x0020, "leaveNetwork" { options: u8 } v13 [] v14 [options]
    => LeaveNetworkReply { status: Status }
}
command! {
    /// permitJoining for `duration` seconds (0 closes, 0xFF forever).
    PermitJoining = 0x0022, "permitJoining" { duration: u8 }
    => PermitJoiningReply { status: Status }
}
callback! {
    /// childJoinHandler: a child joined or left.
    ChildJoinHandler = 0x0023, "childJoinHandler" {
        index: u8, joining: bool, child_id: u16, child_eui64: u64, child_type: u8,
    }
}
callback! {
    /// trustCenterJoinHandler: a device joined, rejoined or left through the trust centre.
    TrustCenterJoinHandler = 0x0024, "trustCenterJoinHandler" {
        new_node_id: u16, new_node_eui64: u64, status: u8, policy_decision: u8, parent: u16,
    }
}
command! {
    /// getEui64.
    GetEui64 = 0x0026, "getEui64" {} => GetEui64Reply { eui64: u64 }
}
command! {
    /// getNodeId.
    GetNodeId = 0x0027, "getNodeId" {} => GetNodeIdReply { node_id: u16 }
}
command! {
    /// getNetworkParameters.
    GetNetworkParameters = 0x0028, "getNetworkParameters" {}
    => GetNetworkParametersReply { status: Status, node_type: u8, parameters: NetworkParameters }
}
command! {
    /// getParentChildParameters.
    GetParentChildParameters = 0x0029, "getParentChildParameters" {}
    => GetParentChildParametersReply { child_count: u8, parent_eui64: u64, parent_node_id: u16 }
}
command! {
    /// sendUnicast (direct, via address table or binding).
    SendUnicast = 0x0034, "sendUnicast" {
        message_type: u8, destination: u16, aps_frame: ApsFrame, tag: Tag, message: Lv,
    }
    => SendUnicastReply { status: Status, sequence: u8 }
}
command! {
    /// sendBroadcast (v14 adds an alias source and its sequence).
    SendBroadcast = 0x0036, "sendBroadcast" {
        alias: u16, destination: u16, alias_sequence: u8, aps_frame: ApsFrame, radius: u8,
        tag: Tag, message: Lv,
    }
    v13 [destination, aps_frame, radius, tag, message]
    v14 [alias, destination, alias_sequence, aps_frame, radius, tag, message]
    => SendBroadcastReply { status: Status, sequence: u8 }
}
command! {
    /// sendMulticast (v14 adds the broadcast address, an alias and its sequence).
    SendMulticast = 0x0038, "sendMulticast" {
        aps_frame: ApsFrame, hops: u8, nonmember_radius: u8, broadcast_address: u16, alias: u16,
        alias_sequence: u8, tag: Tag, message: Lv,
    }
    v13 [aps_frame, hops, nonmember_radius, tag, message]
    v14 [aps_frame, hops, broadcast_address, alias, alias_sequence, tag, message]
    => SendMulticastReply { status: Status, sequence: u8 }
}
callback! {
    /// messageSentHandler: what became of a message sent (status first from v14).
    MessageSentHandler = 0x003F, "messageSentHandler" {
        status: Status, message_type: u8, destination: u16, aps_frame: ApsFrame, tag: Tag,
        message: Lv,
    }
    v13 [message_type, destination, aps_frame, tag, status, message]
    v14 [status, message_type, destination, aps_frame, tag, message]
}
callback! {
    /// incomingMessageHandler: an APS message for the host (v14 carries the sender's EUI64 and
    /// a timestamp, and moves the link quality after the addresses).
    IncomingMessageHandler = 0x0045, "incomingMessageHandler" {
        message_type: u8, aps_frame: ApsFrame, lqi: u8, rssi: i8, sender: u16, sender_eui64: u64,
        binding_index: u8, address_index: u8, timestamp: u32, message: Lv,
    }
    v13 [message_type, aps_frame, lqi, rssi, sender, binding_index, address_index, message]
    v14 [message_type, aps_frame, sender, sender_eui64, binding_index, address_index, lqi, rssi,
        timestamp, message]
}
command! {
    /// customFrame: a frame for the co-processor's application (XNCP).
    CustomFrame = 0x0047, "customFrame" { payload: Lv }
    => CustomFrameReply { status: Status, reply: Lv }
}
callback! {
    /// energyScanResultHandler: one channel's energy.
    EnergyScanResultHandler = 0x0048, "energyScanResultHandler" { channel: u8, max_rssi: i8 }
}
command! {
    /// getChildData.
    GetChildData = 0x004A, "getChildData" { index: u8 }
    => GetChildDataReply { status: Status, child: ChildData }
}
command! {
    /// getConfigurationValue.
    GetConfigurationValue = 0x0052, "getConfigurationValue" { config_id: u8 }
    => GetConfigurationValueReply { status: Status, value: u16 }
}
command! {
    /// setConfigurationValue.
    SetConfigurationValue = 0x0053, "setConfigurationValue" { config_id: u8, value: u16 }
    => SetConfigurationValueReply { status: Status }
}
command! {
    /// setPolicy.
    SetPolicy = 0x0055, "setPolicy" { policy: u8, decision: u8 }
    => SetPolicyReply { status: Status }
}
command! {
    /// setSourceRouteDiscoveryMode.
    SetSourceRouteDiscoveryMode = 0x005A, "setSourceRouteDiscoveryMode" { mode: u8 }
    => SetSourceRouteDiscoveryModeReply { remaining_time: u32 }
}
command! {
    /// getAddressTableRemoteEui64 (before v14).
    GetAddressTableRemoteEui64 = 0x005E, "getAddressTableRemoteEui64" { index: u8 }
    => GetAddressTableRemoteEui64Reply { eui64: u64 }
}
command! {
    /// getAddressTableRemoteNodeId (before v14): 0xFFFF for an unused entry.
    GetAddressTableRemoteNodeId = 0x005F, "getAddressTableRemoteNodeId" { index: u8 }
    => GetAddressTableRemoteNodeIdReply { node_id: u16 }
}
command! {
    /// getAddressTableInfo (v14; v13 has getAddressTableRemoteEui64 at this ID).
    GetAddressTableInfo = 0x005E, "getAddressTableInfo" { index: u8 }
    => GetAddressTableInfoReply { status: Status, node_id: u16, eui64: u64 }
}
command! {
    /// lookupNodeIdByEui64 (status first from v14).
    LookupNodeIdByEui64 = 0x0060, "lookupNodeIdByEui64" { eui64: u64 }
    => LookupNodeIdByEui64Reply { status: Status, node_id: u16 } v13 [node_id] v14 [status, node_id]
}
command! {
    /// lookupEui64ByNodeId.
    LookupEui64ByNodeId = 0x0061, "lookupEui64ByNodeId" { node_id: u16 }
    => LookupEui64ByNodeIdReply { status: Status, eui64: u64 }
}
command! {
    /// getMulticastTableEntry.
    GetMulticastTableEntry = 0x0063, "getMulticastTableEntry" { index: u8 }
    => GetMulticastTableEntryReply { status: Status, entry: MulticastTableEntry }
}
command! {
    /// setMulticastTableEntry.
    SetMulticastTableEntry = 0x0064, "setMulticastTableEntry" {
        index: u8, entry: MulticastTableEntry,
    }
    => SetMulticastTableEntryReply { status: Status }
}
command! {
    /// readAndClearCounters.
    ReadAndClearCounters = 0x0065, "readAndClearCounters" {}
    => ReadAndClearCountersReply { values: Words }
}
command! {
    /// setInitialSecurityState.
    SetInitialSecurityState = 0x0068, "setInitialSecurityState" { state: InitialSecurityState }
    => SetInitialSecurityStateReply { status: Status }
}
command! {
    /// getCurrentSecurityState.
    GetCurrentSecurityState = 0x0069, "getCurrentSecurityState" {}
    => GetCurrentSecurityStateReply { status: Status, state: CurrentSecurityState }
}
command! {
    /// clearTransientLinkKeys.
    ClearTransientLinkKeys = 0x006B, "clearTransientLinkKeys" {}
    => ClearTransientLinkKeysReply {}
}
command! {
    /// findKeyTableEntry.
    FindKeyTableEntry = 0x0075, "findKeyTableEntry" { address: u64, link_key: bool }
    => FindKeyTableEntryReply { index: u8 }
}
command! {
    /// eraseKeyTableEntry.
    EraseKeyTableEntry = 0x0076, "eraseKeyTableEntry" { index: u8 }
    => EraseKeyTableEntryReply { status: Status }
}
command! {
    /// tokenFactoryReset.
    TokenFactoryReset = 0x0077, "tokenFactoryReset" {
        exclude_outgoing_fc: bool, exclude_boot_counter: bool,
    }
    => TokenFactoryResetReply {}
}
command! {
    /// setExtendedTimeout (a status from v14).
    SetExtendedTimeout = 0x007E, "setExtendedTimeout" { remote_eui64: u64, extended_timeout: bool }
    => SetExtendedTimeoutReply { status: Status } v13 [] v14 [status]
}
command! {
    /// getExtendedTimeout (before v14 a Bool, from v14 a status: OK when extended).
    GetExtendedTimeout = 0x007F, "getExtendedTimeout" { remote_eui64: u64 }
    => GetExtendedTimeoutReply { extended_timeout: bool, status: Status }
    v13 [extended_timeout] v14 [status]
}
command! {
    /// echo.
    Echo = 0x0081, "echo" { data: Lv } => EchoReply { echo: Lv }
}
command! {
    /// setRadioPower, dBm.
    SetRadioPower = 0x0099, "setRadioPower" { power: i8 } => SetRadioPowerReply { status: Status }
}
command! {
    /// getValue.
    GetValue = 0x00AA, "getValue" { value_id: u8 } => GetValueReply { status: Status, value: Lv }
}
command! {
    /// setValue.
    SetValue = 0x00AB, "setValue" { value_id: u8, value: Lv } => SetValueReply { status: Status }
}
command! {
    /// setChildData.
    SetChildData = 0x00AC, "setChildData" { index: u8, child: ChildData }
    => SetChildDataReply { status: Status }
}
command! {
    /// setSourceRoute.
    SetSourceRoute = 0x00AE, "setSourceRoute" { destination: u16, relays: LvWords }
    => SetSourceRouteReply { status: Status }
}
command! {
    /// clearKeyTable.
    ClearKeyTable = 0x00B1, "clearKeyTable" {} => ClearKeyTableReply { status: Status }
}
command! {
    /// gpSinkTableClearAll.
    GpSinkTableClearAll = 0x00E2, "gpSinkTableClearAll" {} => GpSinkTableClearAllReply {}
}
command! {
    /// readCounters.
    ReadCounters = 0x00F1, "readCounters" {} => ReadCountersReply { values: Words }
}
command! {
    /// getTokenData: a token (by creator key) and index; the value follows only success.
    GetTokenData = 0x0102, "getTokenData" { token: u32, index: u32 }
    => GetTokenDataReply { status: Status, value: Option<Lv32> }
}
command! {
    /// setTokenData.
    SetTokenData = 0x0103, "setTokenData" { token: u32, index: u32, value: Lv32 }
    => SetTokenDataReply { status: Status }
}
command! {
    /// exportLinkKeyByIndex (v14 puts the status first and returns the key's context).
    ExportLinkKeyByIndex = 0x010F, "exportLinkKeyByIndex" { index: u8 }
    => ExportLinkKeyByIndexReply {
        status: SlStatus, eui64: u64, context: SecurityContext, key: Key, metadata: ApsKeyMetadata,
    }
    v13 [eui64, key, metadata, status] v14 [status, context, key, metadata]
}
command! {
    /// importLinkKey: a link key into the key table, at `index`.
    ImportLinkKey = 0x010E, "importLinkKey" { index: u8, address: u64, key: Key }
    => ImportLinkKeyReply { status: SlStatus }
}
command! {
    /// importTransientKey: a joining device's link key (from its install code).
    ImportTransientKey = 0x0111, "importTransientKey" { eui64: u64, key: Key, flags: u8 }
    => ImportTransientKeyReply { status: SlStatus }
}
command! {
    /// exportTransientKeyByIndex.
    ExportTransientKeyByIndex = 0x0112, "exportTransientKeyByIndex" { index: u8 }
    => ExportTransientKeyByIndexReply {
        status: SlStatus, context: SecurityContext, key: Key, metadata: ApsKeyMetadata,
    }
    v13 [context, key, metadata, status] v14 [status, context, key, metadata]
}
command! {
    /// exportKey: the key a security-manager context names (v14 returns the context too).
    ExportKey = 0x0114, "exportKey" { context: SecurityContext }
    => ExportKeyReply { status: SlStatus, key: Key, context: SecurityContext }
    v13 [key, status] v14 [status, key, context]
}
command! {
    /// getNetworkKeyInfo.
    GetNetworkKeyInfo = 0x0116, "getNetworkKeyInfo" {}
    => GetNetworkKeyInfoReply { status: SlStatus, info: NetworkKeyInfo }
}

command! {
    /// getLibraryStatus: whether a stack library is in the firmware (bit 7 of the answer;
    /// `0xFF` an error). The CBKE libraries are [`LIBRARY_CBKE`] and [`LIBRARY_ECC`].
    GetLibraryStatus = 0x0001, "getLibraryStatus" { library_id: u8 }
    => GetLibraryStatusReply { status: u8 }
}
command! {
    /// generateCbkeKeys: a new ephemeral key pair, answered by [`GenerateCbkeKeysHandler`].
    GenerateCbkeKeys = 0x00A4, "generateCbkeKeys" {} => GenerateCbkeKeysReply { status: Status }
}
callback! {
    /// generateCbkeKeysHandler: the ephemeral public key generateCbkeKeys made.
    GenerateCbkeKeysHandler = 0x009E, "generateCbkeKeysHandler" {
        status: Status, ephemeral_public_key: PublicKeyData,
    }
}
command! {
    /// calculateSmacs: with the partner's certificate and ephemeral key, both MACs (answered by
    /// [`CalculateSmacsHandler`]); KeyData stays on the chip until
    /// [`ClearTemporaryDataMaybeStoreLinkKey`].
    CalculateSmacs = 0x009F, "calculateSmacs" {
        am_initiator: bool, partner_certificate: CertificateData,
        partner_ephemeral_public_key: PublicKeyData,
    }
    => CalculateSmacsReply { status: Status }
}
callback! {
    /// calculateSmacsHandler: MACU and MACV.
    CalculateSmacsHandler = 0x00A0, "calculateSmacsHandler" {
        status: Status, initiator_smac: Key, responder_smac: Key,
    }
}
command! {
    /// clearTemporaryDataMaybeStoreLinkKey: the exchange is over; `store_link_key` keeps KeyData
    /// as the link key with the partner named in its certificate.
    ClearTemporaryDataMaybeStoreLinkKey = 0x00A1, "clearTemporaryDataMaybeStoreLinkKey" {
        store_link_key: bool,
    }
    => ClearTemporaryDataMaybeStoreLinkKeyReply { status: Status }
}
command! {
    /// setPreinstalledCbkeData: the CA's public key, our certificate and private key, written
    /// once into manufacturing tokens.
    SetPreinstalledCbkeData = 0x00A2, "setPreinstalledCbkeData" {
        ca_public: PublicKeyData, my_cert: CertificateData, my_key: PrivateKeyData,
    }
    => SetPreinstalledCbkeDataReply { status: Status }
}
command! {
    /// getCertificate: our implicit certificate.
    GetCertificate = 0x00A5, "getCertificate" {}
    => GetCertificateReply { status: Status, local_cert: CertificateData }
}

/// EmberLibraryId of CBKE (suite 1's key establishment).
pub const LIBRARY_CBKE: u8 = 0x06;
/// EmberLibraryId of the sect163k1 ECC library CBKE needs.
pub const LIBRARY_ECC: u8 = 0x08;
/// EmberLibraryStatus bit: the library is present (not a stub).
pub const LIBRARY_PRESENT: u8 = 0x80;

/// EZSP frame ID `id`'s bellows name, when hanrig knows its layout.
pub fn name(id: u16) -> Option<&'static str> {
    LAYOUTS.iter().find(|l| l.id == id).map(|l| l.name)
}

/// One command's or callback's layouts, for checks that go through every one of them.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Frame ID.
    pub id: u16,
    /// bellows' name.
    pub name: &'static str,
    /// Reads a request and writes it again (`None` for a callback): the bytes written.
    pub request: Option<Rewrite>,
    /// Reads a response or a callback's parameters and writes them again.
    pub reply: Rewrite,
}

/// Reads parameters whole at a version and writes them into the buffer; the length written.
pub type Rewrite = fn(u8, &[u8], &mut [u8]) -> Result<usize, WireError>;

fn rewrite<T: Wire>(version: u8, bytes: &[u8], out: &mut [u8]) -> Result<usize, WireError> {
    emit(version, &parse::<T>(version, bytes)?, out)
}

macro_rules! layouts {
    (commands [$($c:ident),* $(,)?] callbacks [$($b:ident),* $(,)?]) => {
        /// Every command and callback hanrig knows the layout of.
        pub const LAYOUTS: &[Layout] = &[
            $(Layout {
                id: <$c as Command>::ID,
                name: <$c as Command>::NAME,
                request: Some(rewrite::<$c>),
                reply: rewrite::<<$c as Command>::Reply>,
            },)*
            $(Layout {
                id: <$b as Callback>::ID,
                name: <$b as Callback>::NAME,
                request: None,
                reply: rewrite::<$b>,
            },)*
        ];
    };
}

layouts! {
    commands [
        Version, AddEndpoint, Nop, GetMfgToken, SetMfgToken, SetConcentrator, SetManufacturerCode,
        NetworkInit, NetworkState, StartScan, FormNetwork, JoinNetwork, LeaveNetwork,
        PermitJoining, GetEui64, GetNodeId, GetNetworkParameters, GetParentChildParameters,
        SendUnicast, SendBroadcast, SendMulticast, CustomFrame, GetChildData,
        GetConfigurationValue, SetConfigurationValue, SetPolicy, SetSourceRouteDiscoveryMode,
        GetAddressTableRemoteEui64, GetAddressTableRemoteNodeId, GetAddressTableInfo,
        LookupNodeIdByEui64, LookupEui64ByNodeId, GetMulticastTableEntry,
        SetMulticastTableEntry,
        ReadAndClearCounters, SetInitialSecurityState, GetCurrentSecurityState,
        ClearTransientLinkKeys, FindKeyTableEntry, EraseKeyTableEntry, TokenFactoryReset,
        SetExtendedTimeout, GetExtendedTimeout, Echo, SetRadioPower, GetValue, SetValue,
        SetChildData, SetSourceRoute, ClearKeyTable, GpSinkTableClearAll, ReadCounters,
        GetTokenData, SetTokenData, ExportLinkKeyByIndex, ImportLinkKey, ImportTransientKey,
        ExportTransientKeyByIndex, ExportKey, GetNetworkKeyInfo, GetLibraryStatus,
        GenerateCbkeKeys, CalculateSmacs, ClearTemporaryDataMaybeStoreLinkKey,
        SetPreinstalledCbkeData, GetCertificate,
    ]
    callbacks [
        StackStatusHandler, ScanCompleteHandler, ChildJoinHandler, TrustCenterJoinHandler,
        MessageSentHandler, IncomingMessageHandler, EnergyScanResultHandler,
        GenerateCbkeKeysHandler, CalculateSmacsHandler,
    ]
}
