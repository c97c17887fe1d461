//! A device under test in another process's place: the link to it carries frames, times and
//! panels, and a broken link is the rig's failure, reported, never a silent pass.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use hanrig_device::drlc::DrlcConfig;
use hanrig_sep::Eui64;
use hanrig_sep::clusters::drlc::DeviceClass;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::{DeviceKind, SimDevice};
use hanrig_sim::remote::{Dut, RemoteDut, UserAction, serve_dut};

fn device() -> SimDevice {
    SimDevice::new(
        "dut",
        DeviceKind::LoadControl,
        Eui64(0x0012_4B00_0102_0304),
        &"83FED3407A939723A5C639B26916D505C3B5".parse().unwrap(),
        (0x1A62, 15),
        DrlcConfig {
            device_class: DeviceClass(DeviceClass::WATER_HEATER),
            utility_enrollment_group: 0,
            start_randomization_minutes: 0,
            duration_randomization_minutes: 0,
        },
        1,
    )
}

#[test]
fn a_remote_device_says_who_it_is_joins_and_shows_its_panel() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || serve_dut(listener, Dut::Device(Box::new(device()))));
    let mut dut = RemoteDut::connect(&address, None).unwrap();
    assert_eq!(
        (dut.eui, dut.pan, dut.channel),
        (Eui64(0x0012_4B00_0102_0304), 0x1A62, 15)
    );
    let t = SimTime(1_782_914_400_000_000);
    let frames = dut.start_join(t);
    // An Association Request (MAC command 0x01) to the coordinator.
    assert_eq!(frames.len(), 1);
    assert!(frames[0].contains(&0x01), "{:02x?}", frames[0]);
    // Not joined: the buttons do nothing, the relay is closed.
    assert!(
        dut.user(t, UserAction::OptOut { issuer_event_id: 1 })
            .is_empty()
    );
    let panel = dut.panel(t).unwrap();
    assert_eq!(panel.load_energised, Some(true));
    assert_eq!(panel.message, None);
    assert!(dut.error.is_none());
    drop(dut);
    server.join().unwrap().unwrap();
}

#[test]
fn a_device_process_that_talks_nonsense_or_dies_is_reported_not_trusted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        writeln!(
            stream,
            r#"{{"name":"dut","eui64":"00:12:4b:00:01:02:03:04","pan":6754,"channel":15}}"#
        )
        .unwrap();
        let mut line = String::new();
        BufReader::new(stream.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        // A frame that is not hex, then hang up.
        writeln!(
            stream,
            r#"{{"frames":["zz"],"next_timeout_us":null,"panel":null}}"#
        )
        .unwrap();
    });
    let mut dut = RemoteDut::connect(&address, None).unwrap();
    let t = SimTime(1_782_914_400_000_000);
    assert!(dut.start_join(t).is_empty());
    assert!(
        dut.error.as_deref().unwrap().contains("not hex"),
        "{:?}",
        dut.error
    );
    server.join().unwrap();
    // Nothing more is asked of a link that failed.
    assert!(dut.handle_timeout(t).is_empty());
    assert!(dut.panel(t).is_none());
}
