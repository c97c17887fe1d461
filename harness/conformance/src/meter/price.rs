//! Price server: Publish Price, Get Current Price and Get Scheduled Prices against the clock,
//! acknowledgements, and late joiners.

use hanrig_scenario::scenario::{Action, PriceStep};
use hanrig_sep::UtcTime;
use hanrig_sep::clusters::price::{self as sep_price, PublishPrice};
use hanrig_sep::zcl::command::Command;

use super::{
    IHD, PCT, RIG_JOINED, answered_default, at, commands, default_responses, eui, ihd, late,
    network, pct, requests, run_joined, send,
};
use crate::cases::{Case, case};
use crate::ctx::{CaseError, Ctx, Outcome, check, fail, start_us};
use crate::judge::{check_time, secs};

pub(super) static CASES: &[Case] = &[
    case!(
        "MET-PRICE-001",
        Meter,
        Meter,
        "Answers Get Current Price",
        "SE 1.0 Price server",
        RIG_JOINED,
        [
            "Publish a price at 30 s",
            "The display sends Get Current Price at 60 s"
        ],
        "On the air: Publish Price to the display in answer, with the request's TSN",
        met_price_001
    ),
    case!(
        "MET-PRICE-002",
        Meter,
        Meter,
        "Publish Price fields are well-formed",
        "SE 1.0 Publish Price",
        RIG_JOINED,
        ["Publish price 999, tier 3, 2 trailing digits, label 'peak'"],
        "On the air: currency 840, 0x23, 3 tiers with register tier 3 (0x33), label, price, issuer event 7",
        met_price_002
    ),
    case!(
        "MET-PRICE-003",
        Meter,
        Meter,
        "Get Current Price without a price is NOT_FOUND",
        "ZCL Default Response; SE 1.0 Price server",
        RIG_JOINED,
        ["Get Current Price before any price"],
        "On the air: Default Response 0x8B for command 0x00 with the request's TSN",
        met_price_003
    ),
    case!(
        "MET-PRICE-004",
        Meter,
        Meter,
        "Publish Price carries the meter's time",
        "SE 1.0 Publish Price Current Time",
        RIG_JOINED,
        ["Publish a price at 30 s"],
        "On the air: Current Time the moment it is sent (14:00:30 UTC)",
        met_price_004
    ),
    case!(
        "MET-PRICE-005",
        Meter,
        Meter,
        "Takes Price Acknowledgements",
        "SE 1.1 Price Acknowledgement; ZCL Default Response",
        RIG_JOINED,
        ["Publish a price asking for acknowledgement; both devices acknowledge"],
        "On the air: Default Response SUCCESS for each acknowledgement, with its TSN",
        met_price_005
    ),
    case!(
        "MET-PRICE-006",
        Meter,
        Meter,
        "Get Current Price after the price ended is NOT_FOUND",
        "SE 1.0 Price server (the price in force at the time of asking)",
        RIG_JOINED,
        ["A 10-minute price at 30 s", "Get Current Price at 15 min"],
        "On the air: Default Response 0x8B, no Publish Price",
        met_price_006
    ),
    case!(
        "MET-PRICE-007",
        Meter,
        Meter,
        "Get Current Price before a scheduled price starts is NOT_FOUND, after it the price",
        "SE 1.0 Price server (the price in force at the time of asking)",
        RIG_JOINED,
        [
            "At 30 s a price starting 10 minutes later",
            "Get Current Price at 5 min and at 12 min"
        ],
        "On the air: Default Response 0x8B to the first, Publish Price to the second",
        met_price_007
    ),
    case!(
        "MET-PRICE-008",
        Meter,
        Meter,
        "Get Scheduled Prices honours Start Time and Number of Events",
        "SE 1.0 Get Scheduled Prices (minimum end time, count; EmberZNet reference server)",
        RIG_JOINED,
        [
            "At 30 s prices 1 (now, 10 min), 2 (+1 h, 30 min), 3 (+2 h, 30 min)",
            "The display asks from now for all; the thermostat from 14:20 for one"
        ],
        "On the air: prices 1, 2, 3 in order of start to the display; price 2 alone to the thermostat",
        met_price_008
    ),
    case!(
        "MET-PRICE-009",
        Meter,
        Meter,
        "A device that joins late gets the price with the time it has left",
        "SE 1.0 Publish Price start time and duration (EmberZNet reference server: start now, minutes left)",
        RIG_JOINED,
        [
            "At 30 s a 60-minute price starting now",
            "A third display joins at 20 min and asks for the current price"
        ],
        "On the air: a Publish Price to it ending when the price ends (14:60:30 ± 1 min)",
        met_price_009
    ),
    case!(
        "MET-PRICE-010",
        Meter,
        Meter,
        "Answers Get Current Price whether or not the requester's receiver is on when idle",
        "SE 1.0 Get Current Price Command Options bit 0 (Requestor Rx On When Idle: the server may use it for its publishing policy; the request is answered either way)",
        RIG_JOINED,
        [
            "Publish a price at 30 s",
            "At 60 s the display asks with Command Options 0x00, the thermostat with 0x01"
        ],
        "On the air: Publish Price 7 to each, with its request's TSN",
        met_price_010
    ),
];

fn price(id: u32) -> PriceStep {
    PriceStep {
        meter: "dut".into(),
        issuer_event_id: id,
        price: 999,
        ..PriceStep::default()
    }
}

const GCP: &str = "{ name = \"get_current_price\", command_options = 1 }";

fn prices_to(ctx: &Ctx, rig: hanrig_sep::Eui64) -> Result<Vec<(u64, u8, PublishPrice)>, CaseError> {
    Ok(commands(ctx, rig, sep_price::CLUSTER_ID, 0x00)?
        .into_iter()
        .filter_map(|(h, f)| match &f.command {
            Command::PublishPrice(p) => Some((secs(h), f.header.tsn, p.clone())),
            _ => None,
        })
        .collect())
}

fn met_price_001(ctx: &mut Ctx) -> Outcome {
    let mut net = network("2m");
    at(&mut net, "30s", Action::PublishPrice(price(7)));
    send(&mut net, "1m", IHD.0, sep_price::CLUSTER_ID, GCP);
    run_joined(ctx, &net)?;
    answered_at_60(
        ctx,
        ihd(),
        "Get Current Price was not answered with Publish Price",
    )
}

fn met_price_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    at(
        &mut net,
        "30s",
        Action::PublishPrice(PriceStep {
            rate_label: "peak".into(),
            tier: 3,
            trailing_digits: 2,
            ..price(7)
        }),
    );
    run_joined(ctx, &net)?;
    let got = prices_to(ctx, pct())?;
    let Some((_, _, p)) = got.first() else {
        return Err(fail(
            "no Publish Price reached the thermostat",
            "Publish Price",
            "nothing",
        ));
    };
    let tiers = p.number_of_price_tiers_and_register_tier;
    check(
        p.currency == 840
            && p.price_trailing_digit_and_price_tier == 0x23
            && p.rate_label.as_bytes() == b"peak"
            && p.price == 999
            && p.issuer_event_id == 7
            && tiers >> 4 >= 3
            && tiers & 0x0F == 3,
        "Publish Price fields are wrong",
        "currency 840, trailing digits 2 / tier 3 (0x23), at least 3 tiers with register tier 3, label 'peak', price 999, issuer event 7",
        format!(
            "currency {}, {:#04x}, tiers {tiers:#04x}, label {:?}, price {}, issuer event {}",
            p.currency,
            p.price_trailing_digit_and_price_tier,
            String::from_utf8_lossy(p.rate_label.as_bytes()),
            p.price,
            p.issuer_event_id
        ),
    )
}

fn not_found(ctx: &Ctx, rig: hanrig_sep::Eui64, after_s: u64) -> Outcome {
    let answers = default_responses(ctx, rig, sep_price::CLUSTER_ID)?;
    check(
        answers
            .iter()
            .any(|(t, _, d)| *t >= after_s && d.command_id == 0x00 && u8::from(d.status) == 0x8B),
        "Get Current Price without a price in force was not answered NOT_FOUND",
        format!("Default Response status 0x8B for command 0x00 at {after_s} s or later"),
        format!("{answers:?}"),
    )
}

fn met_price_003(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    send(&mut net, "30s", IHD.0, sep_price::CLUSTER_ID, GCP);
    run_joined(ctx, &net)?;
    answered_default(ctx, ihd(), sep_price::CLUSTER_ID, 0x00, 0x8B)
}

fn met_price_004(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    at(&mut net, "30s", Action::PublishPrice(price(7)));
    run_joined(ctx, &net)?;
    let (h, p) = commands(ctx, ihd(), sep_price::CLUSTER_ID, 0x00)?
        .into_iter()
        .find_map(|(h, f)| match &f.command {
            Command::PublishPrice(p) => Some((h, p.clone())),
            _ => None,
        })
        .ok_or_else(|| {
            fail(
                "no Publish Price reached the display",
                "Publish Price",
                "nothing",
            )
        })?;
    check_time(ctx, "Publish Price Current Time", p.current_time, h)?;
    let expected = UtcTime::from_unix(start_us() / 1_000_000 + 30).unwrap_or(UtcTime(0));
    check(
        p.current_time == expected,
        "Publish Price carried the wrong current time",
        format!("{} (14:00:30 UTC)", expected.0),
        p.current_time.0.to_string(),
    )
}

fn met_price_005(ctx: &mut Ctx) -> Outcome {
    let mut net = network("1m");
    at(
        &mut net,
        "30s",
        Action::PublishPrice(PriceStep {
            acknowledge: true,
            ..price(7)
        }),
    );
    run_joined(ctx, &net)?;
    answered_default(ctx, ihd(), sep_price::CLUSTER_ID, 0x02, 0x00)?;
    answered_default(ctx, pct(), sep_price::CLUSTER_ID, 0x02, 0x00)
}

fn met_price_006(ctx: &mut Ctx) -> Outcome {
    let mut net = network("16m");
    at(
        &mut net,
        "30s",
        Action::PublishPrice(PriceStep {
            duration_minutes: Some(10),
            ..price(7)
        }),
    );
    send(&mut net, "15m", IHD.0, sep_price::CLUSTER_ID, GCP);
    run_joined(ctx, &net)?;
    let stale: Vec<u64> = prices_to(ctx, ihd())?
        .into_iter()
        .map(|(t, _, _)| t)
        .filter(|t| *t >= 900)
        .collect();
    check(
        stale.is_empty(),
        "Get Current Price was answered with a price that had ended",
        "no Publish Price after 15 min",
        format!("Publish Price at {stale:?} s"),
    )?;
    not_found(ctx, ihd(), 900)
}

fn met_price_007(ctx: &mut Ctx) -> Outcome {
    let mut net = network("13m");
    at(
        &mut net,
        "30s",
        Action::PublishPrice(PriceStep {
            start_in: Some("10m".into()),
            duration_minutes: Some(30),
            ..price(7)
        }),
    );
    send(&mut net, "5m", IHD.0, sep_price::CLUSTER_ID, GCP);
    send(&mut net, "12m", IHD.0, sep_price::CLUSTER_ID, GCP);
    run_joined(ctx, &net)?;
    let got = prices_to(ctx, ihd())?;
    let early: Vec<u64> = got
        .iter()
        .map(|(t, _, _)| *t)
        .filter(|t| (300..720).contains(t))
        .collect();
    check(
        early.is_empty(),
        "Get Current Price was answered with a price not yet begun",
        "Default Response 0x8B at 5 min",
        format!("Publish Price at {early:?} s"),
    )?;
    not_found(ctx, ihd(), 300)?;
    check(
        got.iter()
            .any(|(t, _, p)| *t >= 720 && p.issuer_event_id == 7),
        "Get Current Price after the price began was not answered with it",
        "Publish Price 7 at 12 min",
        format!(
            "{:?}",
            got.iter()
                .map(|(t, _, p)| (t, p.issuer_event_id))
                .collect::<Vec<_>>()
        ),
    )
}

fn met_price_008(ctx: &mut Ctx) -> Outcome {
    let mut net = network("3m");
    at(
        &mut net,
        "30s",
        Action::PublishPrice(PriceStep {
            duration_minutes: Some(10),
            ..price(1)
        }),
    );
    for (id, start) in [(2, "1h"), (3, "2h")] {
        at(
            &mut net,
            "30s",
            Action::PublishPrice(PriceStep {
                start_in: Some(start.into()),
                duration_minutes: Some(30),
                ..price(id)
            }),
        );
    }
    // 14:20 UTC: after price 1 has ended.
    let from = UtcTime::from_unix(start_us() / 1_000_000 + 1200).unwrap_or(UtcTime(0));
    send(
        &mut net,
        "1m",
        IHD.0,
        sep_price::CLUSTER_ID,
        "{ name = \"get_scheduled_prices\", start_time = 0, number_of_events = 0 }",
    );
    send(
        &mut net,
        "2m",
        PCT.0,
        sep_price::CLUSTER_ID,
        &format!(
            "{{ name = \"get_scheduled_prices\", start_time = {}, number_of_events = 1 }}",
            from.0
        ),
    );
    run_joined(ctx, &net)?;
    let ids = |rig, after: u64| -> Result<Vec<u32>, CaseError> {
        Ok(prices_to(ctx, rig)?
            .into_iter()
            .filter(|(t, _, _)| *t >= after)
            .map(|(_, _, p)| p.issuer_event_id)
            .collect())
    };
    let all = ids(ihd(), 60)?;
    check(
        all == [1, 2, 3],
        "Get Scheduled Prices from now did not return every price in force or scheduled, in order",
        "prices 1, 2, 3",
        format!("{all:?}"),
    )?;
    let one = ids(pct(), 120)?;
    check(
        one == [2],
        "Get Scheduled Prices did not honour Start Time and Number of Events",
        "price 2 alone (price 1 ended before 14:20; one event asked)",
        format!("{one:?}"),
    )
}

/// A start-now item re-sent at `sent_s` with (start, duration) must end at `end_unix`, ±1 min.
pub(super) fn ends_at(start: UtcTime, duration: u16, sent_unix: u64, end_unix: u64) -> bool {
    let begins = if start == UtcTime::NOW {
        sent_unix
    } else {
        start.to_unix()
    };
    let ends = begins + 60 * u64::from(duration);
    ends + 60 >= end_unix && ends <= end_unix + 60
}

fn met_price_009(ctx: &mut Ctx) -> Outcome {
    let mut net = network("25m");
    at(
        &mut net,
        "30s",
        Action::PublishPrice(PriceStep {
            duration_minutes: Some(60),
            ..price(7)
        }),
    );
    let late_ihd = "00:12:4b:00:00:00:20:01";
    net.devices
        .push(late("late-ihd", "in-home-display", late_ihd, "20m"));
    run_joined(ctx, &net)?;
    let end = start_us() / 1_000_000 + 30 + 3600;
    let got = prices_to(ctx, eui(late_ihd))?;
    let Some((t, _, p)) = got.first() else {
        return Err(fail(
            "the late joiner's Get Current Price was not answered",
            "Publish Price",
            "nothing",
        ));
    };
    let sent = start_us() / 1_000_000 + t;
    check(
        ends_at(p.start_time, p.duration_in_minutes, sent, end),
        "a late joiner was given the price with the wrong time left",
        "a Publish Price ending at 15:00:30 UTC (start now with 40 minutes left, or its start with 60)",
        format!(
            "start {} duration {} min, sent at {t} s",
            p.start_time.0, p.duration_in_minutes
        ),
    )
}

fn met_price_010(ctx: &mut Ctx) -> Outcome {
    let mut net = network("2m");
    at(&mut net, "30s", Action::PublishPrice(price(7)));
    send(
        &mut net,
        "1m",
        IHD.0,
        sep_price::CLUSTER_ID,
        "{ name = \"get_current_price\", command_options = 0 }",
    );
    send(&mut net, "1m", PCT.0, sep_price::CLUSTER_ID, GCP);
    run_joined(ctx, &net)?;
    for (who, rig, options) in [("display", ihd(), 0), ("thermostat", pct(), 1)] {
        answered_at_60(
            ctx,
            rig,
            &format!(
                "the {who}'s Get Current Price (Command Options {options:#04x}) was not answered"
            ),
        )?;
    }
    Ok(())
}

/// Fails with `message` unless `rig`'s Get Current Price was answered with Publish Price 7, at
/// 60 s or later and with the request's TSN.
fn answered_at_60(ctx: &Ctx, rig: hanrig_sep::Eui64, message: &str) -> Outcome {
    let tsn = requests(ctx, rig, sep_price::CLUSTER_ID, 0x00);
    let got = prices_to(ctx, rig)?;
    check(
        !tsn.is_empty()
            && got
                .iter()
                .any(|(t, x, p)| *t >= 60 && tsn.contains(x) && p.issuer_event_id == 7),
        message,
        format!("Publish Price 7 at 60 s or later with TSN in {tsn:?}"),
        format!(
            "{:?}",
            got.iter()
                .map(|(t, x, p)| (t, x, p.issuer_event_id))
                .collect::<Vec<_>>()
        ),
    )
}
