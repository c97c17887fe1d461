//! Property tests: `parse(emit(x)) == x` for every command, `emit(parse(b)) == b` for every
//! byte string that parses, and the JSON form round-trips.

#![allow(clippy::unwrap_used)]

use hanrig_sep::{COMMANDS, Command, Direction, FrameType, Header, MAX_FRAME_LEN, ZclFrame};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const SE_CLUSTERS: [u16; 7] = [0x0000, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703, 0x0800];

/// A frame carrying `command`, with the free parts of the header drawn from the inputs.
fn frame_for(
    command: Command,
    cluster: u16,
    tsn: u8,
    server_to_client: bool,
    manufacturer: Option<u16>,
) -> ZclFrame {
    match command.key() {
        Some(key) => {
            let mut frame = ZclFrame::new(cluster, command, tsn).expect("known command");
            if key.direction.is_none() {
                frame.header.direction = if server_to_client {
                    Direction::ServerToClient
                } else {
                    Direction::ClientToServer
                };
            }
            if key.cluster.is_none() {
                // General commands keep their layout in manufacturer-specific frames.
                frame.header.manufacturer_code = manufacturer;
            }
            frame
        }
        None => ZclFrame {
            cluster,
            header: Header {
                frame_type: FrameType::ClusterSpecific,
                manufacturer_code: Some(manufacturer.unwrap_or(0x1234)),
                direction: if server_to_client {
                    Direction::ServerToClient
                } else {
                    Direction::ClientToServer
                },
                disable_default_response: false,
                reserved: 0,
                tsn,
                command_id: tsn.wrapping_mul(7),
            },
            command,
        },
    }
}

fn emit(frame: &ZclFrame) -> Vec<u8> {
    let mut buf = [0u8; 2 * MAX_FRAME_LEN];
    let len = frame
        .emit(&mut buf)
        .unwrap_or_else(|e| panic!("emit {frame:?}: {e}"));
    assert_eq!(len, frame.buffer_len());
    buf[..len].to_vec()
}

fn check_round_trip(frame: &ZclFrame) -> Result<(), TestCaseError> {
    let bytes = emit(frame);
    let parsed = ZclFrame::parse(frame.cluster, &bytes)
        .map_err(|e| TestCaseError::fail(format!("{e}: {frame:?}")))?;
    prop_assert_eq!(&parsed, frame);
    let json = serde_json::to_string(frame).unwrap();
    let back: ZclFrame =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    prop_assert_eq!(&back, frame, "JSON {}", json);
    Ok(())
}

/// Every command of the table, each drawn 64 times: emit, then parse, gives the same frame;
/// and its JSON form gives it back too.
#[test]
fn every_command_survives_emit_then_parse_and_json() {
    // The derived strategy for a 38-variant enum of nested layouts is deep; debug builds need
    // more than the default 2 MiB test-thread stack to generate it.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(all_commands_round_trip)
        .unwrap()
        .join()
        .unwrap();
}

fn all_commands_round_trip() {
    let names: Vec<&str> = COMMANDS
        .iter()
        .map(|(name, _)| *name)
        .chain(["unknown"])
        .collect();
    for name in names {
        let config = Config {
            cases: 64,
            max_global_rejects: 1_000_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let strategy = (
            any::<Command>().prop_filter("this command", move |c| c.name() == name),
            prop::sample::select(&SE_CLUSTERS[..]),
            any::<u8>(),
            any::<bool>(),
            any::<Option<u16>>(),
        );
        runner
            .run(&strategy, |(command, cluster, tsn, s2c, manufacturer)| {
                check_round_trip(&frame_for(command, cluster, tsn, s2c, manufacturer))
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Header bytes of every known command (plus general commands in manufacturer-specific frames),
/// for the byte-level property below.
fn headers() -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for (_, key) in COMMANDS {
        for cluster in key.cluster.map_or(SE_CLUSTERS.to_vec(), |c| vec![c]) {
            for direction in [0u8, 0x08] {
                if key
                    .direction
                    .is_some_and(|d| (d == Direction::ServerToClient) != (direction != 0))
                {
                    continue;
                }
                let fc = if key.cluster.is_some() { 0x01 } else { 0x00 } | direction;
                out.push((cluster, vec![fc, 0x42, key.id]));
                if key.cluster.is_none() {
                    out.push((cluster, vec![fc | 0x04, 0x5F, 0x10, 0x42, key.id]));
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(Config { cases: 4096, ..Config::default() })]

    /// Any bytes that parse re-emit to exactly those bytes: known headers with random payloads.
    #[test]
    fn parsed_frames_reemit_byte_for_byte(
        header in prop::sample::select(headers()),
        payload in prop::collection::vec(any::<u8>(), 0..100),
    ) {
        let (cluster, mut bytes) = header;
        bytes.extend_from_slice(&payload);
        if let Ok(frame) = ZclFrame::parse(cluster, &bytes) {
            prop_assert_eq!(emit(&frame), bytes);
        }
    }

    /// Wholly random frames on any cluster never panic, and what parses re-emits exactly.
    #[test]
    fn random_bytes_never_panic_and_reemit_exactly(
        cluster in prop_oneof![prop::sample::select(&SE_CLUSTERS[..]), any::<u16>()],
        bytes in prop::collection::vec(any::<u8>(), 0..140),
    ) {
        if let Ok(frame) = ZclFrame::parse(cluster, &bytes) {
            prop_assert_eq!(emit(&frame), bytes);
        }
    }
}
