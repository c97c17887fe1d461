//! Basic cluster (0x0000): attribute identifiers SE devices are read for.

/// Cluster identifier.
pub const CLUSTER_ID: u16 = 0x0000;

/// Attribute identifiers.
pub mod attribute {
    /// ZCLVersion, uint8.
    pub const ZCL_VERSION: u16 = 0x0000;
    /// ApplicationVersion, uint8.
    pub const APPLICATION_VERSION: u16 = 0x0001;
    /// StackVersion, uint8.
    pub const STACK_VERSION: u16 = 0x0002;
    /// HWVersion, uint8.
    pub const HW_VERSION: u16 = 0x0003;
    /// ManufacturerName, char string (≤ 32).
    pub const MANUFACTURER_NAME: u16 = 0x0004;
    /// ModelIdentifier, char string (≤ 32).
    pub const MODEL_IDENTIFIER: u16 = 0x0005;
    /// DateCode, char string (≤ 16).
    pub const DATE_CODE: u16 = 0x0006;
    /// PowerSource, enum8.
    pub const POWER_SOURCE: u16 = 0x0007;
    /// LocationDescription, char string (≤ 16).
    pub const LOCATION_DESCRIPTION: u16 = 0x0010;
    /// PhysicalEnvironment, enum8.
    pub const PHYSICAL_ENVIRONMENT: u16 = 0x0011;
    /// DeviceEnabled, bool.
    pub const DEVICE_ENABLED: u16 = 0x0012;
    /// AlarmMask, bitmap8.
    pub const ALARM_MASK: u16 = 0x0013;
}
