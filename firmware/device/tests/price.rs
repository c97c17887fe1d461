//! The Price client's rules, each pinned by the behaviour it names.

#![allow(clippy::unwrap_used)]

use hanrig_device::price::{PRICE_TABLE_CAPACITY, PriceClient, PriceOutput};
use hanrig_sep::clusters::metering::UnitOfMeasure;
use hanrig_sep::clusters::price::{self, PublishPrice};
use hanrig_sep::wire::OctetString;
use hanrig_sep::{Command, UtcTime, ZclFrame};
use proptest::prelude::*;

const T0: u32 = 800_000_000; // 2025-05-07
const HOUR: u32 = 3600;
const UNTIL_CHANGED: u16 = 0xFFFF;

/// An SE 1.0 Publish Price: 0.1234 USD/kWh by default.
fn publish(id: u32, start: u32, minutes: u16) -> PublishPrice {
    PublishPrice {
        provider_id: 0x0000_00AA,
        rate_label: OctetString::new(b"Base").unwrap(),
        issuer_event_id: id,
        current_time: UtcTime(T0),
        unit_of_measure: UnitOfMeasure::KilowattHours,
        currency: 840,
        price_trailing_digit_and_price_tier: 0x41,
        number_of_price_tiers_and_register_tier: 0x31,
        start_time: UtcTime(start),
        duration_in_minutes: minutes,
        price: 1234,
        price_ratio: None,
        generation_price: None,
        generation_price_ratio: None,
        alternate_cost_delivered: None,
        alternate_cost_unit: None,
        alternate_cost_trailing_digit: None,
        number_of_block_thresholds: None,
        price_control: None,
        number_of_generation_tiers: None,
        generation_tier: None,
        extended_number_of_price_tiers: None,
        extended_price_tier: None,
        extended_register_tier: None,
    }
}

/// The same price in SE 1.1 form, with PriceControl `control`.
fn with_control(mut p: PublishPrice, control: u8) -> PublishPrice {
    p.keep_optionals(8);
    p.price_control = Some(control);
    p
}

/// Everything the client asks for.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// Price Acknowledgement: issuer event ID, ack time, control.
    Ack(u32, u32, u8),
    /// Get Current Price: command options.
    GetCurrent(u8),
    /// Get Scheduled Prices: start, count.
    GetScheduled(u32, u8),
    /// PriceChanged.
    Changed(Option<u32>),
    /// Any other command, by name.
    Other(&'static str),
}

fn drain(client: &mut PriceClient) -> Vec<Seen> {
    let mut out = Vec::new();
    while let Some(o) = client.poll_output() {
        out.push(match o {
            PriceOutput::Send(Command::PriceAcknowledgement(a)) => {
                assert_eq!(a.provider_id, 0xAA);
                Seen::Ack(a.issuer_event_id, a.price_ack_time.0, a.control)
            }
            PriceOutput::Send(Command::GetCurrentPrice(g)) => Seen::GetCurrent(g.command_options),
            PriceOutput::Send(Command::GetScheduledPrices(g)) => {
                Seen::GetScheduled(g.start_time.0, g.number_of_events)
            }
            PriceOutput::Send(other) => Seen::Other(other.name()),
            PriceOutput::PriceChanged { issuer_event_id } => Seen::Changed(issuer_event_id),
        });
    }
    out
}

/// Runs the clock to `until`, waking the client whenever it asks.
fn run_until(client: &mut PriceClient, until: u32) -> Vec<(u32, Seen)> {
    let mut seen = Vec::new();
    while let Some(t) = client.poll_timeout() {
        if t.0 > until {
            break;
        }
        client.handle_timeout(t);
        seen.extend(drain(client).into_iter().map(|s| (t.0, s)));
    }
    seen
}

fn in_force(client: &PriceClient, at: u32) -> Option<u32> {
    client.current(UtcTime(at)).map(|p| p.issuer_event_id)
}

fn stored(client: &PriceClient) -> Vec<(u32, u32, Option<u32>)> {
    client
        .prices()
        .map(|(p, start, end)| (p.issuer_event_id, start.0, end.map(|e| e.0)))
        .collect()
}

use Seen::{Ack, Changed};

#[test]
fn get_current_price_carries_the_rx_on_when_idle_bit() {
    let mut c = PriceClient::new();
    c.request_current_price(true);
    c.request_current_price(false);
    assert_eq!(
        drain(&mut c),
        [Seen::GetCurrent(0x01), Seen::GetCurrent(0x00)]
    );
}

#[test]
fn get_scheduled_prices_asks_from_now() {
    let mut c = PriceClient::new();
    c.request_scheduled_prices(UtcTime(T0), 5);
    assert_eq!(drain(&mut c), [Seen::GetScheduled(T0, 5)]);
}

#[test]
fn price_with_start_zero_is_in_force_from_receipt_for_its_duration() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(1, 0, 60));
    assert_eq!(drain(&mut c), [Changed(Some(1))]);
    assert_eq!(in_force(&c, T0), Some(1));
    assert_eq!(in_force(&c, T0 + HOUR - 1), Some(1));
    assert_eq!(in_force(&c, T0 + HOUR), None);
    assert_eq!(stored(&c), [(1, T0, Some(T0 + HOUR))]);
    assert_eq!(c.poll_timeout(), Some(UtcTime(T0 + HOUR)));
    assert_eq!(run_until(&mut c, u32::MAX), [(T0 + HOUR, Changed(None))]);
    assert_eq!((stored(&c), c.poll_timeout()), (vec![], None));
}

#[test]
fn scheduled_price_takes_over_at_its_start() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(1, T0, 60));
    c.handle_publish(UtcTime(T0), &publish(2, T0 + HOUR, 30));
    assert_eq!(drain(&mut c), [Changed(Some(1))]);
    assert_eq!(
        run_until(&mut c, u32::MAX),
        [
            (T0 + HOUR, Changed(Some(2))),
            (T0 + HOUR + 1800, Changed(None))
        ]
    );
}

#[test]
fn price_until_changed_ends_when_the_next_price_starts() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(1, 0, UNTIL_CHANGED));
    assert_eq!(stored(&c), [(1, T0, None)]);
    assert_eq!(c.poll_timeout(), None);
    c.handle_publish(UtcTime(T0 + 10), &publish(2, T0 + HOUR, 60));
    assert_eq!(
        stored(&c),
        [
            (1, T0, Some(T0 + HOUR)),
            (2, T0 + HOUR, Some(T0 + 2 * HOUR))
        ]
    );
    assert_eq!(drain(&mut c), [Changed(Some(1))]);
    // At the next price's end nothing is in force: the first price was "until changed".
    assert_eq!(
        run_until(&mut c, u32::MAX),
        [
            (T0 + HOUR, Changed(Some(2))),
            (T0 + 2 * HOUR, Changed(None))
        ]
    );
}

#[test]
fn nested_newer_price_takes_priority_and_the_longer_price_resumes() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(1, T0, 24 * 60));
    c.handle_publish(UtcTime(T0), &publish(2, T0 + HOUR, 60)); // critical peak
    assert_eq!(drain(&mut c), [Changed(Some(1))]);
    assert_eq!(
        run_until(&mut c, T0 + 3 * HOUR),
        [
            (T0 + HOUR, Changed(Some(2))),
            (T0 + 2 * HOUR, Changed(Some(1)))
        ]
    );
}

#[test]
fn older_price_overlapping_a_newer_one_does_not_take_over() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(5, T0, 24 * 60));
    c.handle_publish(UtcTime(T0), &publish(3, T0 + HOUR, 60));
    assert_eq!(drain(&mut c), [Changed(Some(5))]);
    assert_eq!(in_force(&c, T0 + HOUR + 1), Some(5));
    assert_eq!(run_until(&mut c, T0 + 3 * HOUR), []);
}

#[test]
fn same_issuer_event_id_replaces_the_stored_price() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(1, T0, 60));
    c.handle_publish(
        UtcTime(T0 + 60),
        &PublishPrice {
            price: 2000,
            ..publish(1, T0, 120)
        },
    );
    assert_eq!(drain(&mut c), [Changed(Some(1)), Changed(Some(1))]);
    assert_eq!(c.current(UtcTime(T0 + 60)).map(|p| p.price), Some(2000));
    assert_eq!(stored(&c), [(1, T0, Some(T0 + 2 * HOUR))]);
}

#[test]
fn identical_republication_changes_nothing() {
    let mut c = PriceClient::new();
    let p = with_control(publish(1, 0, 60), price::PRICE_CONTROL_ACK_REQUIRED);
    c.handle_publish(UtcTime(T0), &p);
    c.handle_publish(UtcTime(T0 + 600), &p);
    assert_eq!(drain(&mut c), [Ack(1, T0, 0x01), Changed(Some(1))]);
    assert_eq!(stored(&c), [(1, T0, Some(T0 + HOUR))]);
}

#[test]
fn republication_with_start_zero_keeps_its_first_start() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(1, 0, 60));
    c.handle_publish(
        UtcTime(T0 + 1800),
        &PublishPrice {
            price: 999,
            ..publish(1, 0, 60)
        },
    );
    assert_eq!(drain(&mut c), [Changed(Some(1)), Changed(Some(1))]);
    assert_eq!(stored(&c), [(1, T0, Some(T0 + HOUR))]);
}

#[test]
fn price_with_a_lower_issuer_event_id_and_the_same_start_is_ignored() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(5, T0 + HOUR, 60));
    c.handle_publish(
        UtcTime(T0),
        &with_control(publish(4, T0 + HOUR, 30), price::PRICE_CONTROL_ACK_REQUIRED),
    );
    assert_eq!(drain(&mut c), []); // not stored, so not acknowledged
    assert_eq!(stored(&c), [(5, T0 + HOUR, Some(T0 + 2 * HOUR))]);
}

#[test]
fn price_with_a_higher_issuer_event_id_and_the_same_start_replaces_the_stored_one() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(5, T0, 60));
    c.handle_publish(UtcTime(T0 + 5), &publish(6, T0, 30));
    assert_eq!(drain(&mut c), [Changed(Some(5)), Changed(Some(6))]);
    assert_eq!(stored(&c), [(6, T0, Some(T0 + 1800))]);
}

#[test]
fn price_already_over_on_arrival_is_ignored() {
    let mut c = PriceClient::new();
    c.handle_publish(
        UtcTime(T0 + 2 * HOUR),
        &with_control(publish(1, T0, 60), price::PRICE_CONTROL_ACK_REQUIRED),
    );
    assert_eq!(drain(&mut c), []);
    assert_eq!(stored(&c), []);
}

#[test]
fn acknowledgement_is_sent_once_per_issuer_event_id_when_asked() {
    let mut c = PriceClient::new();
    let ack = price::PRICE_CONTROL_ACK_REQUIRED;
    c.handle_publish(UtcTime(T0), &with_control(publish(1, T0, 60), ack));
    // New content under the same ID: the price changes, the acknowledgement is not repeated.
    c.handle_publish(
        UtcTime(T0 + 5),
        &PublishPrice {
            price: 1,
            ..with_control(publish(1, T0, 60), ack)
        },
    );
    // SE 1.0 prices (no PriceControl) and PriceControl without bit 0 are not acknowledged.
    c.handle_publish(UtcTime(T0 + 6), &publish(2, T0 + HOUR, 60));
    c.handle_publish(
        UtcTime(T0 + 7),
        &with_control(publish(3, T0 + 2 * HOUR, 60), 0x00),
    );
    assert_eq!(
        drain(&mut c),
        [Ack(1, T0, 0x01), Changed(Some(1)), Changed(Some(1))]
    );
}

#[test]
fn full_table_drops_the_price_that_ends_first_but_never_the_price_in_force() {
    let mut c = PriceClient::new();
    assert_eq!(PRICE_TABLE_CAPACITY, 4);
    for id in 1..=4 {
        c.handle_publish(UtcTime(T0), &publish(id, T0 + (id - 1) * HOUR, 60));
    }
    c.handle_publish(UtcTime(T0), &publish(5, T0 + 4 * HOUR, 60));
    let ids: Vec<_> = stored(&c).into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, [1, 3, 4, 5]);
    assert_eq!(drain(&mut c), [Changed(Some(1))]);
}

#[test]
fn prices_that_are_over_make_room_before_any_is_dropped() {
    let mut c = PriceClient::new();
    for id in 1..=4 {
        c.handle_publish(UtcTime(T0), &publish(id, T0 + (id - 1) * HOUR, 60));
    }
    // Price 1 is over at T0 + 1 h: the new price takes its place.
    c.handle_publish(UtcTime(T0 + HOUR), &publish(5, T0 + 4 * HOUR, 60));
    let ids: Vec<_> = stored(&c).into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, [2, 3, 4, 5]);
}

#[test]
fn poll_timeout_is_the_next_start_or_end() {
    let mut c = PriceClient::new();
    assert_eq!(c.poll_timeout(), None);
    c.handle_publish(UtcTime(T0), &publish(1, T0 + 600, 10));
    assert_eq!(c.poll_timeout(), Some(UtcTime(T0 + 600)));
    c.handle_timeout(UtcTime(T0 + 600));
    assert_eq!(c.poll_timeout(), Some(UtcTime(T0 + 1200)));
}

#[test]
fn late_wake_up_reports_only_the_price_in_force_then() {
    let mut c = PriceClient::new();
    c.handle_publish(UtcTime(T0), &publish(1, T0 + 60, 1));
    c.handle_publish(UtcTime(T0), &publish(2, T0 + 120, 60));
    c.handle_timeout(UtcTime(T0 + 600));
    assert_eq!(drain(&mut c), [Changed(Some(2))]);
    assert_eq!(stored(&c), [(2, T0 + 120, Some(T0 + 120 + HOUR))]);
}

/// The commands the client sends are frames the codec emits: cluster-specific, client to
/// server, on the Price cluster (`sep1-wire-facts.md` §2).
#[test]
fn sent_commands_emit_as_price_frames() {
    let mut c = PriceClient::new();
    c.request_current_price(true);
    c.request_scheduled_prices(UtcTime(0x2FAF_0800), 3);
    c.handle_publish(
        UtcTime(0x2FAF_0800),
        &with_control(
            PublishPrice {
                provider_id: 0x0102_0304,
                issuer_event_id: 0x1122_3344,
                ..publish(0, 0, 60)
            },
            0x01,
        ),
    );
    let mut frames = Vec::new();
    while let Some(o) = c.poll_output() {
        if let PriceOutput::Send(command) = o {
            let frame = ZclFrame::new(price::CLUSTER_ID, command, 9).unwrap();
            let mut buf = [0u8; 127];
            let len = frame.emit(&mut buf).unwrap();
            frames.push(buf[..len].to_vec());
        }
    }
    assert_eq!(
        frames,
        [
            vec![0x01, 9, 0x00, 0x01],
            vec![0x01, 9, 0x01, 0x00, 0x08, 0xAF, 0x2F, 3],
            vec![
                0x01, 9, 0x02, 0x04, 0x03, 0x02, 0x01, 0x44, 0x33, 0x22, 0x11, 0x00, 0x08, 0xAF,
                0x2F, 0x01
            ],
        ]
    );
}

#[derive(Debug, Clone)]
enum Op {
    Publish {
        id: u32,
        start_in: Option<i32>,
        minutes: u16,
        price: u32,
    },
    Wait(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            1u32..8,
            proptest::option::of(-7200i32..14_400),
            prop_oneof![0u16..240, Just(UNTIL_CHANGED)],
            0u32..3
        )
            .prop_map(|(id, start_in, minutes, price)| Op::Publish {
                id,
                start_in,
                minutes,
                price
            }),
        (0u32..20_000).prop_map(Op::Wait),
    ]
}

proptest! {
    /// Whatever the ESI publishes and however time passes, the last PriceChanged names the
    /// price `current()` gives, the table stays within its capacity, and every wake-up lies
    /// ahead.
    #[test]
    fn price_changes_track_the_price_in_force(ops in proptest::collection::vec(op(), 1..40)) {
        let mut c = PriceClient::new();
        let mut now = T0;
        let mut reported = None;
        for op in ops {
            match op {
                Op::Publish { id, start_in, minutes, price } => {
                    let start = start_in.map_or(0, |s| now.wrapping_add_signed(s));
                    c.handle_publish(UtcTime(now), &PublishPrice { price, ..publish(id, start, minutes) });
                }
                Op::Wait(s) => {
                    let until = now + s;
                    while let Some(t) = c.poll_timeout().filter(|t| t.0 <= until) {
                        prop_assert!(t.0 > now, "wake-up not ahead");
                        now = t.0;
                        c.handle_timeout(t);
                        track(&mut c, &mut reported);
                        prop_assert_eq!(reported, in_force(&c, now));
                    }
                    now = until;
                    c.handle_timeout(UtcTime(now));
                }
            }
            track(&mut c, &mut reported);
            prop_assert_eq!(reported, in_force(&c, now));
            prop_assert!(c.prices().count() <= PRICE_TABLE_CAPACITY);
        }
    }
}

fn track(c: &mut PriceClient, reported: &mut Option<u32>) {
    while let Some(o) = c.poll_output() {
        if let PriceOutput::PriceChanged { issuer_event_id } = o {
            *reported = issuer_event_id;
        }
    }
}
