//! Capture files Wireshark opens: a pcapng writer (one interface, link type 195 — IEEE 802.15.4
//! with FCS) and the key file of Wireshark's ZigBee decryption keys (`zigbee_pc_keys`).
//!
//! Timestamps come from the caller's clock (microseconds since the Unix epoch), so a simulated
//! run on virtual time writes a byte-identical capture every time.

extern crate std;

use crate::install_code::Key;
use std::io::{self, Write};
use std::string::String;

/// LINKTYPE_IEEE802_15_4_WITHFCS.
pub const LINKTYPE_IEEE802_15_4_WITHFCS: u16 = 195;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Writes pcapng: a section header and one 802.15.4 interface, then one enhanced packet block
/// per frame.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    frames: u64,
}

fn block(out: &mut impl Write, block_type: u32, body: &[u8]) -> io::Result<()> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    out.write_all(&block_type.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&[0u8; 3][..padded - body.len()])?;
    out.write_all(&total.to_le_bytes())
}

/// An option: code, length, value padded to 4 bytes.
fn option(body: &mut std::vec::Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    body.resize(body.len().div_ceil(4) * 4, 0);
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a capture: section header (with `application` as `shb_userappl`) and the
    /// interface description (microsecond timestamps).
    pub fn new(mut out: W, application: &str) -> io::Result<Self> {
        let mut shb = std::vec::Vec::new();
        shb.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
        option(&mut shb, 4, application.as_bytes()); // shb_userappl
        shb.extend_from_slice(&[0; 4]); // opt_endofopt
        block(&mut out, SHB, &shb)?;

        let mut idb = std::vec::Vec::new();
        idb.extend_from_slice(&LINKTYPE_IEEE802_15_4_WITHFCS.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes()); // snaplen: no limit
        option(&mut idb, 2, b"hanrig"); // if_name
        option(&mut idb, 9, &[6]); // if_tsresol: microseconds
        idb.extend_from_slice(&[0; 4]);
        block(&mut out, IDB, &idb)?;
        Ok(PcapngWriter { out, frames: 0 })
    }

    /// Appends one frame (MAC header to FCS) seen at `timestamp_us` (µs since 1970).
    pub fn write_frame(&mut self, timestamp_us: u64, frame: &[u8]) -> io::Result<()> {
        let mut epb = std::vec::Vec::with_capacity(20 + frame.len() + 4);
        epb.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        epb.extend_from_slice(&((timestamp_us >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(timestamp_us as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(frame);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        block(&mut self.out, EPB, &epb)?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The key file Wireshark reads as its `zigbee_pc_keys` table (save it as
/// `~/.config/wireshark/zigbee_pc_keys`, or import it under Preferences → Protocols → ZigBee →
/// Pre-configured Keys): one `"KEY","Normal","label"` record per line, the key as 32 hex digits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFile {
    /// Keys with their labels.
    pub keys: std::vec::Vec<(Key, String)>,
}

impl KeyFile {
    /// Adds a key (a repeated key keeps its first label).
    pub fn add(&mut self, key: Key, label: &str) {
        if !self.keys.iter().any(|(k, _)| *k == key) {
            self.keys.push((key, label.replace(['"', '\n'], "")));
        }
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (key, label) in &self.keys {
            out.push('"');
            for b in key {
                out.push_str(&std::format!("{b:02X}"));
            }
            out.push_str(&std::format!("\",\"Normal\",\"{label}\"\n"));
        }
        out
    }

    /// Reads the text back: `"KEY","Normal"|"Reverse","label"` lines (blank lines and `#`
    /// comments allowed; keys may use `:` separators).
    pub fn parse(text: &str) -> Result<KeyFile, String> {
        let mut file = KeyFile::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: std::vec::Vec<&str> = line
                .split(',')
                .map(|f| f.trim().trim_matches('"'))
                .collect();
            let [hex, order, label] = fields[..] else {
                return Err(std::format!(
                    "line {}: expected \"KEY\",\"Normal\",\"label\"",
                    n + 1
                ));
            };
            let digits: String = hex.chars().filter(|c| *c != ':' && *c != ' ').collect();
            if digits.len() != 32 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(std::format!(
                    "line {}: a key is 32 hex digits, got {hex:?}",
                    n + 1
                ));
            }
            let mut key = [0u8; 16];
            for (i, b) in key.iter_mut().enumerate() {
                *b =
                    u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
            }
            match order {
                "Normal" => {}
                "Reverse" => key.reverse(),
                other => {
                    return Err(std::format!(
                        "line {}: byte order {other:?} is neither Normal nor Reverse",
                        n + 1
                    ));
                }
            }
            file.add(key, label);
        }
        Ok(file)
    }
}

use std::string::ToString;
