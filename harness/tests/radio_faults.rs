//! The EZSP host driver over a damaged line and through a vanished port.
//!
//! The line corrupts, drops and duplicates 1 % of the bytes each way (each fault on its own).
//! ASH repairs single damage by NAK and retransmission; at this rate (about a third of the
//! frames damaged) runs of damage also exhaust UG101's five acknowledgement timeouts now and
//! then, and the link fails. An ASH reset reboots a real co-processor, so the driver then
//! restarts it — reset, version, and a replay of the commands that had set it up — and sends
//! the interrupted command again. Virtual time (tokio's paused clock) makes the timeouts
//! instant.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hanrig_radio_host::Radio;
use hanrig_radio_host::ezsp::{CONFIG_MAX_END_DEVICE_CHILDREN, EzspHost, FormParams, frame_id};
use hanrig_radio_host::port::{FlowControl, Port};
use hanrig_sep::Eui64;
use hanrig_sim::ncp::{EzspNcp, Network};
use hanrig_sim::serve::Coprocessor;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const EUI: Eui64 = Eui64(0x000D_6F00_0ABC_DEF0);

fn ncp() -> EzspNcp {
    EzspNcp::new(
        13,
        EUI,
        Network {
            extended_pan_id: 1,
            pan_id: 0x0001,
            channel: 11,
            tx_power: 8,
        },
    )
    .with_devices([0x11; 16], Vec::new())
}

/// A line that corrupts, drops and duplicates bytes with probability `p` each, while on.
struct Line {
    state: u64,
    p: f64,
    on: Arc<AtomicBool>,
}

impl Line {
    fn next(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }

    fn carry(&mut self, bytes: &[u8]) -> Vec<u8> {
        if !self.on.load(Ordering::Relaxed) {
            return bytes.to_vec();
        }
        let mut out = Vec::new();
        for &b in bytes {
            if self.next() < self.p {
                continue;
            }
            let b = if self.next() < self.p {
                b ^ 1 << ((self.next() * 8.0) as u8)
            } else {
                b
            };
            out.push(b);
            if self.next() < self.p {
                out.push(b);
            }
        }
        out
    }
}

/// Runs `ncp` on the far end of `end`, through the damaged line both ways, until the host
/// hangs up; returns it.
async fn far_end(
    mut end: DuplexStream,
    mut ncp: EzspNcp,
    seed: u64,
    on: Arc<AtomicBool>,
) -> EzspNcp {
    let (mut inbound, mut outbound) = (
        Line {
            state: seed,
            p: 0.01,
            on: on.clone(),
        },
        Line {
            state: seed ^ 0x5DEE_CE66,
            p: 0.01,
            on,
        },
    );
    let started = tokio::time::Instant::now();
    let (mut buf, mut out) = ([0u8; 512], [0u8; 300]);
    loop {
        let now = started.elapsed().as_micros() as u64;
        ncp.handle_timeout(now);
        while let Some(len) = ncp.poll_transmit(now, &mut out) {
            let bytes = outbound.carry(&out[..len]);
            if end.write_all(&bytes).await.is_err() {
                return ncp;
            }
        }
        let wait = ncp.poll_timeout().map_or(Duration::from_secs(1), |due| {
            Duration::from_micros(due.saturating_sub(now).max(1))
        });
        match tokio::time::timeout(wait, end.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return ncp,
            Ok(Ok(n)) => {
                let bytes = inbound.carry(&buf[..n]);
                ncp.handle_bytes(started.elapsed().as_micros() as u64, &bytes);
            }
            Err(_) => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn on_a_line_damaging_1_percent_of_bytes_every_command_gets_its_own_answer() {
    for seed in [3, 7, 11] {
        let (host_end, ncp_end) = tokio::io::duplex(4096);
        let faults = Arc::new(AtomicBool::new(false));
        let far = tokio::spawn(far_end(ncp_end, ncp(), seed, faults.clone()));
        let mut host = EzspHost::over(
            "faulty-line",
            Port::Memory(host_end),
            115_200,
            FlowControl::None,
        );
        host.start().await.unwrap();
        host.set_configuration_value(CONFIG_MAX_END_DEVICE_CHILDREN, 7)
            .await
            .unwrap();
        host.form_network(&FormParams {
            extended_pan_id: 0x0011_2233_4455_6677,
            pan_id: 0x1A62,
            channel: 20,
            tx_power: 8,
            network_key: [0xAB; 16],
            global_link_key: None,
        })
        .await
        .unwrap();

        faults.store(true, Ordering::Relaxed);
        for i in 0..300u16 {
            // Reserved ASH bytes in every frame, so stuffing is exercised too.
            let data = [i as u8, (i >> 8) as u8, 0x7E, 0x7D, 0x11, 0x13, 0x18, 0x1A];
            let mut params = vec![data.len() as u8];
            params.extend_from_slice(&data);
            let answer = host.command(frame_id::ECHO, &params).await.unwrap();
            assert_eq!(answer, params, "seed {seed}: echo {i}");
        }
        faults.store(false, Ordering::Relaxed);

        // The restarts replayed the configuration and brought the formed network back up.
        assert!(
            host.restarts > 0,
            "seed {seed}: the link never failed, so recovery went untested"
        );
        let value = host
            .command(0x0052, &[CONFIG_MAX_END_DEVICE_CHILDREN])
            .await
            .unwrap();
        assert_eq!(value, [0, 7, 0], "seed {seed}: configuration replayed");
        let info = host.network_info().await.unwrap();
        assert_eq!((info.pan_id, info.channel), (0x1A62, 20), "seed {seed}");
        assert_eq!(
            host.command(0x0018, &[]).await.unwrap(),
            [2],
            "seed {seed}: network up"
        );

        let restarts = host.restarts;
        drop(host);
        let ncp = far.await.unwrap();
        let echoes = ncp.handled(frame_id::ECHO);
        // Each echo reached the co-processor once, except that a command whose answer a link
        // failure swallowed was sent again after the restart.
        assert!(
            (300..=300 + u64::from(restarts)).contains(&echoes),
            "seed {seed}: {echoes} echoes handled for 300 sent, {restarts} restarts"
        );
    }
}

/// Serves one co-processor to one host after another on a free TCP port, keeping its state
/// from one connection to the next (a stick unplugged and plugged back in keeps its tokens);
/// the connection in progress is cut when `cut` is set.
fn serve_with_cut<C: Coprocessor + Send + 'static>(
    make: impl FnOnce() -> C + Send + 'static,
    cut: Arc<AtomicBool>,
) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut ncp = make();
        let started = std::time::Instant::now();
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            stream
                .set_read_timeout(Some(Duration::from_millis(2)))
                .unwrap();
            let (mut buf, mut out) = ([0u8; 512], [0u8; 300]);
            while !cut.swap(false, Ordering::Relaxed) {
                let now = started.elapsed().as_micros() as u64;
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => ncp.handle_bytes(now, &buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => break,
                }
                ncp.handle_timeout(now);
                while let Some(len) = ncp.poll_transmit(now, &mut out) {
                    let _ = stream.write_all(&out[..len]);
                }
            }
        }
    });
    format!("socket://{address}")
}

/// Has the server drop the connection in progress, and waits until it has.
async fn cut_connection(cut: &AtomicBool) {
    cut.store(true, Ordering::Relaxed);
    // The server takes the flag back when it drops the connection.
    while cut.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn a_vanished_port_is_reported_and_the_driver_reconnects_where_it_left_off() {
    let cut = Arc::new(AtomicBool::new(false));
    let port = serve_with_cut(ncp, cut.clone());
    let mut host = EzspHost::open(&port, 115_200, FlowControl::None)
        .await
        .unwrap();
    host.start().await.unwrap();
    host.set_configuration_value(CONFIG_MAX_END_DEVICE_CHILDREN, 9)
        .await
        .unwrap();
    host.form_network(&FormParams {
        extended_pan_id: 0x0011_2233_4455_6677,
        pan_id: 0x2B73,
        channel: 25,
        tx_power: 8,
        network_key: [0xCD; 16],
        global_link_key: None,
    })
    .await
    .unwrap();

    cut_connection(&cut).await;
    let e = host.eui64().await.unwrap_err().to_string();
    assert!(
        e.starts_with(&port) && e.contains("connection closed"),
        "{e}"
    );

    host.reconnect().await.unwrap();
    assert_eq!(host.eui64().await.unwrap(), EUI);
    let value = host
        .command(0x0052, &[CONFIG_MAX_END_DEVICE_CHILDREN])
        .await
        .unwrap();
    assert_eq!(
        value,
        [0, 9, 0],
        "configuration replayed after the reconnect"
    );
    let info = host.network_info().await.unwrap();
    assert_eq!((info.pan_id, info.channel), (0x2B73, 25));
    assert_eq!(
        host.command(0x0018, &[]).await.unwrap(),
        [2],
        "network up again"
    );
}

#[tokio::test]
async fn the_znp_driver_reconnects_too() {
    use hanrig_radio_host::znp::ZnpHost;
    let cut = Arc::new(AtomicBool::new(false));
    let port = serve_with_cut(
        || {
            hanrig_sim::znp::ZnpNcp::new(
                Eui64(0x0012_4B00_1CAA_AC5C),
                Network {
                    extended_pan_id: 7,
                    pan_id: 0x3C4D,
                    channel: 21,
                    tx_power: 8,
                },
                [0x42; 16],
            )
        },
        cut.clone(),
    );
    let mut host = ZnpHost::open(&port, 115_200, FlowControl::None)
        .await
        .unwrap();
    host.start().await.unwrap();
    cut_connection(&cut).await;
    let e = host.eui64().await.unwrap_err().to_string();
    assert!(
        e.starts_with(&port) && e.contains("connection closed"),
        "{e}"
    );
    host.reconnect(115_200, FlowControl::None).await.unwrap();
    let info = host.network_info().await.unwrap();
    assert_eq!((info.pan_id, info.channel), (0x3C4D, 21));
}
