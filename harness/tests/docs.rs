//! `docs/zcl-json.md` shows real decodes: every example there is run and compared.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn every_json_example_in_the_docs_is_what_hanrig_prints() {
    let doc = include_str!("../../docs/zcl-json.md");
    let mut examples = 0;
    let mut rest = doc;
    while let Some(start) = rest.find("```sh\nhanrig ") {
        let after = &rest[start + 6..];
        let line = after.lines().next().unwrap();
        let json_start = after.find("```json\n").unwrap() + 8;
        let json_end = json_start + after[json_start..].find("\n```").unwrap();
        let expected: serde_json::Value =
            serde_json::from_str(&after[json_start..json_end]).unwrap();

        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_hanrig"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, expected, "{line}");
        examples += 1;
        rest = &after[json_end..];
    }
    assert_eq!(
        examples,
        hanrig_sep::COMMANDS.len() + 1,
        "one example per command, plus unknown"
    );
}
