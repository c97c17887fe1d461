//! A device or meter under test in a process of its own, reachable only as a lab DUT is: over
//! the air — 802.15.4 frames to and from its radio — and through an instrument channel (what a
//! device shows the world and a person's hands on its buttons; for a meter, the utility's
//! commands that reach it through its head-end). `hanrig sim dut` serves one simulated DUT this
//! way; [`RemoteDut`] is its node on a simulated medium.
//!
//! The link is one TCP connection on loopback carrying JSON lines. The medium keeps the clock:
//! every request names the virtual time it happens at, and every reply says when the device next
//! needs its timers, so the device lives on the medium's virtual time without a clock of its
//! own.
//!
//! ```text
//! device → medium, once:  {"name":"dut","eui64":"00:12:…","pan":6754,"channel":15}
//! medium → device:        {"op":"join","t_us":…} | {"op":"receive","t_us":…,"frame":"41c8…"}
//!                         | {"op":"wake","t_us":…} | {"op":"panel","t_us":…}
//!                         | {"op":"user","t_us":…,"action":{"opt_out":{"issuer_event_id":7}}}
//!                         | {"op":"utility","t_us":…,"what":{"publish":{"name":"publish_price",…}}}
//! device → medium:        {"frames":["…"],"next_timeout_us":…,"panel":null|{…}}
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Child;

use hanrig_sep::Eui64;
use serde::{Deserialize, Serialize};

use crate::clock::SimTime;
use crate::device::{Panel, SimDevice};
use crate::esi::{Esi, Utility};
use crate::log::Log;

/// What `hanrig sim dut` plays.
#[derive(Debug)]
pub enum Dut {
    /// An in-home device.
    Device(Box<SimDevice>),
    /// A meter's ESI.
    Meter(Box<Esi>),
}

impl Dut {
    fn hello(&self) -> Hello {
        match self {
            Dut::Device(d) => Hello {
                name: d.name.clone(),
                eui64: d.eui().to_string(),
                pan: d.pan(),
                channel: d.channel,
            },
            Dut::Meter(m) => Hello {
                name: m.name.clone(),
                eui64: m.eui().to_string(),
                pan: m.pan(),
                channel: m.channel,
            },
        }
    }

    fn next_timeout(&self) -> Option<SimTime> {
        match self {
            Dut::Device(d) => d.next_timeout(),
            Dut::Meter(m) => m.next_timeout(),
        }
    }
}

/// What a person does at a device: the instrument channel's hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserAction {
    /// Confirms a message on the display.
    ConfirmMessage {
        /// The message.
        message_id: u32,
    },
    /// Opts out of a load control event.
    OptOut {
        /// The event.
        issuer_event_id: u32,
    },
    /// Opts back in.
    OptIn {
        /// The event.
        issuer_event_id: u32,
    },
    /// Asks the display to read the meter again.
    ReadMetering,
}

impl SimDevice {
    /// Carries out a person's action at the device.
    pub fn user(&mut self, now: SimTime, action: UserAction, log: &mut Log) -> Vec<Vec<u8>> {
        match action {
            UserAction::ConfirmMessage { message_id } => self.confirm_message(now, message_id, log),
            UserAction::OptOut { issuer_event_id } => self.opt(now, issuer_event_id, true, log),
            UserAction::OptIn { issuer_event_id } => self.opt(now, issuer_event_id, false, log),
            UserAction::ReadMetering => self.read_metering(now, log),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Hello {
    name: String,
    eui64: String,
    pan: u16,
    channel: u8,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Join { t_us: u64 },
    Receive { t_us: u64, frame: String },
    Wake { t_us: u64 },
    Panel { t_us: u64 },
    User { t_us: u64, action: UserAction },
    Utility { t_us: u64, what: Box<Utility> },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Reply {
    frames: Vec<String>,
    next_timeout_us: Option<u64>,
    panel: Option<Panel>,
}

/// The longest line either side accepts: a frame is at most 127 bytes, a panel a few hundred.
const MAX_LINE: usize = 16 * 1024;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 2 * 127 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn read_line<R: BufRead>(reader: &mut R) -> io::Result<String> {
    let mut line = String::new();
    let n = Read::take(&mut *reader, MAX_LINE as u64 + 1).read_line(&mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the other side closed the link",
        ));
    }
    if n > MAX_LINE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a line over {MAX_LINE} bytes"),
        ));
    }
    Ok(line)
}

fn bad(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Serves `dut` to the first medium that connects to `listener`, until it hangs up.
pub fn serve_dut(listener: TcpListener, mut dut: Dut) -> io::Result<()> {
    let (stream, _) = listener.accept()?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writeln!(
        writer,
        "{}",
        serde_json::to_string(&dut.hello()).map_err(bad)?
    )?;
    // The device's own log stays here: nobody outside reads a DUT's internals.
    let mut log = Log {
        discard: true,
        ..Log::default()
    };
    loop {
        let line = match read_line(&mut reader) {
            Ok(line) => line,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        let request: Request = serde_json::from_str(&line).map_err(bad)?;
        let mut reply = Reply::default();
        let frames = match (&mut dut, request) {
            (Dut::Device(d), Request::Join { t_us }) => d.start_join(SimTime(t_us), &mut log),
            (Dut::Device(d), Request::Receive { t_us, frame }) => {
                let frame = unhex(&frame).ok_or_else(|| bad("a frame that is not hex"))?;
                d.receive(SimTime(t_us), &frame, &mut log)
            }
            (Dut::Meter(m), Request::Receive { t_us, frame }) => {
                let frame = unhex(&frame).ok_or_else(|| bad("a frame that is not hex"))?;
                m.receive(SimTime(t_us), &frame, &mut log)
            }
            (Dut::Device(d), Request::Wake { t_us }) => d.handle_timeout(SimTime(t_us), &mut log),
            (Dut::Meter(m), Request::Wake { t_us }) => m.handle_timeout(SimTime(t_us), &mut log),
            (Dut::Device(d), Request::Panel { t_us }) => {
                reply.panel = Some(d.panel(SimTime(t_us)));
                Vec::new()
            }
            (Dut::Device(d), Request::User { t_us, action }) => {
                d.user(SimTime(t_us), action, &mut log)
            }
            (Dut::Meter(m), Request::Utility { t_us, what }) => {
                let out = m.app.utility(SimTime(t_us), *what, &mut log);
                m.transmit(out)
            }
            // What a DUT of the other kind cannot do (a meter's buttons, a device's head-end):
            // nothing happens, as on the bench.
            (_, _) => Vec::new(),
        };
        reply.frames = frames.iter().map(|f| hex(f)).collect();
        reply.next_timeout_us = dut.next_timeout().map(|t| t.0);
        writeln!(writer, "{}", serde_json::to_string(&reply).map_err(bad)?)?;
    }
}

/// A device under test served by another process ([`serve_dut`]), as a node of the medium.
#[derive(Debug)]
pub struct RemoteDut {
    /// Its name, as it says.
    pub name: String,
    /// Its EUI64, as it says.
    pub eui: Eui64,
    /// The PAN it joins.
    pub pan: u16,
    /// Its channel.
    pub channel: u8,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next: Option<SimTime>,
    child: Option<Child>,
    /// The first failure of the link (the process died, it sent garbage): the run is the rig's
    /// failure, not the DUT's.
    pub error: Option<String>,
}

impl RemoteDut {
    /// Connects to a device served at `address`; `child` is its process, ended on drop.
    pub fn connect(address: &str, child: Option<Child>) -> io::Result<RemoteDut> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        let hello: Hello = serde_json::from_str(&read_line(&mut reader)?).map_err(bad)?;
        Ok(RemoteDut {
            name: hello.name,
            eui: hello
                .eui64
                .parse()
                .map_err(|_| bad("a bad EUI64 in hello"))?,
            pan: hello.pan,
            channel: hello.channel,
            reader,
            writer,
            next: None,
            child,
            error: None,
        })
    }

    /// When it next needs its timers.
    pub fn next_timeout(&self) -> Option<SimTime> {
        self.next
    }

    fn call(&mut self, request: &Request) -> Reply {
        if self.error.is_some() {
            return Reply::default();
        }
        let result = serde_json::to_string(request)
            .map_err(bad)
            .and_then(|line| writeln!(self.writer, "{line}"))
            .and_then(|()| read_line(&mut self.reader))
            .and_then(|line| serde_json::from_str::<Reply>(&line).map_err(bad));
        match result {
            Ok(reply) => {
                self.next = reply.next_timeout_us.map(SimTime);
                reply
            }
            Err(e) => {
                self.error = Some(format!("the DUT process's link failed: {e}"));
                self.next = None;
                Reply::default()
            }
        }
    }

    fn frames(&mut self, request: &Request) -> Vec<Vec<u8>> {
        let reply = self.call(request);
        let frames: Option<Vec<Vec<u8>>> = reply.frames.iter().map(|f| unhex(f)).collect();
        frames.unwrap_or_else(|| {
            self.error = Some("the DUT process sent a frame that is not hex".into());
            Vec::new()
        })
    }

    /// It starts joining.
    pub fn start_join(&mut self, now: SimTime) -> Vec<Vec<u8>> {
        self.frames(&Request::Join { t_us: now.0 })
    }

    /// A frame reaches its radio.
    pub fn receive(&mut self, now: SimTime, frame: &[u8]) -> Vec<Vec<u8>> {
        self.frames(&Request::Receive {
            t_us: now.0,
            frame: hex(frame),
        })
    }

    /// Its timers run up to `now`.
    pub fn handle_timeout(&mut self, now: SimTime) -> Vec<Vec<u8>> {
        self.frames(&Request::Wake { t_us: now.0 })
    }

    /// A person acts at it.
    pub fn user(&mut self, now: SimTime, action: UserAction) -> Vec<Vec<u8>> {
        self.frames(&Request::User {
            t_us: now.0,
            action,
        })
    }

    /// The utility's command reaches it (a meter under test) through its head-end.
    pub fn utility(&mut self, now: SimTime, what: Utility) -> Vec<Vec<u8>> {
        self.frames(&Request::Utility {
            t_us: now.0,
            what: Box::new(what),
        })
    }

    /// What it shows the world at `now` (`None` when the link failed).
    pub fn panel(&mut self, now: SimTime) -> Option<Panel> {
        self.call(&Request::Panel { t_us: now.0 }).panel
    }
}

impl Drop for RemoteDut {
    fn drop(&mut self) {
        let _ = self.writer.shutdown(std::net::Shutdown::Both);
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
