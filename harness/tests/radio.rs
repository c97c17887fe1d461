//! The EZSP host driver against the simulated co-processor over TCP — the same code that
//! drives a real stick on a serial port.

#![allow(clippy::unwrap_used)]

use std::sync::mpsc;

use hanrig::radio::ezsp::EzspHost;
use hanrig::radio::port::FlowControl;
use hanrig::radio::{Radio, RadioError};
use hanrig_sep::Eui64;
use hanrig_sim::ncp::{EzspNcp, Network, serve_tcp};

const EUI: Eui64 = Eui64(0x000D_6F00_0ABC_DEF0);

/// Serves a simulated co-processor speaking `version` on a free port; returns the port string.
fn simulated_radio(version: u8) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let network = Network {
            extended_pan_id: 0x0011_2233_4455_6677,
            pan_id: 0x1A62,
            channel: 15,
            tx_power: 8,
        };
        let _ = serve_tcp(
            "127.0.0.1:0",
            move || EzspNcp::new(version, EUI, network),
            |addr| tx.send(addr).unwrap(),
        );
    });
    format!("socket://{}", rx.recv().unwrap())
}

#[tokio::test]
async fn the_driver_negotiates_reads_and_brings_up_the_network_at_v13_and_v14() {
    for (version, firmware) in [(13, "7.4.5.0"), (14, "8.0.0.0")] {
        let port = simulated_radio(version);
        let mut radio = EzspHost::open(&port, 115_200, FlowControl::None)
            .await
            .unwrap();
        let description = radio.start().await.unwrap();
        assert_eq!(
            description,
            format!("EZSP v{version}, EmberZNet {firmware}")
        );
        assert_eq!(radio.version(), version);
        assert_eq!(radio.eui64().await.unwrap(), EUI);
        assert!(
            radio.network_init().await.unwrap(),
            "NETWORK_UP after networkInit"
        );
        let info = radio.network_info().await.unwrap();
        assert_eq!(
            (
                info.node_type,
                info.pan_id,
                info.channel,
                info.extended_pan_id
            ),
            (1, 0x1A62, 15, 0x0011_2233_4455_6677)
        );
    }
}

/// The same driver through tokio-serial on a real pseudo-terminal: only the port string differs.
#[tokio::test]
async fn the_driver_works_unchanged_over_a_pseudo_terminal() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let network = Network {
            extended_pan_id: 0x0011_2233_4455_6677,
            pan_id: 0x1A62,
            channel: 15,
            tx_power: 8,
        };
        let _ = hanrig_sim::ncp::serve_pty(EzspNcp::new(13, EUI, network), |path| {
            tx.send(path.to_path_buf()).unwrap()
        });
    });
    let path = rx.recv().unwrap();
    let port = path.to_str().unwrap();
    assert!(port.starts_with("/dev/pts/"), "{port}");
    let mut radio = EzspHost::open(port, 115_200, FlowControl::None)
        .await
        .unwrap();
    assert_eq!(radio.start().await.unwrap(), "EZSP v13, EmberZNet 7.4.5.0");
    assert_eq!(radio.eui64().await.unwrap(), EUI);
    assert!(radio.network_init().await.unwrap());
}

#[tokio::test]
async fn errors_name_the_port_and_a_new_connection_recovers() {
    // Nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("socket://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = EzspHost::open(&dead, 115_200, FlowControl::None)
        .await
        .unwrap_err();
    assert!(matches!(err, RadioError::Open { .. }), "{err}");
    assert!(err.to_string().starts_with(&dead), "{err}");

    let err = EzspHost::open("/dev/ttyHANRIG-NONE", 115_200, FlowControl::None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/dev/ttyHANRIG-NONE: cannot open"),
        "{err}"
    );

    // A co-processor that accepts the connection and then goes away: a clear error, then a
    // reconnect to a working one succeeds.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("socket://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        drop(stream);
    });
    let mut radio = EzspHost::open(&gone, 115_200, FlowControl::None)
        .await
        .unwrap();
    let err = radio.start().await.unwrap_err();
    assert!(err.to_string().contains("connection closed"), "{err}");

    let port = simulated_radio(13);
    let mut radio = EzspHost::open(&port, 115_200, FlowControl::None)
        .await
        .unwrap();
    assert!(radio.start().await.unwrap().starts_with("EZSP v13"));
}
