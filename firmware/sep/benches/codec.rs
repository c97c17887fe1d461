//! Decode and encode throughput on a mixed corpus of SE frames: the 56 hand-built vectors (at
//! least one of every command), and the 24 of them that zigpy also decodes (general commands
//! without a manufacturer code, and Metering commands) for the ratio against zigpy measured by
//! `benches/zigpy_decode.py` in the same run (`benches/compare_zigpy.sh`).

#![allow(clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hanrig_sep::{Command, FrameType, MAX_FRAME_LEN, ZclFrame};
use std::hint::black_box;

fn corpus() -> Vec<(u16, Vec<u8>)> {
    include_str!("../tests/vectors/zcl_frames.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let hex = v["hex"].as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (v["cluster"].as_u64().unwrap() as u16, bytes)
        })
        .collect()
}

/// The frames zigpy 2.4.0 decodes into schema objects (the rule of `zigpy_decode.py`).
fn zigpy_subset(all: &[(u16, Vec<u8>)]) -> Vec<(u16, Vec<u8>)> {
    all.iter()
        .filter(|(cluster, bytes)| {
            let frame = ZclFrame::parse(*cluster, bytes).unwrap();
            frame.header.manufacturer_code.is_none()
                && (frame.header.frame_type == FrameType::General
                    || (*cluster == 0x0702 && !matches!(frame.command, Command::Unknown(_))))
        })
        .cloned()
        .collect()
}

fn bench(c: &mut Criterion) {
    let all = corpus();
    let subset = zigpy_subset(&all);
    assert_eq!((all.len(), subset.len()), (56, 24));

    for (name, frames) in [("all_se_commands", &all), ("zigpy_subset", &subset)] {
        let mut group = c.benchmark_group(format!("decode/{name}"));
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function("hanrig", |b| {
            b.iter(|| {
                for (cluster, bytes) in frames.iter() {
                    black_box(ZclFrame::parse(*cluster, black_box(bytes)).unwrap());
                }
            })
        });
        group.finish();
    }

    let parsed: Vec<ZclFrame> = all
        .iter()
        .map(|(c, b)| ZclFrame::parse(*c, b).unwrap())
        .collect();
    let mut group = c.benchmark_group("encode/all_se_commands");
    group.throughput(Throughput::Elements(parsed.len() as u64));
    group.bench_function("hanrig", |b| {
        b.iter_batched_ref(
            || [0u8; MAX_FRAME_LEN],
            |buf| {
                for frame in &parsed {
                    let len = frame.emit(black_box(&mut *buf)).unwrap();
                    black_box(&buf[..len]);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
