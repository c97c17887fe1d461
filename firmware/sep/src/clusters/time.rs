//! Time cluster (0x000A): attribute identifiers (the cluster has no commands).

/// Cluster identifier.
pub const CLUSTER_ID: u16 = 0x000A;

/// Attribute identifiers.
pub mod attribute {
    /// Time, UTCTime (read/write).
    pub const TIME: u16 = 0x0000;
    /// TimeStatus, bitmap8.
    pub const TIME_STATUS: u16 = 0x0001;
    /// TimeZone, int32 (seconds offset from UTC).
    pub const TIME_ZONE: u16 = 0x0002;
    /// DstStart, uint32.
    pub const DST_START: u16 = 0x0003;
    /// DstEnd, uint32.
    pub const DST_END: u16 = 0x0004;
    /// DstShift, int32.
    pub const DST_SHIFT: u16 = 0x0005;
    /// StandardTime, uint32.
    pub const STANDARD_TIME: u16 = 0x0006;
    /// LocalTime, uint32.
    pub const LOCAL_TIME: u16 = 0x0007;
    /// LastSetTime, UTCTime.
    pub const LAST_SET_TIME: u16 = 0x0008;
    /// ValidUntilTime, UTCTime.
    pub const VALID_UNTIL_TIME: u16 = 0x0009;
}

bitmap! {
    /// TimeStatus attribute.
    pub struct TimeStatus(u8) {
        /// The time is from a master clock.
        const MASTER = 0x01;
        /// The time is synchronised over the network.
        const SYNCHRONIZED = 0x02;
        /// Time zone and DST come from a master.
        const MASTER_ZONE_DST = 0x04;
        /// The time supersedes other sources.
        const SUPERSEDING = 0x08;
    }
}
