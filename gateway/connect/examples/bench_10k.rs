//! The benchmark: one load-control event to 10,000 ESIIDs, from the API accepting it
//! to every device's Report Event Status recorded, through the job connector, a simulated
//! CenterPoint head-end on loopback HTTP and 10,000 simulated meters with thermostats. The
//! head-end's network latency is set to zero so that the figure is the gateway's and the
//! simulated HAN's own time. Usage:
//!   cargo run --release -p hanrig-gateway-connect --example bench_10k -- DATABASE_URL

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use hanrig_gateway::access::CompanyKind;
use hanrig_gateway::agreement::{AgreementKind, MessageTypes};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_api::{Api, Caller};
use hanrig_gateway_connect::{JobsClient, collect, dispatch};
use hanrig_gateway_store::Invitation;
use hanrig_gateway_store::Store;
use hanrig_headend::limits;
use hanrig_sep::Eui64;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{Clock, JobsHeadEnd, Latency, serve_jobs};
use tower::ServiceExt;

const T0: u64 = 1_782_914_400;

fn now() -> i64 {
    T0 as i64
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: bench_10k DATABASE_URL")?;
    let esiids: Vec<String> = (0..10_000u64).map(|i| format!("1008901{i:015}")).collect();
    let fleet: Vec<(String, DeviceKind)> = esiids
        .iter()
        .map(|e| (e.clone(), DeviceKind::Thermostat))
        .collect();
    let built = Instant::now();
    let start = SimTime::from_unix_seconds(T0);
    let instant = Latency {
        min_us: 0,
        max_us: 0,
        loss: 0.0,
    };
    let headend = JobsHeadEnd::new(&fleet, instant, 11, start);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let client = JobsClient::new(&format!("http://{}", listener.local_addr()?));
    tokio::spawn(serve_jobs(
        listener,
        headend,
        Clock {
            start,
            since: Instant::now(),
            speed: 1.0,
        },
    ));
    let store = Store::open(&url).await?;
    let app = Api::new(store.clone(), Routing::texas(), now).router();
    println!(
        "10,000 simulated meters and thermostats built and joined in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    // The third party and its customers' In-Home Device Services Agreements (not timed).
    let agreed = Instant::now();
    store
        .add_company("bench", CompanyKind::ThirdParty, now())
        .await?;
    for (i, esiid) in esiids.iter().enumerate() {
        let esiid: Esiid = esiid.parse()?;
        let a = store
            .invite(
                &Invitation {
                    company: "bench",
                    kind: AgreementKind::InHomeDeviceServices,
                    esiid: &esiid,
                    device: Some(Eui64(0x000d_6f00_0000_0000 + i as u64)),
                    message_types: MessageTypes {
                        load_control: true,
                        ..MessageTypes::default()
                    },
                    term: None,
                    customer_email: "customer@example.com",
                    token: &format!("bench-{i}"),
                },
                now(),
            )
            .await?;
        store
            .step_agreement(a.id, now(), |s, now| s.accept(now))
            .await?;
    }
    println!(
        "10,000 agreements accepted in {:.1} s",
        agreed.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let body = serde_json::json!({
        "esiids": esiids,
        "message": { "device_class": 1, "duration_minutes": 60, "criticality": 2 }
    });
    let mut request = Request::builder()
        .method("POST")
        .uri("/v1/messages/load-control")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))?;
    request.extensions_mut().insert(Caller {
        company: "bench".into(),
        kind: CompanyKind::ThirdParty,
        user: "bench".into(),
        permissions: CompanyKind::ThirdParty.permissions(),
        territory: None,
    });
    let response = app.oneshot(request).await?;
    let accepted_status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await?
        .to_bytes();
    let accepted: serde_json::Value = serde_json::from_slice(&bytes)?;
    let id = accepted["id"].as_i64().ok_or("no id")?;
    let accept = t.elapsed();
    let sent = dispatch(
        &store,
        Tdsp::Centerpoint,
        &client,
        &limits::of(Tdsp::Centerpoint.style()),
        20_000,
        now(),
    )
    .await?;
    let dispatched = t.elapsed();
    let mut polls = 0;
    loop {
        polls += 1;
        collect(&store, Tdsp::Centerpoint, &client, now()).await?;
        if store.summary(id).await?.device_acknowledged == 10_000 {
            break;
        }
        if t.elapsed() > Duration::from_secs(120) {
            return Err("not every report came back within 120 s".into());
        }
    }
    let all = t.elapsed();
    println!(
        "{accepted_status}: accept {:.0} ms, dispatch {sent} in {:.0} ms, every Report Event Status recorded at {:.0} ms ({polls} polls)",
        accept.as_secs_f64() * 1e3,
        (dispatched - accept).as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3
    );
    Ok(())
}
