//! What instruments read of a DUT.

/// What the world can see of a device without its cooperation: what its display shows, the
/// level of its load relay's output line, the set points its thermostat shows. A lab rig reads
/// the same through its instruments — a GPIO input wired to the relay line, an operator looking
/// at the display — so a conformance case that judges by these runs unchanged on hardware.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Panel {
    /// Load-control devices: whether the relay's output line is energised (load on).
    pub load_energised: Option<bool>,
    /// Displays: the message text on the screen, if any.
    pub message: Option<String>,
    /// Price clients: the price on the screen, as `0.1250 tier 2`.
    pub price: Option<String>,
    /// In-home displays: the summation shown, as `00123.456 kWh`.
    pub summation: Option<String>,
    /// In-home displays: the demand shown, as `01.500 kW`.
    pub demand: Option<String>,
    /// Thermostats: the (cooling, heating) set points in force, 0.01 °C.
    pub set_points: Option<(i16, i16)>,
}
