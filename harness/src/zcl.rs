//! `hanrig zcl …` and `hanrig install-code`.

use std::fmt::Write as _;

use clap::Subcommand;

use hanrig_sep::clusters::{basic, drlc, key_establishment, messaging, metering, price, time};
use hanrig_sep::install_code::{InstallCode, key_transport_key};
use hanrig_sep::{COMMANDS, Direction, FrameType, MAX_FRAME_LEN, ZclFrame};

const CLUSTER_NAMES: &[(&str, u16)] = &[
    ("basic", basic::CLUSTER_ID),
    ("time", time::CLUSTER_ID),
    ("price", price::CLUSTER_ID),
    ("drlc", drlc::CLUSTER_ID),
    ("metering", metering::CLUSTER_ID),
    ("messaging", messaging::CLUSTER_ID),
    ("key-establishment", key_establishment::CLUSTER_ID),
];

/// A cluster ID from `0x0701`, `1793` or a name.
pub fn parse_cluster(text: &str) -> Result<u16, String> {
    let lower = text.trim().to_ascii_lowercase();
    if let Some(&(_, id)) = CLUSTER_NAMES.iter().find(|(name, _)| *name == lower) {
        return Ok(id);
    }
    let parsed = match lower.strip_prefix("0x") {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => lower.parse(),
    };
    parsed.map_err(|_| {
        let names: Vec<_> = CLUSTER_NAMES.iter().map(|(n, _)| *n).collect();
        format!(
            "{text:?} is not a cluster: give 0x0701, 1793 or one of {}",
            names.join(", ")
        )
    })
}

fn cluster_name(id: u16) -> Option<&'static str> {
    CLUSTER_NAMES
        .iter()
        .find(|(_, c)| *c == id)
        .map(|(n, _)| *n)
}

pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    parse_hex_args(&[text])
}

/// Hex from one or more arguments, each optionally starting with `0x`, with white space, `:`
/// and `-` allowed between digits. Errors name the character's position in its argument.
pub fn parse_hex_args<S: AsRef<str>>(args: &[S]) -> Result<Vec<u8>, String> {
    let mut nibbles = Vec::new();
    for (n, arg) in args.iter().enumerate() {
        let arg = arg.as_ref();
        let (skip, body) = match arg.get(..2) {
            Some("0x" | "0X") => (2, &arg[2..]),
            _ => (0, arg),
        };
        for (i, c) in body.chars().enumerate() {
            if c.is_whitespace() || c == ':' || c == '-' {
                continue;
            }
            let where_ = if args.len() > 1 {
                format!(" of argument {}", n + 1)
            } else {
                String::new()
            };
            let digit = c
                .to_digit(16)
                .ok_or_else(|| format!("not hex: {c:?} at character {}{where_}", skip + i + 1))?;
            nibbles.push(digit as u8);
        }
    }
    if nibbles.len() % 2 != 0 {
        return Err(format!(
            "{} hex digits: a frame is whole bytes (an even number of digits)",
            nibbles.len()
        ));
    }
    Ok(nibbles.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hanrig zcl decode`.
pub fn decode(cluster: u16, args: &[String], json: bool) -> Result<String, String> {
    let bytes = parse_hex_args(args)?;
    let frame = ZclFrame::parse(cluster, &bytes).map_err(|e| format!("cannot decode: {e}"))?;
    if json {
        let mut out = serde_json::to_string(&frame).map_err(|e| e.to_string())?;
        out.push('\n');
        return Ok(out);
    }
    let h = &frame.header;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cluster 0x{cluster:04x}{} · {} · {} · tsn {}{}{} · command 0x{:02x} {}",
        cluster_name(cluster)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        match h.frame_type {
            FrameType::General => "general".to_string(),
            FrameType::ClusterSpecific => "cluster-specific".to_string(),
            FrameType::Reserved(t) => format!("reserved frame type {t}"),
        },
        match h.direction {
            Direction::ClientToServer => "client→server",
            Direction::ServerToClient => "server→client",
        },
        h.tsn,
        h.manufacturer_code
            .map(|m| format!(" · manufacturer 0x{m:04x}"))
            .unwrap_or_default(),
        if h.disable_default_response {
            " · no default response"
        } else {
            ""
        },
        h.command_id,
        frame.command.name(),
    );
    let _ = writeln!(out, "{:#?}", frame.command);
    Ok(out)
}

/// `hanrig zcl encode`.
pub fn encode(text: &str) -> Result<String, String> {
    let frame: ZclFrame = serde_json::from_str(text).map_err(|e| format!("bad JSON frame: {e}"))?;
    if frame.buffer_len() > MAX_FRAME_LEN {
        return Err(format!(
            "cannot encode: the frame would be {} bytes; a ZCL frame in one 802.15.4 frame is at most {MAX_FRAME_LEN}",
            frame.buffer_len()
        ));
    }
    let mut buf = [0u8; MAX_FRAME_LEN];
    let len = frame
        .emit(&mut buf)
        .map_err(|e| format!("cannot encode: {e}"))?;
    Ok(format!("{}\n", hex(&buf[..len])))
}

/// `hanrig zcl list`.
pub fn list() -> String {
    let mut out = format!(
        "{:<36} {:<26} {:<16} id\n",
        "command", "cluster", "direction"
    );
    for (name, key) in COMMANDS {
        let cluster = match key.cluster {
            Some(id) => format!("0x{id:04x} {}", cluster_name(id).unwrap_or("")),
            None => "any (general)".to_string(),
        };
        let direction = match key.direction {
            Some(Direction::ClientToServer) => "client→server",
            Some(Direction::ServerToClient) => "server→client",
            None => "either",
        };
        let _ = writeln!(
            out,
            "{name:<36} {cluster:<26} {direction:<16} 0x{:02x}",
            key.id
        );
    }
    out
}

/// `hanrig install-code`.
pub fn install_code(text: &str) -> Result<String, String> {
    let code: InstallCode = text
        .parse()
        .map_err(|e| format!("install code refused: {e}"))?;
    let key = code.link_key();
    Ok(format!(
        "install code        {code}\n\
         length              {} bytes + 2-byte CRC\n\
         crc (CRC-16/X-25)   0x{:04X} ok\n\
         link key            {}\n\
         key-transport key   {}\n",
        code.body().len(),
        code.crc(),
        hex(&key).to_uppercase(),
        hex(&key_transport_key(&key)).to_uppercase(),
    ))
}

/// The vector corpus of the codec's tests: hand-built frames, at least one per command.
const CORPUS: &str = include_str!("../../firmware/sep/tests/vectors/zcl_frames.jsonl");

/// The shortest corpus frame of every known command, in command-table order: `(cluster, bytes)`.
pub fn corpus_one_per_command() -> Result<Vec<(u16, Vec<u8>)>, String> {
    let mut firsts: Vec<(&str, u16, Vec<u8>)> = Vec::new();
    for line in CORPUS.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let cluster = v["cluster"]
            .as_u64()
            .ok_or("corpus line without a cluster")? as u16;
        let bytes = parse_hex(v["hex"].as_str().ok_or("corpus line without hex")?)?;
        let frame = ZclFrame::parse(cluster, &bytes).map_err(|e| e.to_string())?;
        let name = frame.command.name();
        match firsts.iter_mut().find(|(n, _, _)| *n == name) {
            _ if name == "unknown" => {}
            Some(entry) if entry.2.len() > bytes.len() => *entry = (name, cluster, bytes),
            Some(_) => {}
            None => firsts.push((name, cluster, bytes)),
        }
    }
    Ok(COMMANDS
        .iter()
        .filter_map(|(name, _)| {
            firsts
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, c, b)| (*c, b.clone()))
        })
        .collect())
}

#[derive(Debug, Subcommand)]
pub enum ZclCommand {
    /// Decode a ZCL frame (header and payload, as carried in an APS data frame).
    Decode {
        /// Cluster the frame was sent on: a number (0x0701, 1793) or a name (price, drlc,
        /// metering, messaging, key-establishment, basic, time).
        #[arg(long, value_parser = parse_cluster)]
        cluster: u16,
        /// Print the JSON form instead of the readable decode.
        #[arg(long)]
        json: bool,
        /// The frame in hex; spaces and ':' are allowed, and several arguments are joined.
        #[arg(required = true, num_args = 1..)]
        hex: Vec<String>,
    },
    /// Encode the JSON form of a frame (as printed by `decode --json`) and print it as hex.
    Encode {
        /// File holding the JSON; standard input when absent or '-'.
        file: Option<String>,
    },
    /// List every command the codec knows, with its cluster, direction and ID.
    List,
}

/// Runs `hanrig zcl …`.
pub fn run(command: ZclCommand) -> anyhow::Result<String> {
    match command {
        ZclCommand::Decode { cluster, json, hex } => decode(cluster, &hex, json),
        ZclCommand::Encode { file } => {
            encode(&crate::read_input(file.as_deref()).map_err(anyhow::Error::msg)?)
        }
        ZclCommand::List => Ok(list()),
    }
    .map_err(anyhow::Error::msg)
}
