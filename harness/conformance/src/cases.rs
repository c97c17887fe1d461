//! The suites: every case with its ID, title, the clause it checks, preconditions, steps,
//! expected frames and timing windows, and the code that runs it on the rig.
//!
//! Clause references: "SE 1.0" is ZigBee Smart Energy 075356r15 as the facts file reads it
//! (`sep1-wire-facts.md`, with the EmberZNet reference client's reading of the DRLC rules);
//! "SMT" is the Smart Meter Texas overview (`smt-overview.txt`). The SE test specification's own
//! case numbers are not public, so IDs are hanrig's.

use super::ctx::*;
use super::e2e::*;
use super::model::{DutKind, Suite};
use std::sync::LazyLock;

/// A conformance case.
#[derive(Debug)]
pub struct Case {
    /// Identifier.
    pub id: &'static str,
    /// Suite.
    pub suite: Suite,
    /// The DUT it needs.
    pub dut: DutKind,
    /// Title.
    pub title: &'static str,
    /// The clause or source it checks.
    pub clause: &'static str,
    /// Preconditions.
    pub preconditions: &'static str,
    /// Steps.
    pub steps: &'static [&'static str],
    /// Expected frames and timing windows.
    pub expected: &'static str,
    /// Runs it.
    pub run: fn(&mut Ctx) -> Outcome,
}

/// The e2e suite's precondition.
const LAB: &str = "hanrig lab up: 15 meters over the five TDSP routes (a display, a thermostat and a load-control device on each), the demo third party's agreements in force, lossless networks at 400x";

macro_rules! case {
    ($id:literal, $suite:ident, $dut:ident, $title:literal, $clause:expr, $pre:expr, [$($step:literal),*], $expected:literal, $f:ident) => {
        $crate::cases::Case { id: $id, suite: $crate::model::Suite::$suite, dut: $crate::model::DutKind::$dut, title: $title, clause: $clause, preconditions: $pre, steps: &[$($step),*], expected: $expected, run: $f }
    };
}
pub(crate) use case;

/// Every case: the device and meter suites (by cluster, in [`super::device`] and
/// [`super::meter`]), and the e2e suite.
pub static CASES: LazyLock<Vec<&'static Case>> = LazyLock::new(|| {
    super::device::cases()
        .chain(super::meter::cases())
        .chain(E2E.iter())
        .collect()
});

/// The e2e suite.
static E2E: &[Case] = &[
    case!(
        "E2E-LCE-ONCOR",
        E2e,
        Gateway,
        "A load-control event through Oncor's MultiSpeak head-end, and each device's answer back",
        "SMT §5.6, §7 HAN APIs, Appendix A; MultiSpeak 4.1 InitiateDemandResponseEvent / DemandResponseEventNotification",
        LAB,
        [
            "POST /v1/messages/load-control to Oncor's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (DemandResponseEventNotification), displays delivered",
        lce_oncor
    ),
    case!(
        "E2E-LCE-CNP",
        E2e,
        Gateway,
        "A load-control event through CenterPoint's job head-end, and each device's answer back",
        "SMT §5.6, §7 HAN APIs; job API submit / poll",
        LAB,
        [
            "POST /v1/messages/load-control to CenterPoint's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (Report Event Status), displays delivered",
        lce_centerpoint
    ),
    case!(
        "E2E-LCE-AEPC",
        E2e,
        Gateway,
        "A load-control event through AEP Texas Central's CIM head-end, and each device's answer back",
        "SMT §5.6, §7 HAN APIs; IEC 61968-9 create EndDeviceControls 0.15.43.300 / EndDeviceEvents",
        LAB,
        [
            "POST /v1/messages/load-control to AEP Texas Central's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (EndDeviceEvent 0.15.43.287/288), displays delivered",
        lce_aep_central
    ),
    case!(
        "E2E-LCE-AEPN",
        E2e,
        Gateway,
        "A load-control event through AEP Texas North's CIM head-end, and each device's answer back",
        "SMT §5.6, §7 HAN APIs; IEC 61968-9 create EndDeviceControls 0.15.43.300 / EndDeviceEvents",
        LAB,
        [
            "POST /v1/messages/load-control to AEP Texas North's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (EndDeviceEvent 0.15.43.287/288), displays delivered",
        lce_aep_north
    ),
    case!(
        "E2E-LCE-TNMP",
        E2e,
        Gateway,
        "A load-control event through TNMP's job head-end over cellular, and each device's answer back",
        "SMT §5.6, §7 HAN APIs; job API submit / poll",
        LAB,
        [
            "POST /v1/messages/load-control to TNMP's demo meters",
            "Wait for every address to settle"
        ],
        "Thermostats and load-control devices device-acknowledged (Report Event Status), displays delivered",
        lce_tnmp
    ),
    case!(
        "E2E-TEXT-001",
        E2e,
        Gateway,
        "A text to every display, addressed by device, through every TDSP",
        "SMT §5.6 Send Simple Text; SE 1.0 Messaging Display Message",
        LAB,
        [
            "POST /v1/messages/text to every demo display's EUI64",
            "Wait for every address to settle"
        ],
        "Every display delivered",
        text_to_displays
    ),
    case!(
        "E2E-CANCEL-001",
        E2e,
        Gateway,
        "A load-control event's cancel reaches every device that runs it",
        "SMT §5.6 Cancel Load Control Event; SE 1.0 DRLC Cancel Load Control Event",
        LAB,
        [
            "POST a 10-hour load-control event to every thermostat and load-control device",
            "POST its cancel"
        ],
        "The cancel device-acknowledged (Report Event Status) at every address",
        cancel_event
    ),
    case!(
        "E2E-AGREE-001",
        E2e,
        Gateway,
        "No message without an In-Home Device Services Agreement",
        "SMT §5.5.4 Table 5, §5.6 (Third Parties need an agreement in force)",
        LAB,
        ["POST a text to a demo meter and to a meter without an agreement"],
        "403 naming only the meter without an agreement; nothing accepted",
        no_agreement
    ),
    case!(
        "E2E-DEVICE-001",
        E2e,
        Gateway,
        "A replaced device is provisioned again through every TDSP's head-end",
        "SMT §5.6 Add / Remove an In-Home Device, Table 5 agreements; MultiSpeak InitiateHANRegistration, CIM pairing window 0.10.73.298, job Provision",
        LAB,
        [
            "Remove a thermostat on one meter of every TDSP route (device-replaced)",
            "Invite the customer to new agreements; the customer accepts",
            "POST /v1/devices with its install code; wait for provisioning",
            "Send a load-control event to the devices"
        ],
        "403 while no agreement is in force; then pending → provisioned (history requested, sent, provisioned) and the event device-acknowledged",
        device_lifecycle
    ),
    case!(
        "E2E-GROUP-001",
        E2e,
        Gateway,
        "A utility enrollment group decides which load-control events a device runs",
        "SMT §5.6 Update Utility Enrollment Group; SE 1.0 DRLC client UtilityEnrollmentGroup (0x0000)",
        LAB,
        [
            "POST /v1/enrollment-groups group 5 to CenterPoint's and TNMP's thermostats and load-control devices",
            "POST a load-control event for group 7, then one for group 5"
        ],
        "Write Attributes Response from every device; the group-7 event delivered but not run, the group-5 event reported",
        enrollment_group
    ),
];
