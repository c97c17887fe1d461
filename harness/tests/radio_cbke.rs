//! Key Establishment with the chip doing the ECC: the host runs the trust centre's side of the
//! exchange over EZSP (getCertificate, generateCbkeKeys, calculateSmacs,
//! clearTemporaryDataMaybeStoreLinkKey) against the simulated co-processor's CBKE library, with
//! a simulated in-home device as initiator; and a co-processor without the library is told
//! apart.

#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use hanrig_cbke::exchange::{Config, Outcome};
use hanrig_radio_host::cbke::ChipResponder;
use hanrig_radio_host::ezsp::EzspHost;
use hanrig_radio_host::port::FlowControl;
use hanrig_radio_host::{ApsMessage, Event, FormParams, Radio};
use hanrig_sep::clusters::key_establishment;
use hanrig_sep::install_code::InstallCode;
use hanrig_sep::{Direction, Eui64, ZclFrame};
use hanrig_sim::cbke::{DeviceCbke, TestCa};
use hanrig_sim::ncp::{EzspNcp, Network};
use hanrig_sim::serve::serve_tcp;

const EUI: Eui64 = Eui64(0x000D_6F00_0ABC_DEF0);
const IHD: Eui64 = Eui64(0x0022_A300_0000_0001);
const IC: &str = "83FED3407A939723A5C639B26916D505C3B5";
const SEED: u64 = 7;
const NETWORK: Network = Network {
    extended_pan_id: 0x0011_2233_4455_6677,
    pan_id: 0x1A62,
    channel: 15,
    tx_power: 8,
};

fn serve(make: impl FnOnce() -> EzspNcp + Send + 'static) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = serve_tcp("127.0.0.1:0", make(), |addr| tx.send(addr).unwrap());
    });
    format!("socket://{}", rx.recv().unwrap())
}

fn ihd(cbke: DeviceCbke) -> hanrig_sim::device::SimDevice {
    use hanrig_device::drlc::DrlcConfig;
    use hanrig_sep::clusters::drlc::DeviceClass;
    use hanrig_sim::device::{DeviceKind, SimDevice};
    let mut device = SimDevice::new(
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
    );
    let ca = TestCa::new(SEED);
    device.with_cbke(ca.device_identity(IHD, cbke).unwrap(), cbke, SEED);
    device
}

/// The host forms, admits the IHD by its install code and answers its Key Establishment with
/// the chip; returns how the exchange ended, the link key the chip stored for the IHD, and the
/// SE clusters the IHD then sent with APS security (which the chip could open only under the
/// key it derived).
async fn exchange(version: u8, cbke: DeviceCbke) -> (Outcome, Option<[u8; 16]>, Vec<u16>) {
    let identity = TestCa::new(SEED).identity(EUI);
    let port = serve(move || {
        EzspNcp::new(version, EUI, NETWORK)
            .with_cbke(identity)
            .with_devices([0; 16], vec![ihd(cbke)])
    });
    let mut host = EzspHost::open(&port, 115_200, FlowControl::None)
        .await
        .unwrap();
    host.start().await.unwrap();
    assert_eq!(host.version(), version);
    host.form_network(&FormParams {
        extended_pan_id: NETWORK.extended_pan_id,
        pan_id: NETWORK.pan_id,
        channel: NETWORK.channel,
        tx_power: 8,
        network_key: [0x5A; 16],
        global_link_key: None,
    })
    .await
    .unwrap();
    let code: InstallCode = IC.parse().unwrap();
    host.add_link_key(IHD, &code.link_key()).await.unwrap();
    let mut responder = ChipResponder::new(&mut host, Config::default())
        .await
        .unwrap();
    assert_eq!(
        responder.certificate(),
        *TestCa::new(SEED).identity(EUI).certificate()
    );
    host.permit_joining(60).await.unwrap();

    let start = std::time::Instant::now();
    let mut short = None;
    let mut outcome = None;
    let mut secured = Vec::new();
    while let Ok(event) = host.next_event(Duration::from_millis(800)).await {
        let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap();
        let message = match event {
            Event::Joined { short: s, eui } if eui == IHD => {
                short = Some(s);
                continue;
            }
            Event::Joined { .. } => continue,
            Event::Incoming(m) => m,
        };
        if message.cluster != key_establishment::CLUSTER_ID {
            if message.aps_encryption && outcome.is_some() {
                secured.push(message.cluster);
            }
            continue;
        }
        let frame = ZclFrame::parse(message.cluster, &message.payload).unwrap();
        let step = responder
            .handle(&mut host, IHD, &frame.command, now_ms)
            .await
            .unwrap();
        if let Some((_, command)) = step.send {
            let mut reply = ZclFrame::new(message.cluster, command, frame.header.tsn).unwrap();
            reply.header.direction = Direction::ServerToClient;
            let mut buf = [0u8; 127];
            let len = reply.emit(&mut buf).unwrap();
            host.send_unicast(&ApsMessage {
                node: short.unwrap(),
                profile: 0x0109,
                cluster: message.cluster,
                source_endpoint: 1,
                destination_endpoint: 1,
                aps_encryption: false,
                payload: buf[..len].to_vec(),
            })
            .await
            .unwrap();
        }
        let stored = responder
            .settle(&mut host, step.outcome.as_ref())
            .await
            .unwrap();
        if let Some(o) = step.outcome {
            outcome = Some((o, stored));
        }
    }
    let (outcome, stored) = outcome.expect("the exchange ended");
    (outcome, stored, secured)
}

#[tokio::test]
async fn the_chip_computes_key_establishment_and_secures_the_se_traffic_with_its_key_at_v13_and_v14()
 {
    for version in [13, 14] {
        let (outcome, stored, secured) = exchange(version, DeviceCbke::Good).await;
        assert!(
            matches!(outcome, Outcome::Established { partner, link_key: None } if partner == IHD),
            "v{version}: {outcome:?}"
        );
        let key = stored.expect("the chip's key table holds the derived key");
        let code: InstallCode = IC.parse().unwrap();
        assert_ne!(key, code.link_key(), "v{version}: a new link key");
        // The IHD's price and message requests under the derived key reach the host.
        assert!(
            secured.contains(&0x0700) && secured.contains(&0x0703),
            "v{version}: {secured:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_key_confirmation_is_refused_and_nothing_is_stored() {
    let (outcome, stored, secured) = exchange(14, DeviceCbke::BrokenConfirm).await;
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                failure: hanrig_cbke::exchange::Failure::Refused(
                    key_establishment::TerminateStatus::BadKeyConfirm
                ),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(stored, None);
    assert!(secured.is_empty(), "{secured:?}");
}

#[tokio::test]
async fn a_co_processor_without_the_cbke_library_is_told_apart() {
    let port = serve(|| EzspNcp::new(14, EUI, NETWORK).without_cbke_library());
    let mut host = EzspHost::open(&port, 115_200, FlowControl::None)
        .await
        .unwrap();
    host.start().await.unwrap();
    assert!(!host.cbke_library().await.unwrap());
    let err = ChipResponder::new(&mut host, Config::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no CBKE library"), "{err}");
    // Its CBKE frames answer LIBRARY_NOT_PRESENT (sl_status NOT_AVAILABLE at v14).
    let err = host.generate_cbke_keys().await.unwrap_err();
    assert!(err.to_string().contains("0xe"), "{err}");
}

#[tokio::test]
async fn cbke_data_are_written_once_and_must_belong_together() {
    let port = serve(|| EzspNcp::new(13, EUI, NETWORK));
    let mut host = EzspHost::open(&port, 115_200, FlowControl::None)
        .await
        .unwrap();
    host.start().await.unwrap();
    assert!(host.cbke_library().await.unwrap());
    // The library, but no certificate yet.
    let err = host.cbke_certificate().await.unwrap_err();
    assert!(err.to_string().contains("no CBKE certificate"), "{err}");

    let ca = TestCa::new(SEED);
    let (mine, other) = (ca.identity(EUI), ca.identity(IHD));
    let ca_public = mine.ca().to_compressed();
    // A certificate with another device's private key is refused.
    let err = host
        .set_preinstalled_cbke_data(
            &ca_public,
            &mine.certificate().0,
            &other.private_key().to_bytes(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("setPreinstalledCbkeData refused"),
        "{err}"
    );
    host.set_preinstalled_cbke_data(
        &ca_public,
        &mine.certificate().0,
        &mine.private_key().to_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(host.cbke_certificate().await.unwrap(), mine.certificate().0);
    // Once written, the tokens stay.
    assert!(
        host.set_preinstalled_cbke_data(
            &ca_public,
            &other.certificate().0,
            &other.private_key().to_bytes(),
        )
        .await
        .is_err()
    );
    assert_eq!(host.cbke_certificate().await.unwrap(), mine.certificate().0);
}
