//! Rough render speed: `cargo run --release -p sealkit-template --example render_speed`.

use std::collections::BTreeMap;
use std::time::Instant;

use sealkit_template::{Dialect, render};

fn main() {
    let values: BTreeMap<String, Vec<u8>> = [
        ("user", "admin"),
        ("pass", "p@ss:w0rd"),
        ("registry", "ghcr.io"),
        ("creds", r#"{"host":"db.example","port":5432,"user":"app"}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
    .collect();
    let cases = [
        (
            "plain substitution",
            "postgresql://{{ .user }}:{{ .pass }}@host/db",
        ),
        (
            "dockerconfigjson",
            r#"{"auths":{"{{ .registry }}":{"username":"{{ .user }}","password":"{{ .pass }}","auth":"{{ printf "%s:%s" .user .pass | b64enc }}"}}}"#,
        ),
        (
            "fromJson + range + toJson",
            r#"{{- $c := fromJson .creds }}{{ range $k, $v := $c }}{{ $k }}={{ $v }}
{{ end }}{{ toJson $c }}"#,
        ),
    ];
    for (name, text) in cases {
        let n = 20_000;
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(render(text, &values, Dialect::ExternalSecrets).expect("renders"));
        }
        let per = start.elapsed() / n;
        println!("{name}: {per:?} per parse+render");
    }
}
