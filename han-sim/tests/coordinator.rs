//! The coordinator a simulated co-processor runs: it admits only devices whose install-code
//! key its host loaded while joining is permitted, and carries ZCL both ways for the host.

#![allow(clippy::unwrap_used)]

use hanrig_device::drlc::DrlcConfig;
use hanrig_sep::clusters::basic;
use hanrig_sep::clusters::drlc::DeviceClass;
use hanrig_sep::install_code::InstallCode;
use hanrig_sep::wire::Records;
use hanrig_sep::zcl::general::ReadAttributes;
use hanrig_sep::{Command, Eui64, ZclFrame};
use hanrig_sim::clock::SimTime;
use hanrig_sim::coordinator::{Coordinator, HostEvent};
use hanrig_sim::device::{DeviceKind, JoinState, SimDevice};
use hanrig_sim::sim::{Happening, MediumConfig, Node, Simulation};

const PAN: u16 = 0x1A62;
const CHANNEL: u8 = 15;
const IHD: Eui64 = Eui64(0x0022_A300_0000_0001);
const STRANGER: Eui64 = Eui64(0x0022_A300_0000_0002);

fn code(hex: &str) -> InstallCode {
    hex.parse().unwrap()
}

fn device(name: &str, eui: Eui64, ic: &InstallCode) -> Node {
    Node::Device(Box::new(SimDevice::new(
        name,
        DeviceKind::InHomeDisplay,
        eui,
        ic,
        (PAN, CHANNEL),
        DrlcConfig {
            device_class: DeviceClass(0),
            utility_enrollment_group: 0,
            start_randomization_minutes: 0,
            duration_randomization_minutes: 0,
        },
        7,
    )))
}

fn join_at(sim: &mut Simulation, index: usize, at: SimTime) {
    sim.schedule(
        at,
        Happening::Act(Box::new(move |now, nodes, log| match &mut nodes[index] {
            Node::Device(d) => vec![(index, d.start_join(now, log))],
            _ => Vec::new(),
        })),
    );
}

fn coordinator(sim: &mut Simulation) -> &mut Coordinator {
    match &mut sim.nodes[0] {
        Node::Coordinator(c) => c,
        _ => unreachable!("node 0 is the coordinator"),
    }
}

fn state(sim: &Simulation, index: usize) -> JoinState {
    match &sim.nodes[index] {
        Node::Device(d) => d.state,
        _ => unreachable!("not a device"),
    }
}

#[test]
fn admits_install_code_devices_and_carries_zcl_for_the_host() {
    let ihd_code = code("83FED3407A939723A5C639B26916D505C3B5");
    let stranger_code = InstallCode::from_body(&[0x11; 16]).unwrap(); // never loaded
    let start = SimTime::from_unix_seconds(1_780_000_000);
    let mut c = Coordinator::new(
        "ncp",
        Eui64(0x000D_6F00_0ABC_DEF0),
        PAN,
        CHANNEL,
        [0x5A; 16],
    );
    c.add_transient_key(IHD, ihd_code.link_key());
    c.permit_joining(Some(start.plus(60 * SimTime::SECOND)));
    let nodes = vec![
        Node::Coordinator(Box::new(c)),
        device("ihd", IHD, &ihd_code),
        device("stranger", STRANGER, &stranger_code),
        device("late", Eui64(0x0022_A300_0000_0003), &ihd_code),
    ];
    let mut sim = Simulation::new(nodes, MediumConfig::default(), 1, start);
    join_at(&mut sim, 1, start.plus(SimTime::SECOND));
    join_at(&mut sim, 2, start.plus(2 * SimTime::SECOND));
    sim.run_until(start.plus(10 * SimTime::SECOND));

    assert_eq!(state(&sim, 1), JoinState::Joined);
    assert_eq!(
        state(&sim, 2),
        JoinState::Refused(0x02),
        "no install-code key loaded"
    );
    let events: Vec<HostEvent> = coordinator(&mut sim).events.drain(..).collect();
    let short = match events.first() {
        Some(HostEvent::Joined { eui, short }) if *eui == IHD => *short,
        other => panic!("first event should be the IHD joining, got {other:?}"),
    };
    // On joining, the IHD reads the time (NWK security only) and asks for the current price
    // (APS-secured with its install-code key): the host sees both, decrypted.
    let incoming: Vec<(u16, bool)> = events
        .iter()
        .filter_map(|e| match e {
            HostEvent::Incoming {
                source,
                cluster,
                aps_secured,
                ..
            } if *source == short => Some((*cluster, *aps_secured)),
            _ => None,
        })
        .collect();
    assert!(incoming.contains(&(0x000A, false)), "{incoming:?}");
    assert!(incoming.contains(&(0x0700, true)), "{incoming:?}");

    // The host reads the IHD's model identifier.
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
    let (frame, _) = coordinator(&mut sim)
        .send_unicast(short, 0x0109, basic::CLUSTER_ID, 1, 1, false, &buf[..len])
        .unwrap();
    sim.send_from(0, vec![frame]);
    sim.run_until(start.plus(12 * SimTime::SECOND));
    let answer = coordinator(&mut sim)
        .events
        .iter()
        .find_map(|e| match e {
            HostEvent::Incoming {
                cluster: 0x0000,
                payload,
                ..
            } => Some(ZclFrame::parse(0x0000, payload).unwrap()),
            _ => None,
        })
        .expect("the IHD answers the read");
    assert_eq!(answer.header.tsn, 0x42);
    let Command::ReadAttributesResponse(r) = answer.command else {
        panic!("{answer:?}")
    };
    let record = r.records.iter().next().unwrap();
    assert_eq!(record.value.unwrap().as_bytes(), Some(&b"sim-ihd"[..]));
    assert!(
        coordinator(&mut sim)
            .send_unicast(0x7777, 0x0109, 0, 1, 1, false, &buf[..len])
            .is_none(),
        "not a member"
    );

    // Joining closes after 60 s: a device with a loaded key is still refused.
    coordinator(&mut sim).add_transient_key(Eui64(0x0022_A300_0000_0003), ihd_code.link_key());
    join_at(&mut sim, 3, start.plus(61 * SimTime::SECOND));
    sim.run_until(start.plus(70 * SimTime::SECOND));
    assert_eq!(state(&sim, 3), JoinState::Refused(0x02));
}
