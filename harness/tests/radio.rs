//! The EZSP host driver against the simulated co-processor over TCP — the same code that
//! drives a real stick on a serial port.

#![allow(clippy::unwrap_used)]

use std::sync::mpsc;

use std::time::Duration;

use hanrig_radio_host::ezsp::EzspHost;
use hanrig_radio_host::port::FlowControl;
use hanrig_radio_host::znp::ZnpHost;
use hanrig_radio_host::{AnyRadio, ApsMessage, Event, FormParams, Radio, RadioError};
use hanrig_sep::Eui64;
use hanrig_sim::ncp::{EzspNcp, Network};
use hanrig_sim::serve::serve_tcp;
use hanrig_sim::znp::ZnpNcp;

const EUI: Eui64 = Eui64(0x000D_6F00_0ABC_DEF0);

const NETWORK: Network = Network {
    extended_pan_id: 0x0011_2233_4455_6677,
    pan_id: 0x1A62,
    channel: 15,
    tx_power: 8,
};

/// Serves a simulated co-processor speaking `version` on a free port; returns the port string.
fn simulated_radio(version: u8) -> String {
    serve(move || EzspNcp::new(version, EUI, NETWORK))
}

fn serve(make: impl FnOnce() -> EzspNcp + Send + 'static) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = serve_tcp("127.0.0.1:0", make(), |addr| tx.send(addr).unwrap());
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
        let _ = hanrig_sim::serve::serve_pty(EzspNcp::new(13, EUI, network), None, |path| {
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

/// A simulated in-home display in range of the co-processor, joining with `IC`.
fn ihd() -> hanrig_sim::device::SimDevice {
    use hanrig_device::drlc::DrlcConfig;
    use hanrig_sep::clusters::drlc::DeviceClass;
    use hanrig_sim::device::{DeviceKind, SimDevice};
    SimDevice::new(
        "ihd",
        DeviceKind::InHomeDisplay,
        IHD,
        &IC.parse().unwrap(),
        (NETWORK.pan_id, NETWORK.channel),
        DrlcConfig {
            device_class: DeviceClass(0),
            utility_enrollment_group: 0,
            start_randomization_minutes: 0,
            duration_randomization_minutes: 0,
        },
        1,
    )
}

const IHD: Eui64 = Eui64(0x0022_A300_0000_0001);
const IC: &str = "83FED3407A939723A5C639B26916D505C3B5";

/// The whole ESI path through a co-processor, through the one radio interface: the host forms
/// the network (its own network key), is refused the device while it has no key for it, loads
/// the install-code key, permits joining, sees the simulated IHD admitted, receives its ZCL,
/// reads its Basic cluster, and is told plainly that a non-member cannot be reached.
async fn form_admit_and_read(radio: &mut impl Radio, what: &str) {
    use hanrig_sep::clusters::{basic, time};
    use hanrig_sep::install_code::InstallCode;
    use hanrig_sep::wire::Records;
    use hanrig_sep::zcl::general::ReadAttributes;
    use hanrig_sep::{Command, ZclFrame};

    radio.start().await.unwrap();
    radio
        .form_network(&FormParams {
            extended_pan_id: 0x0011_2233_4455_6677,
            pan_id: NETWORK.pan_id,
            channel: NETWORK.channel,
            tx_power: 8,
            network_key: [0x5A; 16],
            global_link_key: None,
        })
        .await
        .unwrap();
    let info = radio.network_info().await.unwrap();
    assert_eq!(
        (info.node_type, info.pan_id, info.channel),
        (1, 0x1A62, 15),
        "{what}"
    );
    let wait = Duration::from_secs(5);

    // Joining without the device's key: nothing is admitted.
    radio.permit_joining(2).await.unwrap();
    let err = radio
        .next_event(Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(matches!(err, RadioError::Timeout { .. }), "{what}: {err}");

    let code: InstallCode = IC.parse().unwrap();
    radio.add_link_key(IHD, &code.link_key()).await.unwrap();
    radio.permit_joining(60).await.unwrap();
    let short = match radio.next_event(wait).await.unwrap() {
        Event::Joined { short, eui } if eui == IHD => short,
        other => panic!("{what}: {other:?}"),
    };
    // The IHD asks for the time (NWK security only), the price and the last message
    // (APS-secured with its install-code key); the host gets them decrypted.
    let mut heard = Vec::new();
    while let Ok(event) = radio.next_event(Duration::from_millis(500)).await {
        let Event::Incoming(m) = event else {
            panic!("{what}: {event:?}")
        };
        assert_eq!((m.node, m.profile), (short, 0x0109), "{what}");
        assert!(ZclFrame::parse(m.cluster, &m.payload).is_ok(), "{m:?}");
        heard.push((m.cluster, m.aps_encryption));
    }
    for expected in [(time::CLUSTER_ID, false), (0x0700, true), (0x0703, true)] {
        assert!(heard.contains(&expected), "{what}: {heard:?}");
    }

    let read = ZclFrame::new(
        basic::CLUSTER_ID,
        Command::ReadAttributes(ReadAttributes {
            attributes: Records::from_items([basic::attribute::MODEL_IDENTIFIER].iter()).unwrap(),
        }),
        0x42,
    )
    .unwrap();
    let mut buf = [0u8; 64];
    let len = read.emit(&mut buf).unwrap();
    let mut message = ApsMessage {
        node: short,
        profile: 0x0109,
        cluster: basic::CLUSTER_ID,
        source_endpoint: 1,
        destination_endpoint: 1,
        aps_encryption: false,
        payload: buf[..len].to_vec(),
    };
    radio.send_unicast(&message).await.unwrap();
    let answer = loop {
        if let Event::Incoming(m) = radio.next_event(wait).await.unwrap()
            && m.cluster == basic::CLUSTER_ID
        {
            break ZclFrame::parse(m.cluster, &m.payload).unwrap();
        }
    };
    assert_eq!(answer.header.tsn, 0x42, "{what}");
    let Command::ReadAttributesResponse(r) = answer.command else {
        panic!("{answer:?}")
    };
    let record = r.records.iter().next().unwrap();
    assert_eq!(
        record.value.unwrap().as_bytes(),
        Some(&b"sim-ihd"[..]),
        "{what}"
    );

    // Not a member: a clear refusal.
    message.node = 0x7777;
    let err = radio.send_unicast(&message).await.unwrap_err();
    assert!(err.to_string().contains("0x7777"), "{what}: {err}");
}

#[tokio::test]
async fn over_tcp_the_ezsp_driver_forms_admits_by_install_code_and_reads_zcl_at_v13_and_v14() {
    for version in [13, 14] {
        let port =
            serve(move || EzspNcp::new(version, EUI, NETWORK).with_devices([0; 16], vec![ihd()]));
        let mut radio = EzspHost::open(&port, 115_200, FlowControl::None)
            .await
            .unwrap();
        form_admit_and_read(&mut radio, &format!("EZSP v{version}")).await;
    }
}

#[tokio::test]
async fn over_tcp_the_znp_driver_does_the_same() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = serve_tcp(
            "127.0.0.1:0",
            ZnpNcp::new(Eui64(0x0012_4B00_1CAA_AC5C), NETWORK, [0; 16]).with_devices(vec![ihd()]),
            |addr| tx.send(addr).unwrap(),
        );
    });
    let port = format!("socket://{}", rx.recv().unwrap());
    let mut radio = ZnpHost::open(&port, 115_200, FlowControl::None)
        .await
        .unwrap();
    form_admit_and_read(&mut radio, "ZNP").await;
}

/// On a real pseudo-terminal through tokio-serial, for both protocols: the co-processor and
/// its medium are the simulator's, the driver code is what drives a stick.
#[tokio::test]
async fn over_a_pseudo_terminal_both_drivers_form_admit_and_read() {
    for protocol in ["ezsp", "znp"] {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let ready = |path: &std::path::Path| tx.send(path.to_path_buf()).unwrap();
            let _ = if protocol == "ezsp" {
                hanrig_sim::serve::serve_pty(
                    EzspNcp::new(13, EUI, NETWORK).with_devices([0; 16], vec![ihd()]),
                    None,
                    ready,
                )
            } else {
                hanrig_sim::serve::serve_pty(
                    ZnpNcp::new(Eui64(0x0012_4B00_1CAA_AC5C), NETWORK, [0; 16])
                        .with_devices(vec![ihd()]),
                    None,
                    ready,
                )
            };
        });
        let path = rx.recv().unwrap();
        let port = path.to_str().unwrap();
        let mut radio = AnyRadio::open(protocol, port, 115_200, FlowControl::None)
            .await
            .unwrap();
        form_admit_and_read(&mut radio, &format!("{protocol} on {port}")).await;
    }
}

/// A simulated meter (PAN 0x4C21, channel 20, summation 123.456 kWh) holding `code` for the
/// co-processor `eui`, and the co-processor's own node, which is replaced when it joins.
fn meter_air(eui: Eui64, code: &hanrig_sep::install_code::InstallCode) -> hanrig_sim::air::Air {
    use hanrig_sim::air::Air;
    use hanrig_sim::clock::SimTime;
    use hanrig_sim::coordinator::Coordinator;
    use hanrig_sim::esi::{Clusters, Esi, MeterModel};
    use hanrig_sim::sim::{MediumConfig, Node, Simulation};
    let start = SimTime::from_unix_seconds(1_780_000_000);
    let mut meter = Esi::new(
        "meter",
        Eui64(0x0013_A200_0000_0001),
        0x4C21,
        20,
        [0x77; 16],
        5,
        MeterModel::new(vec![1500], 123_456, start),
    );
    meter.provision(eui, code, Clusters::default());
    let nodes = vec![
        Node::Coordinator(Box::new(Coordinator::new("ncp", eui, 0x4C21, 20, [0; 16]))),
        Node::Esi(Box::new(meter)),
    ];
    Air {
        sim: Simulation::new(nodes, MediumConfig::default(), 1, start),
        start,
        coordinator: 0,
        join_on_permit: false,
        virtual_clock: false,
    }
}

/// The rig as an in-home device for a meter under test, through either driver: the
/// co-processor joins a simulated meter's network with its install code (refused while the
/// meter holds another code for it), then reads the meter's summation through it.
#[tokio::test]
async fn both_drivers_join_a_meters_network_by_install_code_and_read_the_meter() {
    use hanrig_sep::clusters::metering;
    use hanrig_sep::install_code::InstallCode;
    use hanrig_sep::wire::Records;
    use hanrig_sep::zcl::general::ReadAttributes;
    use hanrig_sep::{Command, ZclFrame};

    const TI: Eui64 = Eui64(0x0012_4B00_1CAA_AC5C);
    let ours: InstallCode = IC.parse().unwrap();
    let other: InstallCode = "83FED3407A939723A5C639B269161802AEBB".parse().unwrap();
    for protocol in ["ezsp", "znp"] {
        for (provisioned, joins) in [(other.clone(), false), (ours.clone(), true)] {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let ready = |addr| tx.send(addr).unwrap();
                let _ = if protocol == "ezsp" {
                    serve_tcp(
                        "127.0.0.1:0",
                        EzspNcp::new(13, EUI, NETWORK).with_air(meter_air(EUI, &provisioned)),
                        ready,
                    )
                } else {
                    serve_tcp(
                        "127.0.0.1:0",
                        ZnpNcp::new(TI, NETWORK, [0; 16]).with_air(meter_air(TI, &provisioned)),
                        ready,
                    )
                };
            });
            let port = format!("socket://{}", rx.recv().unwrap());
            let mut radio = AnyRadio::open(protocol, &port, 115_200, FlowControl::None)
                .await
                .unwrap();
            radio.start().await.unwrap();
            let joined = radio.join_network(0x4C21, 20, &ours.link_key()).await;
            if !joins {
                let e = joined.unwrap_err().to_string();
                assert!(
                    e.contains("joining PAN 0x4c21 on channel 20 failed"),
                    "{protocol}: {e}"
                );
                continue;
            }
            joined.unwrap();
            let read = ZclFrame::new(
                metering::CLUSTER_ID,
                Command::ReadAttributes(ReadAttributes {
                    attributes: Records::from_items(
                        [metering::attribute::CURRENT_SUMMATION_DELIVERED].iter(),
                    )
                    .unwrap(),
                }),
                7,
            )
            .unwrap();
            let mut buf = [0u8; 64];
            let len = read.emit(&mut buf).unwrap();
            radio
                .send_unicast(&ApsMessage {
                    node: 0x0000,
                    profile: 0x0109,
                    cluster: metering::CLUSTER_ID,
                    source_endpoint: 1,
                    destination_endpoint: 1,
                    aps_encryption: true,
                    payload: buf[..len].to_vec(),
                })
                .await
                .unwrap();
            let answer = loop {
                if let Event::Incoming(m) = radio.next_event(Duration::from_secs(5)).await.unwrap()
                    && m.cluster == metering::CLUSTER_ID
                {
                    assert!(
                        m.aps_encryption,
                        "{protocol}: the meter answers APS-secured"
                    );
                    break ZclFrame::parse(m.cluster, &m.payload).unwrap();
                }
            };
            let Command::ReadAttributesResponse(r) = answer.command else {
                panic!("{answer:?}")
            };
            let record = r.records.iter().next().unwrap();
            assert_eq!(record.value.unwrap().as_u64(), Some(123_456), "{protocol}");
        }
    }
}
