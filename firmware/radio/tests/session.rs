//! The ASH link between a host and a co-processor, on a clean and on a damaged line.

#![allow(clippy::unwrap_used)]

use hanrig_radio::session::{Role, Session, State, T_RX_ACK_INIT, T_RX_ACK_MAX};

/// A serial line that corrupts, drops and duplicates bytes with the given probability each.
struct Line {
    state: u64,
    p: f64,
}

impl Line {
    fn next(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }
    fn carry(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.next() < self.p {
                continue; // dropped
            }
            let b = if self.next() < self.p {
                b ^ (1 << (self.next() * 8.0) as u8)
            } else {
                b
            };
            out.push(b);
            if self.next() < self.p {
                out.push(b); // duplicated
            }
        }
        out
    }
}

/// Runs host and NCP until each has received `n` frames from the other (or time runs out);
/// returns what each received.
fn exchange(n: usize, p: f64, seed: u64) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Session, Session) {
    let mut host = Session::new(Role::Host);
    let mut ncp = Session::new(Role::Ncp);
    let (mut to_ncp, mut to_host) = (
        Line { state: seed, p },
        Line {
            state: seed ^ 0xDEAD_BEEF,
            p,
        },
    );
    let (mut host_got, mut ncp_got) = (Vec::new(), Vec::new());
    let (mut host_sent, mut ncp_sent) = (0usize, 0usize);
    let mut buf = [0u8; 300];
    let mut now = 0u64;
    while (host_got.len() < n || ncp_got.len() < n) && now < 3_600_000_000 {
        now += 1_000;
        assert_ne!(
            host.state(),
            State::Failed,
            "the link failed instead of recovering"
        );
        assert_ne!(
            ncp.state(),
            State::Failed,
            "the link failed instead of recovering"
        );
        if host.state() == State::Connected
            && host_sent < n
            && host.send(&frame(0xA0, host_sent)).is_ok()
        {
            host_sent += 1;
        }
        if ncp.state() == State::Connected
            && ncp_sent < n
            && ncp.send(&frame(0xB0, ncp_sent)).is_ok()
        {
            ncp_sent += 1;
        }
        while let Some(len) = host.poll_transmit(now, &mut buf) {
            let bytes = to_ncp.carry(&buf[..len]);
            ncp.handle_bytes(now, &bytes);
        }
        while let Some(len) = ncp.poll_transmit(now, &mut buf) {
            let bytes = to_host.carry(&buf[..len]);
            host.handle_bytes(now, &bytes);
        }
        host.handle_timeout(now);
        ncp.handle_timeout(now);
        while let Some(f) = host.poll_received() {
            host_got.push(f.to_vec());
        }
        while let Some(f) = ncp.poll_received() {
            ncp_got.push(f.to_vec());
        }
    }
    (host_got, ncp_got, host, ncp)
}

fn frame(tag: u8, i: usize) -> Vec<u8> {
    // An EZSP-like frame: sequence, control, id, then a body that includes reserved bytes.
    vec![
        i as u8,
        0x00,
        tag,
        0x7E,
        0x7D,
        (i >> 8) as u8,
        i as u8,
        0x11,
    ]
}

#[test]
fn a_clean_line_delivers_every_frame_once_in_order() {
    let (host_got, ncp_got, host, ncp) = exchange(200, 0.0, 1);
    assert_eq!(
        host_got,
        (0..200).map(|i| frame(0xB0, i)).collect::<Vec<_>>()
    );
    assert_eq!(
        ncp_got,
        (0..200).map(|i| frame(0xA0, i)).collect::<Vec<_>>()
    );
    assert_eq!(
        (host.stats.retransmissions, ncp.stats.retransmissions),
        (0, 0)
    );
    assert!(
        host.ack_timeout() < T_RX_ACK_INIT,
        "the timer adapts to a fast line"
    );
}

#[test]
fn a_line_that_corrupts_drops_and_duplicates_bytes_loses_nothing_and_delivers_nothing_twice() {
    // 0.3 % each of corruption, loss and duplication per byte: about one frame in eight is
    // damaged, and NAKs and retransmissions repair every loss. (At 1 % each, a third of the
    // frames are damaged, and now and then five acknowledgement timeouts in a row fail the
    // link as UG101 prescribes; the host driver then restarts the co-processor and sends the
    // command again: harness/tests/radio_faults.rs.)
    const P: f64 = 0.003;
    for seed in [3, 7, 11, 13, 17] {
        let (host_got, ncp_got, host, ncp) = exchange(300, P, seed);
        assert_eq!(
            host_got,
            (0..300).map(|i| frame(0xB0, i)).collect::<Vec<_>>(),
            "seed {seed}"
        );
        assert_eq!(
            ncp_got,
            (0..300).map(|i| frame(0xA0, i)).collect::<Vec<_>>(),
            "seed {seed}"
        );
        let recovered = host.stats.retransmissions + ncp.stats.retransmissions;
        let rejected = host.stats.naks_sent
            + ncp.stats.naks_sent
            + host.stats.bad_frames
            + ncp.stats.bad_frames;
        assert!(
            recovered > 0 && rejected > 0,
            "seed {seed}: the faults were exercised ({recovered} retransmissions)"
        );
    }
}

#[test]
fn the_host_starts_with_rst_and_the_ncp_answers_rstack() {
    let mut host = Session::new(Role::Host);
    let mut ncp = Session::new(Role::Ncp);
    let mut buf = [0u8; 300];
    let len = host.poll_transmit(0, &mut buf).unwrap();
    assert_eq!(&buf[..len], &[0xC0, 0x38, 0xBC, 0x7E]);
    assert_eq!(
        host.send(b"x"),
        Err(hanrig_radio::session::SendError::NotConnected)
    );
    ncp.handle_bytes(0, &buf[..len]);
    let len = ncp.poll_transmit(0, &mut buf).unwrap();
    assert_eq!(
        &buf[..len],
        &[0xC1, 0x02, 0x0B, 0x0A, 0x52, 0x7E],
        "RSTACK(2, software reset)"
    );
    host.handle_bytes(0, &buf[..len]);
    assert_eq!(
        (host.state(), ncp.state()),
        (State::Connected, State::Connected)
    );
}

#[test]
fn an_unanswered_frame_is_retransmitted_with_a_growing_timer_then_the_link_fails() {
    let mut host = Session::new(Role::Host);
    let mut buf = [0u8; 300];
    host.poll_transmit(0, &mut buf);
    host.handle_bytes(0, &[0xC1, 0x02, 0x0B, 0x0A, 0x52, 0x7E]);
    host.send(&[1, 2, 3]).unwrap();
    host.poll_transmit(0, &mut buf).unwrap();
    let mut now = 0;
    let mut timers = Vec::new();
    while host.state() == State::Connected {
        now = host.poll_timeout().unwrap();
        host.handle_timeout(now);
        timers.push(host.ack_timeout());
        if let Some(len) = host.poll_transmit(now, &mut buf) {
            assert_eq!(buf[0] & 0x08, 0x08, "retransmit bit set");
            assert!(len > 0);
        }
    }
    assert_eq!(host.state(), State::Failed);
    assert_eq!(
        timers[..3],
        [3_200_000, 3_200_000, 3_200_000][..3]
            .iter()
            .map(|_| timers[0])
            .collect::<Vec<_>>()[..3]
    );
    assert_eq!(*timers.iter().max().unwrap(), T_RX_ACK_MAX);
    assert!(now > 0);
}
