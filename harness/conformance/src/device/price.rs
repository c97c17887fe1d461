//! Price client: asking for the price, taking, scheduling, ending and acknowledging prices.

use hanrig_scenario::scenario::Action;
use hanrig_sep::clusters::price as sep_price;
use hanrig_sep::zcl::command::Command;

use super::{JOINED, PRICE_SHOWN, after, before, check_time, dut_sent, network, price, run_joined};
use crate::cases::{Case, case};
use crate::ctx::{Ctx, Outcome, check};
use crate::instrument::Probe;

pub(super) static CASES: &[Case] = &[
    case!(
        "DEV-PRICE-001",
        Device,
        InHomeDisplay,
        "Asks for the current price after joining",
        "SE 1.0 Price client, Get Current Price (0x0700 c→s 0x00)",
        JOINED,
        ["Power the DUT"],
        "On the air: Get Current Price within 1 minute of joining",
        dev_price_001
    ),
    case!(
        "DEV-PRICE-002",
        Device,
        InHomeDisplay,
        "Takes a published price",
        "SE 1.0 Publish Price (0x0700 s→c 0x00)",
        JOINED,
        ["At 30 s the ESI publishes price 1250 (4 trailing digits, tier 2), start now"],
        "Operator: no price shown before 30 s, 0.1250 tier 2 after",
        dev_price_002
    ),
    case!(
        "DEV-PRICE-003",
        Device,
        InHomeDisplay,
        "Acknowledges a price that asks for it",
        "SE 1.1 Price Control bit 0, Price Acknowledgement (0x0700 c→s 0x02)",
        JOINED,
        ["At 30 s the ESI publishes a price with Price Control 0x01"],
        "On the air: one Price Acknowledgement within 5 s — the price's Provider ID and Issuer Event ID (100), Price Ack Time the moment it is sent, Control 0x01",
        dev_price_003
    ),
    case!(
        "DEV-PRICE-004",
        Device,
        InHomeDisplay,
        "Does not acknowledge a price that does not ask",
        "SE 1.1 Price Control",
        JOINED,
        ["At 30 s the ESI publishes a price with Price Control 0x00"],
        "On the air: no Price Acknowledgement",
        dev_price_004
    ),
    case!(
        "DEV-PRICE-005",
        Device,
        InHomeDisplay,
        "Applies a scheduled price at its start",
        "SE 1.0 Publish Price start time",
        JOINED,
        ["At 30 s the ESI publishes a price starting 10 minutes later, for 30 minutes"],
        "Operator: no price shown before 630 s, the price from 630 s until 2430 s, none after",
        dev_price_005
    ),
    case!(
        "DEV-PRICE-006",
        Device,
        InHomeDisplay,
        "Ends a price with its duration",
        "SE 1.0 Publish Price duration",
        JOINED,
        ["At 30 s the ESI publishes a 10-minute price"],
        "Operator: the price shown until 630 s, none after",
        dev_price_006
    ),
    case!(
        "DEV-PRICE-007",
        Device,
        InHomeDisplay,
        "Takes successive prices, each in its own time",
        "SE 1.0 Publish Price start time and duration",
        JOINED,
        [
            "At 30 s price 100 (0.1250) for 10 minutes",
            "At 60 s price 101 (0.2000) from 630 s for 10 minutes"
        ],
        "Operator: 0.1250 tier 2 until 630 s, 0.2000 tier 2 after",
        dev_price_007
    ),
    case!(
        "DEV-PRICE-008",
        Device,
        InHomeDisplay,
        "A price until changed gives way to the next at its start",
        "SE 1.0 Publish Price duration 0xFFFF (until changed)",
        JOINED,
        [
            "At 30 s price 100 (0.1250) until changed",
            "At 60 s price 101 (0.2000) from 360 s, until changed"
        ],
        "Operator: 0.1250 tier 2 until 360 s, 0.2000 tier 2 after",
        dev_price_008
    ),
];

fn dev_price_001(ctx: &mut Ctx) -> Outcome {
    run_joined(ctx, &network("in-home-display", "1m"))?;
    let asked = dut_sent(ctx, sep_price::CLUSTER_ID, 0x00, "Get Current Price")?;
    check(
        !asked.is_empty(),
        "no Get Current Price after joining",
        "Get Current Price (Price 0x0700 c→s 0x00)",
        "none on the air",
    )
}

fn shown(on: bool) -> Probe {
    Probe::Price(on.then(|| PRICE_SHOWN.to_string()))
}

fn dev_price_002(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2m");
    super::at(&mut net, "30s", Action::PublishPrice(price(100)));
    ctx.probe(before(ctx, 30), shown(false));
    ctx.probe(after(ctx, 30), shown(true));
    run_joined(ctx, &net)
}

fn acknowledgements(
    ctx: &Ctx,
) -> Result<Vec<(&super::Heard, sep_price::PriceAcknowledgement)>, crate::ctx::CaseError> {
    Ok(
        dut_sent(ctx, sep_price::CLUSTER_ID, 0x02, "Price Acknowledgement")?
            .into_iter()
            .filter_map(|(h, _, c)| match c {
                Command::PriceAcknowledgement(a) => Some((h, a.clone())),
                _ => None,
            })
            .collect(),
    )
}

fn dev_price_003(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2m");
    let published = super::PriceStep {
        acknowledge: true,
        provider_id: 0x0102_0304,
        ..price(100)
    };
    super::at(&mut net, "30s", Action::PublishPrice(published));
    run_joined(ctx, &net)?;
    let acks = acknowledgements(ctx)?;
    let [(h, a)] = &acks[..] else {
        return check(
            false,
            "Price Control asked for one acknowledgement",
            "one Price Acknowledgement for issuer event 100 within 5 s",
            format!("{} acknowledgement(s)", acks.len()),
        );
    };
    check(
        super::secs(h) <= 35,
        "the Price Acknowledgement came late",
        "within 5 s of the price (by 35 s)",
        format!("at {} s", super::secs(h)),
    )?;
    check(
        a.provider_id == 0x0102_0304 && a.issuer_event_id == 100 && a.control == 0x01,
        "the Price Acknowledgement does not name the price",
        "Provider ID 0x01020304, Issuer Event ID 100, Control 0x01 (the price's Price Control)",
        format!(
            "Provider ID {:#010x}, Issuer Event ID {}, Control {:#04x}",
            a.provider_id, a.issuer_event_id, a.control
        ),
    )?;
    check_time(ctx, "Price Ack Time", a.price_ack_time, h)
}

fn dev_price_004(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "2m");
    super::at(&mut net, "30s", Action::PublishPrice(price(100)));
    run_joined(ctx, &net)?;
    let acks = acknowledgements(ctx)?.len();
    check(
        acks == 0,
        "acknowledged a price that did not ask for it",
        "no Price Acknowledgement",
        format!("{acks}"),
    )
}

fn dev_price_005(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "1h");
    let scheduled = super::PriceStep {
        start_in: Some("10m".into()),
        duration_minutes: Some(30),
        ..price(100)
    };
    super::at(&mut net, "30s", Action::PublishPrice(scheduled));
    ctx.probe(after(ctx, 30), shown(false));
    ctx.probe(before(ctx, 630), shown(false));
    ctx.probe(after(ctx, 630), shown(true));
    ctx.probe(before(ctx, 2430), shown(true));
    ctx.probe(after(ctx, 2430), shown(false));
    run_joined(ctx, &net)
}

fn dearer(id: u32, start_in: &str, duration: Option<u16>) -> super::PriceStep {
    super::PriceStep {
        price: 2000,
        start_in: Some(start_in.into()),
        duration_minutes: duration,
        ..price(id)
    }
}

const DEARER_SHOWN: &str = "0.2000 tier 2";

fn dev_price_007(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "30m");
    let first = super::PriceStep {
        duration_minutes: Some(10),
        ..price(100)
    };
    super::at(&mut net, "30s", Action::PublishPrice(first));
    super::at(
        &mut net,
        "1m",
        Action::PublishPrice(dearer(101, "570s", Some(10))),
    );
    ctx.probe(before(ctx, 630), shown(true));
    ctx.probe(after(ctx, 630), Probe::Price(Some(DEARER_SHOWN.into())));
    run_joined(ctx, &net)
}

fn dev_price_008(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "10m");
    super::at(&mut net, "30s", Action::PublishPrice(price(100)));
    super::at(
        &mut net,
        "1m",
        Action::PublishPrice(dearer(101, "5m", None)),
    );
    ctx.probe(before(ctx, 360), shown(true));
    ctx.probe(after(ctx, 360), Probe::Price(Some(DEARER_SHOWN.into())));
    run_joined(ctx, &net)
}

fn dev_price_006(ctx: &mut Ctx) -> Outcome {
    let mut net = network("in-home-display", "1h");
    let ten_minutes = super::PriceStep {
        duration_minutes: Some(10),
        ..price(100)
    };
    super::at(&mut net, "30s", Action::PublishPrice(ten_minutes));
    ctx.probe(before(ctx, 630), shown(true));
    ctx.probe(after(ctx, 630), shown(false));
    run_joined(ctx, &net)
}
