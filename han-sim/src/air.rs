//! The radio side of a simulated co-processor: its [`Coordinator`] on a simulated medium with
//! simulated devices. Shared by the simulated EZSP and ZNP co-processors, which differ only in
//! how their hosts talk to them.

use hanrig_sep::Eui64;
use hanrig_sep::install_code::Key;

use crate::clock::SimTime;
use crate::coordinator::{Coordinator, HostEvent};
use crate::device::{JoinState, SimDevice};
use crate::sim::{Happening, MediumConfig, Node, Simulation};

/// The start of a co-processor's own medium time (when it is not a scenario's).
const EPOCH: u64 = 1_780_000_000;

/// A co-processor's medium.
#[derive(Debug)]
pub struct Air {
    /// The simulation.
    pub sim: Simulation,
    /// When the co-processor's clock read 0.
    pub start: SimTime,
    /// The coordinator's node index.
    pub coordinator: usize,
    /// Devices try to join whenever the host permits joining (otherwise they join when their
    /// scenario says).
    pub join_on_permit: bool,
    /// Time moves only when the host says so, not with the wall clock.
    pub virtual_clock: bool,
}

impl Air {
    /// A coordinator `name` on PAN `pan`, `channel`, with `devices` in range that try to join
    /// whenever joining is permitted; time follows the host's clock.
    pub fn with_devices(
        name: &str,
        eui: Eui64,
        (pan, channel): (u16, u8),
        network_key: Key,
        devices: Vec<SimDevice>,
    ) -> Air {
        let start = SimTime::from_unix_seconds(EPOCH);
        let coordinator = Coordinator::new(name, eui, pan, channel, network_key);
        let mut nodes = vec![Node::Coordinator(Box::new(coordinator))];
        nodes.extend(devices.into_iter().map(|d| Node::Device(Box::new(d))));
        Air {
            sim: Simulation::new(nodes, MediumConfig::default(), 1, start),
            start,
            coordinator: 0,
            join_on_permit: true,
            virtual_clock: false,
        }
    }

    /// A scenario's simulation whose node `coordinator` is the co-processor's, on virtual time.
    pub fn scenario(sim: Simulation, coordinator: usize) -> Air {
        Air {
            start: sim.now(),
            sim,
            coordinator,
            join_on_permit: false,
            virtual_clock: true,
        }
    }

    /// The coordinator.
    pub fn coordinator(&mut self) -> Option<&mut Coordinator> {
        match self.sim.nodes.get_mut(self.coordinator) {
            Some(Node::Coordinator(c)) => Some(c),
            _ => None,
        }
    }

    /// Runs the medium up to `now_us` of the host's clock (unless time is virtual).
    pub fn follow(&mut self, now_us: u64) {
        if self.virtual_clock {
            return;
        }
        let until = self.start.plus(now_us);
        if until > self.sim.now() {
            self.sim.run_until(until);
        }
    }

    /// What the coordinator has for its host.
    pub fn take_events(&mut self) -> Vec<HostEvent> {
        self.coordinator()
            .map(|c| c.events.drain(..).collect())
            .unwrap_or_default()
    }

    /// Opens joining for `seconds` (0xFF: until closed; 0: closes); with `join_on_permit`,
    /// every device not in the network tries to join.
    pub fn permit_joining(&mut self, seconds: u8) -> bool {
        let now = self.sim.now();
        let until = match seconds {
            0 => None,
            0xFF => Some(SimTime(u64::MAX)),
            s => Some(now.plus(u64::from(s) * SimTime::SECOND)),
        };
        let Some(c) = self.coordinator() else {
            return false;
        };
        c.permit_joining(until);
        let network = (c.pan(), c.channel);
        if until.is_some() && self.join_on_permit {
            // Devices not in the network scan for one that permits joining, and find it.
            for node in &mut self.sim.nodes {
                if let Node::Device(d) = node {
                    d.tune(network);
                }
            }
            self.sim.refresh_neighbours();
            for index in 0..self.sim.nodes.len() {
                if matches!(&self.sim.nodes[index], Node::Device(d) if d.state != JoinState::Joined)
                {
                    self.sim.schedule(
                        now.plus(100_000),
                        Happening::Act(Box::new(move |now, nodes, log| match &mut nodes[index] {
                            // A device already joining or joined does not start again.
                            Node::Device(d)
                                if matches!(d.state, JoinState::Idle | JoinState::Refused(_)) =>
                            {
                                vec![(index, d.start_join(now, log))]
                            }
                            _ => Vec::new(),
                        })),
                    );
                }
            }
        }
        true
    }

    /// Loads the link key `eui` will join with.
    pub fn add_transient_key(&mut self, eui: Eui64, key: Key) -> bool {
        self.coordinator()
            .map(|c| c.add_transient_key(eui, key))
            .is_some()
    }

    /// Sends an APS data frame from the coordinator; returns its APS counter, `None` when the
    /// destination is not a member.
    #[allow(clippy::too_many_arguments)]
    pub fn send_unicast(
        &mut self,
        destination: u16,
        profile: u16,
        cluster: u16,
        source_endpoint: u8,
        destination_endpoint: u8,
        aps_encryption: bool,
        payload: &[u8],
    ) -> Option<u8> {
        let (frame, sequence) = self.coordinator()?.send_unicast(
            destination,
            profile,
            cluster,
            source_endpoint,
            destination_endpoint,
            aps_encryption,
            payload,
        )?;
        self.sim.send_from(self.coordinator, vec![frame]);
        Some(sequence)
    }

    /// The simulated devices' join states, by name.
    pub fn devices(&self) -> Vec<(String, JoinState)> {
        self.sim
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Device(d) => Some((d.name.clone(), d.state)),
                _ => None,
            })
            .collect()
    }
}
