//! What the harness asks of a rig, and all it gets back: the frames the rig heard on the air
//! and its instruments' readings. The rigs themselves (`hanrig-rig`: in process, a simulated
//! co-processor, the black box, the lab bench) implement [`Rig`]; this crate does not depend on
//! the simulator, so no case can judge a DUT by its insides.

use hanrig_scenario::mutant::Mutant;
use hanrig_scenario::scenario::Scenario;
use hanrig_sep::capture::KeyFile;

use super::air::Air;
use super::ctx::CaseError;
use super::instrument::{Instruments, Sample};
use super::model::DutKind;

/// A rig that runs cases.
pub trait Rig: std::fmt::Debug + Send + Sync {
    /// What it is, what it can run, and with which instruments.
    fn profile(&self) -> &Profile;

    /// Runs a case's network (its node called `dut` is the device under test; on a lab rig, the
    /// DUT on the bench), with `mutant` playing a simulated DUT. Each sample is read at its
    /// time; what the rig heard comes back.
    fn run(
        &self,
        scenario: &Scenario,
        mutant: Option<Mutant>,
        samples: &mut [Sample],
    ) -> Result<Observed, CaseError>;
}

/// A rig's description.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Name in reports.
    pub name: String,
    /// The rig file.
    pub file: String,
    /// The DUT, for reports.
    pub dut: String,
    /// The radio, for reports.
    pub radio: String,
    /// The DUT kinds it can play or hold.
    pub kinds: Vec<DutKind>,
    /// The instruments it has.
    pub instruments: Instruments,
    /// Seconds a DUT may lag a deadline (its clock's tick, its radio's retries): 0 on simulated
    /// rigs, which are exact.
    pub tolerance_s: u64,
    /// Whether its DUT is a real device on a bench (a mutant cannot play it).
    pub real_dut: bool,
}

impl Profile {
    /// Whether the rig's DUT can play a case's DUT kind.
    pub fn supports(&self, kind: DutKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// What a rig observed of one run.
#[derive(Debug, Default)]
pub struct Observed {
    /// The frames it heard, decoded with the keys it holds itself.
    pub air: Air,
    /// Where the run ended, µs since 1970 on the case's clock.
    pub end_us: u64,
    /// The run's capture, for the report (not for verdicts).
    pub capture: Option<Capture>,
}

/// A run's frames on the air, with the keys that open them.
#[derive(Debug, Default, Clone)]
pub struct Capture {
    /// (µs since 1970, the 802.15.4 frame).
    pub frames: Vec<(u64, Vec<u8>)>,
    /// The keys.
    pub keys: KeyFile,
}
