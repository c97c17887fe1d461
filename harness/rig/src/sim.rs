//! The simulated rigs' runs: a case's network on the simulated medium — in this process, or
//! with the rig's meter behind the host driver and a simulated co-processor (`sim-serial`), or
//! with the DUT in a process of its own (`sim-blackbox`). The DUT's panel is read only at the
//! probes' times, as an instrument reads a real one; the verdicts get what the rig heard.

use std::sync::{Arc, Mutex};

use hanrig_conformance::air::Air;
use hanrig_conformance::ctx::{CaseError, parties, start_us};
use hanrig_conformance::instrument::Sample;
use hanrig_conformance::rig::{Capture, Observed};
use hanrig_scenario::clock::SimTime;
use hanrig_scenario::mutant::Mutant;
use hanrig_scenario::panel::Panel;
use hanrig_scenario::scenario::Scenario;
use hanrig_sim::scenario::Simulate;
use hanrig_sim::sim::{Happening, Node, Simulation};

use crate::serial::SerialRadio;

/// What the DUT showed the world at each probe of a run, by probe index.
pub type Looks = Arc<Mutex<Vec<(usize, Panel)>>>;

/// Schedules a look at the DUT's panel (what an instrument or a person sees of it) at each
/// probe's time; the looks land in the returned list as the run passes them.
pub fn schedule_looks(simulation: &mut Simulation, samples: &[Sample]) -> Looks {
    let looks: Looks = Arc::default();
    let Some(dut) = simulation.node_index("dut") else {
        return looks;
    };
    let start = SimTime(start_us());
    for (index, sample) in samples.iter().enumerate() {
        let looks = Arc::clone(&looks);
        simulation.schedule(
            start.plus(sample.at_ms * 1000),
            Happening::Act(Box::new(move |now, nodes, _log| {
                let panel = match nodes.get_mut(dut) {
                    Some(Node::Device(d)) => Some(d.panel(now)),
                    // A DUT in its own process answers over its instrument channel.
                    Some(Node::Remote(r)) => r.panel(now),
                    _ => None,
                };
                if let (Some(panel), Ok(mut looks)) = (panel, looks.lock()) {
                    looks.push((index, panel));
                }
                Vec::new()
            })),
        );
    }
    looks
}

/// Runs `scenario` with `mutant` playing its DUT: in process (`radio` `None`), or through the
/// simulated co-processor `radio`.
pub fn run(
    scenario: &Scenario,
    mutant: Option<Mutant>,
    radio: Option<&SerialRadio>,
    samples: &mut [Sample],
) -> Result<Observed, CaseError> {
    let parties = parties(scenario)?;
    let meter_dut = scenario.meters.iter().any(|m| m.name == "dut");
    let (output, looks) = if let Some(radio) = radio.filter(|_| !meter_dut) {
        crate::serial::run(scenario, mutant, radio, samples)?
    } else {
        // A meter DUT sits among the rig's devices on the medium: in this process, or — on a
        // black-box rig — in a process of its own, reached over the air and the utility's
        // channel.
        let mut built = scenario
            .build()
            .map_err(|e| CaseError::Rig(format!("case scenario: {e}")))?;
        let program = radio.and_then(|r| r.dut_program.clone());
        match mutant {
            _ if program.is_some() => {
                if let (Some(p), Some(index)) = (&program, built.simulation.node_index("dut")) {
                    let dut = crate::serial::spawn_meter_dut(p, scenario, mutant)?;
                    built
                        .simulation
                        .replace_node(index, Node::Remote(Box::new(dut)));
                }
            }
            Some(m) if m.is_meter() => {
                if let Some(meter) = built.meter_mut("dut") {
                    meter.app.mutant = Some(m);
                }
            }
            Some(m) => {
                if let Some(dut) = built.device_mut("dut") {
                    dut.set_mutant(m);
                }
            }
            None => {}
        }
        let looks = schedule_looks(&mut built.simulation, samples);
        let output = built
            .run()
            .map_err(|e| CaseError::Rig(format!("case run: {e}")))?;
        if let Some(Node::Remote(dut)) = output
            .simulation
            .node_index("dut")
            .map(|i| &output.simulation.nodes[i])
            && let Some(e) = &dut.error
        {
            return Err(CaseError::Rig(e.clone()));
        }
        (output, looks)
    };
    if let Ok(looks) = looks.lock() {
        for (index, panel) in looks.iter() {
            if let Some(s) = samples.get_mut(*index) {
                s.reading = Some(s.probe.answer(panel));
            }
        }
    }
    // The rig opens frames only with keys it holds itself: a key Key Establishment gave only
    // the DUT (one it derived wrongly) is not the rig's.
    let dut_only = dut_only_keys(&output.simulation);
    let keys: Vec<_> = output
        .keys
        .keys
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !dut_only.contains(k))
        .collect();
    let air = Air::from_capture(
        output.capture.iter().map(|(t, _, b)| (t.0, &b[..])),
        &keys,
        &parties,
    );
    Ok(Observed {
        air,
        end_us: output.simulation.now().0,
        capture: Some(Capture {
            frames: output
                .capture
                .iter()
                .map(|(t, _, b)| (t.0, b.clone()))
                .collect(),
            keys: output.keys,
        }),
    })
}

/// The Key Establishment keys the node `dut` holds that no other node holds.
fn dut_only_keys(sim: &Simulation) -> Vec<[u8; 16]> {
    let held = |node: &Node| -> Vec<[u8; 16]> {
        match node {
            Node::Esi(esi) => esi.cbke_keys().iter().map(|(_, k)| *k).collect(),
            Node::Device(d) => d.cbke_key().into_iter().collect(),
            // The rig's radio: the link keys of its members.
            Node::Coordinator(c) => c.members().iter().map(|m| m.link_key).collect(),
            Node::Remote(_) => Vec::new(),
        }
    };
    let Some(dut) = sim.node_index("dut") else {
        return Vec::new();
    };
    let rig: Vec<[u8; 16]> = sim
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != dut)
        .flat_map(|(_, n)| held(n))
        .collect();
    held(&sim.nodes[dut])
        .into_iter()
        .filter(|k| !rig.contains(k))
        .collect()
}
