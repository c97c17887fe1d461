//! In-home devices the gateway provisions on a meter: the request (ESIID, EUI64, install code
//! with its CRC checked, device type, description) and a device's life.

use hanrig_sep::Eui64;
use hanrig_sep::install_code::InstallCode;
use serde::{Deserialize, Serialize};

use crate::esiid::{Esiid, EsiidError};

/// Devices one meter's ESI admits at most (Landis+Gyr's figure for its ESI).
pub const DEVICES_PER_METER: usize = 5;

/// What kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum DeviceType {
    /// An in-home display.
    InHomeDisplay,
    /// A programmable communicating thermostat.
    Thermostat,
    /// A load-control device (pool pump, water heater switch).
    LoadControl,
    /// A smart appliance.
    SmartAppliance,
    /// A range extender.
    RangeExtender,
}

/// Why a device is removed (the fixed list the API offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RemovalReason {
    /// The customer asked.
    CustomerRequest,
    /// The device was replaced.
    DeviceReplaced,
    /// The device is broken.
    DeviceFailed,
    /// The customer moved out.
    MoveOut,
    /// The third party ended its service.
    ServiceEnded,
}

/// A device's provisioning state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum DeviceState {
    /// Sent to the TDSP's head-end; the meter has not answered yet.
    Pending,
    /// The meter admitted it.
    Provisioned,
    /// Provisioning failed.
    Failed {
        /// Why, as the head-end said it.
        reason: String,
    },
    /// Removed.
    Removed {
        /// Why.
        reason: RemovalReason,
    },
}

impl DeviceState {
    /// Whether the device counts against its meter's limit (pending or provisioned).
    pub fn occupies_meter(&self) -> bool {
        matches!(self, DeviceState::Pending | DeviceState::Provisioned)
    }
}

/// Why a device request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The ESIID.
    #[error(transparent)]
    Esiid(#[from] EsiidError),
    /// The EUI64.
    #[error("EUI64 {0:?}: 16 hex digits, optionally separated by ':' or '-'")]
    Eui64(String),
    /// The install code (its CRC included).
    #[error("install code: {0}")]
    InstallCode(String),
    /// The description.
    #[error("description: at most 64 characters ({0} given)")]
    Description(usize),
    /// The meter has its limit.
    #[error("ESIID {esiid} already has {count} devices, the most one meter admits")]
    MeterFull {
        /// The meter.
        esiid: Esiid,
        /// Devices pending or provisioned on it.
        count: usize,
    },
    /// The device is already on a meter.
    #[error("device {0} is already pending or provisioned")]
    Duplicate(Eui64),
}

/// A request to add a device, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    /// The meter.
    pub esiid: Esiid,
    /// The device.
    pub eui64: Eui64,
    /// Its install code (CRC checked).
    pub install_code: InstallCode,
    /// What it is.
    pub device_type: DeviceType,
    /// A description for the customer.
    pub description: String,
}

impl DeviceRequest {
    /// Checks the request's fields as the API receives them.
    pub fn new(
        esiid: &str,
        eui64: &str,
        install_code: &str,
        device_type: DeviceType,
        description: &str,
    ) -> Result<DeviceRequest, DeviceError> {
        let esiid: Esiid = esiid.parse()?;
        let eui64: Eui64 = eui64
            .parse()
            .map_err(|_| DeviceError::Eui64(eui64.to_string()))?;
        let install_code: InstallCode = install_code
            .parse()
            .map_err(|e| DeviceError::InstallCode(format!("{e}")))?;
        let n = description.chars().count();
        if n > 64 {
            return Err(DeviceError::Description(n));
        }
        Ok(DeviceRequest {
            esiid,
            eui64,
            install_code,
            device_type,
            description: description.to_string(),
        })
    }

    /// Checks the request against the devices already known: the meter's limit and the
    /// device not being active elsewhere. `known` is every device with its meter and state.
    pub fn admissible<'a>(
        &self,
        known: impl IntoIterator<Item = (&'a Esiid, Eui64, &'a DeviceState)>,
    ) -> Result<(), DeviceError> {
        let mut on_meter = 0;
        for (esiid, eui, state) in known {
            if !state.occupies_meter() {
                continue;
            }
            if eui == self.eui64 {
                return Err(DeviceError::Duplicate(eui));
            }
            if *esiid == self.esiid {
                on_meter += 1;
            }
        }
        if on_meter >= DEVICES_PER_METER {
            return Err(DeviceError::MeterFull {
                esiid: self.esiid.clone(),
                count: on_meter,
            });
        }
        Ok(())
    }
}
