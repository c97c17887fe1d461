//! Each head-end style's request rate: requests are spaced `1 / requests_per_second` apart
//! (on tokio's paused clock, so the spacing is exact, not timed).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hanrig_gateway_connect::Throttle;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn requests_are_spaced_by_the_rate_and_clones_share_the_schedule() {
    let throttle = Throttle::per_second(2);
    let start = Instant::now();
    let mut at = Vec::new();
    for _ in 0..4 {
        throttle.wait().await;
        at.push(start.elapsed());
    }
    throttle.clone().wait().await;
    at.push(start.elapsed());
    let ms: Vec<u128> = at.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [0, 500, 1000, 1500, 2000]);

    // After a quiet spell the next request goes at once.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let quiet = Instant::now();
    throttle.wait().await;
    assert_eq!(quiet.elapsed(), Duration::ZERO);

    // No limit: never waits.
    let free = Throttle::per_second(0);
    let t = Instant::now();
    for _ in 0..100 {
        free.wait().await;
    }
    assert_eq!(t.elapsed(), Duration::ZERO);
}
