//! Bounds on the connectors' two doors: what anyone can post to a callback listener, and what
//! (and when) a head-end answers. Each test shows the attack refused, with a clear reason, and
//! nothing accepted lost.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hanrig_gateway_connect::JobsClient;
use hanrig_gateway_connect::cim;
use hanrig_headend::xml::{MAX_DEPTH, MAX_DOCUMENT_BYTES};

/// Posts `body` to `url` over plain HTTP/1.1; the status and the answer.
async fn post(url: &str, body: String) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before taking the whole body.
    let _ = s.write_all(body.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

#[tokio::test]
async fn a_callback_of_deeply_nested_elements_is_refused_at_the_depth_limit() {
    let (store, id) =
        store_with_message("limits-nested", &["10032789000000001".into()], lce()).await;
    let before = store.summary(id).await.unwrap();
    let (callbacks, url) = listener().await;
    tokio::spawn(serve_plain(
        callbacks,
        cim::callbacks(
            store.clone(),
            hanrig_gateway::routing::Tdsp::AepTexasCentral,
        ),
    ));
    // 60 KB of nesting: it used to raise the gateway's memory by ~430 MB (each element's
    // path a copy of its parent's).
    let attack = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
    let (status, answer) = post(&url, attack).await;
    assert_eq!(status, 500, "{answer}");
    assert!(
        answer.contains(&format!("deeper than {MAX_DEPTH} levels")),
        "{answer}"
    );
    assert_eq!(store.summary(id).await.unwrap(), before);
}

#[tokio::test]
async fn a_callback_body_is_read_up_to_the_document_limit_and_refused_unread_over_it() {
    let (store, _) = store_with_message("limits-big", &["10032789000000002".into()], lce()).await;
    let (callbacks, url) = listener().await;
    tokio::spawn(serve_plain(
        callbacks,
        cim::callbacks(store, hanrig_gateway::routing::Tdsp::AepTexasCentral),
    ));
    // Just under the limit (and over axum's default of 2 MB): read, and refused as not XML.
    let (status, answer) = post(&url, "x".repeat(MAX_DOCUMENT_BYTES - 1)).await;
    assert_eq!(status, 500, "{answer}");
    assert!(answer.contains("not well-formed"), "{answer}");
    // Over it: refused unread.
    let (status, answer) = post(&url, "x".repeat(MAX_DOCUMENT_BYTES + 1)).await;
    assert_eq!(status, 413, "{answer}");
}

#[tokio::test]
async fn a_head_end_answer_over_the_limit_is_a_transport_error_naming_it() {
    let (l, url) = listener().await;
    let huge = "[".repeat(MAX_DOCUMENT_BYTES + 1);
    let app = axum::Router::new().route(
        "/jobs/{id}",
        axum::routing::get(move || {
            let huge = huge.clone();
            async move { huge }
        }),
    );
    tokio::spawn(async move { axum::serve(l, app).await });
    let err = JobsClient::new(&url).job("j1").await.unwrap_err();
    assert!(err.to_string().contains("over the limit"), "{err}");
}

#[tokio::test]
async fn a_head_end_that_accepts_and_never_answers_is_a_transport_error_not_a_stall() {
    let (l, url) = listener().await;
    // Accepts connections, reads nothing, answers nothing.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let client = JobsClient::new(&url).with_timeout(std::time::Duration::from_millis(300));
    let err = client.job("j1").await.unwrap_err();
    assert!(err.to_string().contains("no answer within 0.3 s"), "{err}");
}
