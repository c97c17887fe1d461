//! The simulation: nodes on a shared radio medium, driven by a queue of timed events on
//! virtual time. Deterministic: the same nodes, actions and seed give the same run, byte for
//! byte.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use hanrig_device::Rng;

use crate::clock::SimTime;
use crate::device::SimDevice;
use crate::esi::Esi;
use crate::log::Log;

/// How the radio medium treats frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediumConfig {
    /// Delay from transmission to reception, µs.
    pub latency_us: u64,
    /// Probability that a receiver misses a frame.
    pub loss: f64,
    /// Probability that a receiver gets a frame twice.
    pub duplication: f64,
}

impl Default for MediumConfig {
    fn default() -> Self {
        MediumConfig {
            latency_us: 2_000,
            loss: 0.0,
            duplication: 0.0,
        }
    }
}

/// A node on the medium.
#[derive(Debug)]
pub enum Node {
    /// A meter's ESI.
    Esi(Box<Esi>),
    /// An in-home device.
    Device(Box<SimDevice>),
    /// The coordinator inside a simulated co-processor (its host runs the application).
    Coordinator(Box<crate::coordinator::Coordinator>),
    /// A device under test in a process of its own, reached over its radio link.
    Remote(Box<crate::remote::RemoteDut>),
}

impl Node {
    /// The radio channel and PAN the node listens on.
    fn network(&self) -> (u8, u16) {
        match self {
            Node::Esi(e) => (e.channel, e.pan()),
            Node::Device(d) => (d.channel, d.pan()),
            Node::Coordinator(c) => (c.channel, c.pan()),
            Node::Remote(r) => (r.channel, r.pan),
        }
    }
    fn name(&self) -> &str {
        match self {
            Node::Esi(e) => &e.name,
            Node::Device(d) => &d.name,
            Node::Coordinator(c) => &c.name,
            Node::Remote(r) => &r.name,
        }
    }
    fn next_timeout(&self) -> Option<SimTime> {
        match self {
            Node::Esi(e) => e.next_timeout(),
            Node::Coordinator(_) => None,
            Node::Device(d) => d.next_timeout(),
            Node::Remote(r) => r.next_timeout(),
        }
    }
}

/// A step from outside: acts on the nodes at a time and returns the frames each node sends.
pub type Act = Box<dyn FnOnce(SimTime, &mut [Node], &mut Log) -> Vec<(usize, Vec<Vec<u8>>)> + Send>;

/// Something that happens at a time.
pub enum Happening {
    /// A frame reaches a node.
    Deliver {
        /// The receiving node.
        to: usize,
        /// The frame.
        frame: Vec<u8>,
    },
    /// A node's timer.
    Wake(usize),
    /// Something from outside (a scenario step): it acts on the nodes and returns the frames
    /// each node sends as a result.
    Act(Act),
}

impl std::fmt::Debug for Happening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Happening::Deliver { to, frame } => {
                write!(f, "Deliver {{ to: {to}, {} bytes }}", frame.len())
            }
            Happening::Wake(n) => write!(f, "Wake({n})"),
            Happening::Act(_) => f.write_str("Act"),
        }
    }
}

/// The simulation.
#[derive(Debug)]
pub struct Simulation {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The event log.
    pub log: Log,
    /// Every frame sent, with its time and channel: what a sniffer on each channel hears.
    pub capture: Vec<(SimTime, u8, Vec<u8>)>,
    /// Whether frames are kept in `capture` (off for large runs).
    pub keep_capture: bool,
    /// Nodes by (channel, PAN): a frame reaches the nodes of its sender's PAN; nodes of other
    /// PANs on the channel would drop it at the MAC layer anyway.
    neighbours: std::collections::HashMap<(u8, u16), Vec<usize>>,
    medium: MediumConfig,
    rng: Rng,
    now: SimTime,
    seq: u64,
    queue: BinaryHeap<Reverse<(SimTime, u64)>>,
    pending: std::collections::HashMap<u64, Happening>,
    wake_at: Vec<Option<SimTime>>,
}

impl Simulation {
    /// A simulation starting at `start`.
    pub fn new(nodes: Vec<Node>, medium: MediumConfig, seed: u64, start: SimTime) -> Self {
        let wake_at = vec![None; nodes.len()];
        let mut neighbours: std::collections::HashMap<(u8, u16), Vec<usize>> =
            std::collections::HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            neighbours.entry(node.network()).or_default().push(i);
        }
        Simulation {
            nodes,
            log: Log::default(),
            capture: Vec::new(),
            keep_capture: true,
            neighbours,
            medium,
            rng: Rng::new(seed),
            now: start,
            seq: 0,
            queue: BinaryHeap::new(),
            pending: std::collections::HashMap::new(),
            wake_at,
        }
    }

    /// Current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `what` at `at`.
    pub fn schedule(&mut self, at: SimTime, what: Happening) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.pending.insert(self.seq, what);
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < p
    }

    /// Puts `frames` from node `from` on the air at `now`.
    fn transmit(&mut self, now: SimTime, from: usize, frames: Vec<Vec<u8>>) {
        let network = self.nodes[from].network();
        let receivers: Vec<usize> = self
            .neighbours
            .get(&network)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&to| to != from)
            .collect();
        for frame in frames {
            if self.keep_capture {
                self.capture.push((now, network.0, frame.clone()));
            }
            for &to in &receivers {
                if self.chance(self.medium.loss) {
                    continue;
                }
                let at = now.plus(self.medium.latency_us);
                if self.chance(self.medium.duplication) {
                    self.schedule(
                        at.plus(1_000),
                        Happening::Deliver {
                            to,
                            frame: frame.clone(),
                        },
                    );
                }
                self.schedule(
                    at,
                    Happening::Deliver {
                        to,
                        frame: frame.clone(),
                    },
                );
            }
        }
    }

    fn rearm(&mut self, node: usize) {
        let next = self.nodes[node].next_timeout().map(|t| t.max(self.now));
        if next.is_some() && next != self.wake_at[node] {
            self.wake_at[node] = next;
            if let Some(at) = next {
                self.schedule(at, Happening::Wake(node));
            }
        }
    }

    /// Runs every happening up to and including `until`; the clock ends at `until`.
    pub fn run_until(&mut self, until: SimTime) {
        self.run_until_or(until, |_| false);
    }

    /// Runs happenings up to and including `until`, stopping right after the first one after
    /// which `stop` holds (the clock then stays at that happening's time; it ends at `until`
    /// otherwise). Returns the clock.
    pub fn run_until_or(
        &mut self,
        until: SimTime,
        mut stop: impl FnMut(&[Node]) -> bool,
    ) -> SimTime {
        for node in 0..self.nodes.len() {
            self.rearm(node);
        }
        while let Some(&Reverse((at, seq))) = self.queue.peek() {
            if at > until {
                break;
            }
            self.queue.pop();
            let Some(what) = self.pending.remove(&seq) else {
                continue;
            };
            self.now = at;
            match what {
                Happening::Deliver { to, frame } => {
                    let out = match &mut self.nodes[to] {
                        Node::Esi(e) => e.receive(at, &frame, &mut self.log),
                        Node::Device(d) => d.receive(at, &frame, &mut self.log),
                        Node::Coordinator(c) => c.receive(at, &frame, &mut self.log),
                        Node::Remote(r) => r.receive(at, &frame),
                    };
                    self.transmit(at, to, out);
                    self.rearm(to);
                }
                Happening::Wake(node) => {
                    if self.wake_at[node] != Some(at) {
                        continue; // superseded by a later re-arm
                    }
                    self.wake_at[node] = None;
                    let out = match &mut self.nodes[node] {
                        Node::Esi(e) => e.handle_timeout(at, &mut self.log),
                        Node::Coordinator(_) => Vec::new(),
                        Node::Device(d) => d.handle_timeout(at, &mut self.log),
                        Node::Remote(r) => r.handle_timeout(at),
                    };
                    self.transmit(at, node, out);
                    self.rearm(node);
                }
                Happening::Act(act) => {
                    for (node, frames) in act(at, &mut self.nodes, &mut self.log) {
                        self.transmit(at, node, frames);
                        self.rearm(node);
                    }
                }
            }
            if stop(&self.nodes) {
                return self.now;
            }
        }
        self.now = until;
        self.now
    }

    /// Puts `node` in place of node `index` (e.g. a meter's ESI replaced by a co-processor's
    /// coordinator whose host runs the meter's application).
    pub fn replace_node(&mut self, index: usize, node: Node) {
        self.nodes[index] = node;
        self.refresh_neighbours();
    }

    /// Sorts the nodes by the channel and PAN they listen on again (after a node moved).
    pub fn refresh_neighbours(&mut self) {
        self.neighbours.clear();
        for (i, node) in self.nodes.iter().enumerate() {
            self.neighbours.entry(node.network()).or_default().push(i);
        }
    }

    /// Puts frames from node `from` on the air now (for nodes driven from outside, such as a
    /// co-processor's coordinator answering its host).
    pub fn send_from(&mut self, from: usize, frames: Vec<Vec<u8>>) {
        let now = self.now;
        self.transmit(now, from, frames);
        self.rearm(from);
    }

    /// Index of the node called `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name() == name)
    }
}
