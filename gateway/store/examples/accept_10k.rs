//! Times the repository's part of one 10,000-address message: the message and its 10,000
//! delivery rows written in one transaction (what happens before the API answers 202), then
//! 10,000 Report Event Status results recorded as a head-end delivers them in one
//! notification (one batch), and, for comparison, one transaction per report. Usage:
//!   cargo run --release -p hanrig-gateway-store --example accept_10k -- DATABASE_URL [RUNS]

use std::time::Instant;

use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::message::Address;
use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_store::{NewMessage, Store};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: accept_10k DATABASE_URL [RUNS]")?;
    let runs: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let store = Store::open(&url).await?;
    let routing = Routing::texas();
    let deliveries: Vec<(Address, Tdsp)> = (0..10_000u64)
        .map(|i| {
            let esiid: Esiid = format!("1044372{i:010}").parse().expect("a valid ESIID");
            let tdsp = routing.route(&esiid).expect("routed");
            (Address::Esiid(esiid), tdsp)
        })
        .collect();
    let message = NewMessage {
        company: "bench",
        kind: "load-control",
        request: "{}",
        cluster: 0x0701,
        command: &[0x09, 0x01, 0x00],
    };
    for run in 1..=runs {
        let t = Instant::now();
        let id = store.accept_message(&message, &deliveries, 0).await?;
        let accepted = t.elapsed();
        let rows = store.deliveries(id).await?;
        let reports: Vec<(i64, DeliveryStatus, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.id,
                    DeliveryStatus::DeviceAcknowledged,
                    "Report Event Status: Completed",
                )
            })
            .collect();
        let t = Instant::now();
        store.report_batch(&reports, 1).await?;
        let batch = t.elapsed();
        let summary = store.summary(id).await?;
        assert_eq!(summary.device_acknowledged, 10_000);
        // The same, one transaction per report (a second message).
        let id = store.accept_message(&message, &deliveries, 0).await?;
        let rows = store.deliveries(id).await?;
        let t = Instant::now();
        for row in &rows {
            store
                .report(
                    row.id,
                    DeliveryStatus::DeviceAcknowledged,
                    "Report Event Status: Completed",
                    1,
                )
                .await?;
        }
        let single = t.elapsed();
        println!(
            "run {run}: accept 10,000 addresses {:.1} ms; record 10,000 reports in one batch {:.1} ms, one by one {:.1} ms",
            accepted.as_secs_f64() * 1e3,
            batch.as_secs_f64() * 1e3,
            single.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
