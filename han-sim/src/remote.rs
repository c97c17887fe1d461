//! A device under test in a process of its own, reachable only as a lab DUT is: over the air —
//! 802.15.4 frames to and from its radio — and through an instrument channel (what it shows the
//! world, and a person's hands on its buttons). `hanrig sim dut` serves one simulated device
//! this way; [`RemoteDevice`] is its node on a simulated medium.
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
//! device → medium:        {"frames":["…"],"next_timeout_us":…,"panel":null|{…}}
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Child;

use hanrig_sep::Eui64;
use serde::{Deserialize, Serialize};

use crate::clock::SimTime;
use crate::device::{Panel, SimDevice};
use crate::log::Log;

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

/// Serves `device` to the first medium that connects to `listener`, until it hangs up.
pub fn serve_dut(listener: TcpListener, mut device: SimDevice) -> io::Result<()> {
    let (stream, _) = listener.accept()?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let hello = Hello {
        name: device.name.clone(),
        eui64: device.eui().to_string(),
        pan: device.pan(),
        channel: device.channel,
    };
    writeln!(writer, "{}", serde_json::to_string(&hello).map_err(bad)?)?;
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
        let frames = match request {
            Request::Join { t_us } => device.start_join(SimTime(t_us), &mut log),
            Request::Receive { t_us, frame } => {
                let frame = unhex(&frame).ok_or_else(|| bad("a frame that is not hex"))?;
                device.receive(SimTime(t_us), &frame, &mut log)
            }
            Request::Wake { t_us } => device.handle_timeout(SimTime(t_us), &mut log),
            Request::Panel { t_us } => {
                reply.panel = Some(device.panel(SimTime(t_us)));
                Vec::new()
            }
            Request::User { t_us, action } => device.user(SimTime(t_us), action, &mut log),
        };
        reply.frames = frames.iter().map(|f| hex(f)).collect();
        reply.next_timeout_us = device.next_timeout().map(|t| t.0);
        writeln!(writer, "{}", serde_json::to_string(&reply).map_err(bad)?)?;
    }
}

/// A device under test served by another process ([`serve_dut`]), as a node of the medium.
#[derive(Debug)]
pub struct RemoteDevice {
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

impl RemoteDevice {
    /// Connects to a device served at `address`; `child` is its process, ended on drop.
    pub fn connect(address: &str, child: Option<Child>) -> io::Result<RemoteDevice> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        let hello: Hello = serde_json::from_str(&read_line(&mut reader)?).map_err(bad)?;
        Ok(RemoteDevice {
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

    /// What it shows the world at `now` (`None` when the link failed).
    pub fn panel(&mut self, now: SimTime) -> Option<Panel> {
        self.call(&Request::Panel { t_us: now.0 }).panel
    }
}

impl Drop for RemoteDevice {
    fn drop(&mut self) {
        let _ = self.writer.shutdown(std::net::Shutdown::Both);
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
