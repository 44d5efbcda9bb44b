//! Unit tests. Expected outputs follow Go's documented `text/template` and
//! Sprig behaviour (the Go-generated vectors are in `tests/go_compat.rs`).

use std::collections::BTreeMap;

use super::*;

const SECRET: &str = "hunter2-Sup3rS3cret";

fn values(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

fn ss(text: &str, pairs: &[(&str, &[u8])]) -> Result<String, TemplateError> {
    render(text, &values(pairs), Dialect::SealedSecrets)
        .map(|b| String::from_utf8(b).expect("utf-8 output"))
}

fn eso(text: &str, pairs: &[(&str, &[u8])]) -> Result<String, TemplateError> {
    render(text, &values(pairs), Dialect::ExternalSecrets)
        .map(|b| String::from_utf8(b).expect("utf-8 output"))
}

fn parse_error(result: Result<String, TemplateError>) -> (usize, usize, String) {
    match result {
        Err(TemplateError::Parse {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn exec_error(result: Result<String, TemplateError>) -> (usize, usize, String) {
    match result {
        Err(TemplateError::Execute {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected an execution error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- documented examples

#[test]
fn sealed_secrets_config_template_example_renders_json() {
    // docs/examples/config-template/sealedsecret.yaml in bitnami-labs/sealed-secrets.
    let out = ss(
        "{\n  \"server1\": {\n    \"password\": {{ toJson .server1 }}\n  }\n}",
        &[("server1", b"my \"pass\"\n")],
    )
    .expect("renders");
    assert_eq!(
        out,
        "{\n  \"server1\": {\n    \"password\": \"my \\\"pass\\\"\\n\"\n  }\n}"
    );
}

#[test]
fn external_secrets_docker_config_example_renders_auth() {
    let out = eso(
        r#"{"auths":{"{{ .registry }}":{"auth":"{{ printf "%s:%s" .user .pass | b64enc }}"}}}"#,
        &[
            ("registry", b"ghcr.io"),
            ("user", b"bot"),
            ("pass", b"t0k3n"),
        ],
    )
    .expect("renders");
    // base64("bot:t0k3n")
    assert_eq!(out, r#"{"auths":{"ghcr.io":{"auth":"Ym90OnQwazNu"}}}"#);
}

#[test]
fn external_secrets_dash_keys_need_index() {
    let out = eso(r#"{{ index . "my-key" }}"#, &[("my-key", b"v")]).expect("renders");
    assert_eq!(out, "v");
}

#[test]
fn external_secrets_fromjson_over_every_value() {
    let out = eso(
        "{{- range $k, $v := . }}\n{{ $k }}={{ ($v | fromJson).host }}\n{{- end }}",
        &[("a", br#"{"host":"h1"}"#), ("b", br#"{"host":"h2"}"#)],
    )
    .expect("renders");
    assert_eq!(out, "\na=h1\nb=h2");
}

// ---------------------------------------------------------------- whitespace

#[test]
fn trim_markers_remove_surrounding_whitespace() {
    assert_eq!(
        ss("a \n\t {{- .x -}} \r\n b", &[("x", b"X")]).expect("renders"),
        "aXb"
    );
    assert_eq!(
        ss("a  {{- .x }}  b", &[("x", b"X")]).expect("renders"),
        "aX  b"
    );
    assert_eq!(
        ss("a  {{ .x -}}  b", &[("x", b"X")]).expect("renders"),
        "a  Xb"
    );
}

#[test]
fn minus_without_space_is_a_negative_number_not_a_trim_marker() {
    assert_eq!(ss("a {{-3}} b", &[]).expect("renders"), "a -3 b");
}

#[test]
fn comments_print_nothing_and_may_trim() {
    assert_eq!(ss("a {{/* note */}} b", &[]).expect("renders"), "a  b");
    assert_eq!(ss("a {{- /* note */ -}} b", &[]).expect("renders"), "ab");
}

// ---------------------------------------------------------------- missing keys

#[test]
fn missing_key_prints_no_value_in_sealed_secrets() {
    assert_eq!(ss("[{{ .nope }}]", &[]).expect("renders"), "[<no value>]");
}

#[test]
fn missing_key_is_an_error_in_external_secrets_naming_the_key() {
    let (line, column, message) = exec_error(eso("a\n  {{ .password }}", &[("user", b"u")]));
    assert_eq!((line, column), (2, 6));
    assert_eq!(message, "map has no entry for key \"password\"");
}

#[test]
fn missing_key_with_default_still_fails_in_external_secrets() {
    // ESO issue #3843: missingkey=error applies before `default` sees the value.
    exec_error(eso(r#"{{ .nope | default "x" }}"#, &[]));
    assert_eq!(
        ss(r#"{{ .nope | default "x" }}"#, &[]).expect("renders"),
        "x"
    );
}

#[test]
fn index_of_a_missing_key_is_empty_in_both_dialects() {
    assert_eq!(
        eso(r#"[{{ index . "nope" }}]"#, &[]).expect("renders"),
        "[]"
    );
    assert_eq!(ss(r#"[{{ index . "nope" }}]"#, &[]).expect("renders"), "[]");
    // A dict's missing entry is nil, printed <no value>.
    assert_eq!(
        ss(r#"[{{ index (dict "a" 1) "nope" }}]"#, &[]).expect("renders"),
        "[<no value>]"
    );
}

// ---------------------------------------------------------------- errors

#[test]
fn unknown_function_is_a_parse_error_with_position() {
    let (line, column, message) = parse_error(ss("x\n {{ frobnicate .a }}", &[]));
    assert_eq!((line, column), (2, 5));
    assert_eq!(message, "function \"frobnicate\" not defined");
}

#[test]
fn removed_sprig_functions_are_not_defined() {
    for f in ["env", "expandenv", "getHostByName"] {
        let (_, _, message) = parse_error(ss(&format!("{{{{ {f} \"x\" }}}}"), &[]));
        assert_eq!(message, format!("function \"{f}\" not defined"));
        parse_error(eso(&format!("{{{{ {f} \"x\" }}}}"), &[]));
    }
}

#[test]
fn known_but_unimplemented_functions_say_not_supported() {
    let (_, _, message) = parse_error(ss(r#"{{ genCA "cn" 365 }}"#, &[]));
    assert_eq!(message, "function \"genCA\" is not supported by sealkit");
    let (_, _, message) = parse_error(eso(r#"{{ .ks | pkcs12cert }}"#, &[]));
    assert_eq!(
        message,
        "function \"pkcs12cert\" is not supported by sealkit"
    );
}

#[test]
fn eso_functions_are_not_available_to_sealed_secrets() {
    let (_, _, message) = parse_error(ss(r#"{{ filterPEM "CERTIFICATE" .x }}"#, &[]));
    assert_eq!(message, "function \"filterPEM\" not defined");
    let (_, _, message) = parse_error(ss(r#"{{ pkcs12cert .x }}"#, &[]));
    assert_eq!(message, "function \"pkcs12cert\" not defined");
}

#[test]
fn parse_errors_report_line_and_column() {
    let (line, column, message) = parse_error(ss("ok\nok {{ if .a }}x", &[]));
    assert_eq!((line, column), (2, 7));
    assert!(message.contains("missing {{end}}"), "{message}");

    let (line, column, message) = parse_error(ss("{{ \"abc }}", &[]));
    assert_eq!((line, column), (1, 4));
    assert_eq!(message, "unterminated quoted string");

    let (line, column, message) = parse_error(ss("é{{ end }}", &[]));
    assert_eq!((line, column), (1, 5));
    assert_eq!(message, "unexpected {{end}}");

    let (_, _, message) = parse_error(ss("{{ $nope }}", &[]));
    assert_eq!(message, "undefined variable \"$nope\"");

    parse_error(ss("{{ .a ", &[]));
    parse_error(ss("{{ break }}", &[]));
    parse_error(ss("{{ if .a }}{{ else }}{{ else }}{{ end }}", &[]));
    parse_error(ss("{{ (.a }}", &[]));
    parse_error(ss("{{ /* not a comment */ }}", &[]));
}

#[test]
fn calling_a_field_with_arguments_fails() {
    exec_error(ss(r#"{{ .a "x" }}"#, &[("a", b"v")]));
}

#[test]
fn function_errors_name_the_function() {
    let (_, _, message) = exec_error(ss("{{ div 1 0 }}", &[]));
    assert_eq!(message, "error calling div: integer divide by zero");
    let (_, _, message) = exec_error(ss("{{ upper 1 }}", &[]));
    assert_eq!(
        message,
        "error calling upper: wrong type for value; expected string; got int"
    );
    let (_, _, message) = exec_error(ss("{{ index (list 1) 3 }}", &[]));
    assert_eq!(message, "error calling index: index out of range");
}

/// Every error path that touches a value must leave it out of the message.
#[test]
fn error_messages_never_contain_the_value() {
    let secret = SECRET.as_bytes();
    let with_key: &[(&str, &[u8])] = &[
        ("password", secret),
        ("json", b"{\"hunter2-Sup3rS3cret\": 1"),
    ];
    let templates = [
        "{{ .password.field }}",
        "{{ range .password }}x{{ end }}",
        "{{ .password | upper | len | upper }}",
        "{{ eq .password 1 }}",
        "{{ lt .password (list) }}",
        "{{ index .password 99 }}",
        "{{ index (dict .password 1) 1 }}",
        "{{ fail .password }}",
        "{{ fail (printf \"bad value %s\" .password) }}",
        "{{ regexReplaceAll (printf \"(%s\" .password) \"x\" \"y\" }}",
        "{{ regexReplaceAll \"(\" .password \"y\" }}",
        "{{ mustFromJson .json }}",
        "{{ ternary 1 2 .password }}",
        "{{ get .password \"k\" }}",
        "{{ .password \"arg\" }}",
        "{{ substr 50 60 .password }}",
        "{{ div .password 0 }}",
        "{{ printf .password | upper | len | trim }}",
        "{{ template .password }}",
        "{{ dateInZone \"2006\" 0 .password }}",
        "{{ .password | b64enc | b64dec | nope }}",
        "{{ first .password }}",
        "{{ mustRegexMatch (printf \"[%s\" .password) \"x\" }}",
        "{{ call .password }}",
        "{{ index (list 1) (len .password) }}",
        "{{ urlParse (printf \"http://%s x/\" .password) }}",
        "{{ urlParse (printf \"http://h/%%zz%s\" .password) }}",
        "{{ urlParse (printf \"http://h:%s/\" .password) }}",
        "{{ dateInZone \"2006\" 0 (printf \"%s\" .password) }}",
    ];
    for text in templates {
        for dialect in [Dialect::SealedSecrets, Dialect::ExternalSecrets] {
            let result = render(text, &values(with_key), dialect);
            let err = result
                .map(|o| String::from_utf8_lossy(&o).into_owned())
                .expect_err(text);
            let shown = format!("{err} / {err:?}");
            assert!(
                !shown.contains(SECRET),
                "value leaked for {text:?}: {shown}"
            );
            assert!(
                !shown.contains("hunter2"),
                "value leaked for {text:?}: {shown}"
            );
        }
    }
    // A template that reads a missing key in ESO names the key but not the
    // values of the keys that exist.
    let err = render("{{ .nope }}", &values(with_key), Dialect::ExternalSecrets)
        .expect_err("missing key");
    assert!(!format!("{err:?}").contains(SECRET));
}

// ---------------------------------------------------------------- values as bytes

#[test]
fn invalid_utf8_values_are_kept_byte_for_byte() {
    let bin: &[u8] = b"\xff\xfe\x00abc\x80";
    let out = render(
        "[{{ .bin }}]",
        &values(&[("bin", bin)]),
        Dialect::SealedSecrets,
    )
    .expect("renders");
    assert_eq!(out, b"[\xff\xfe\x00abc\x80]");
    let out = render(
        "{{ .bin | b64enc }}",
        &values(&[("bin", bin)]),
        Dialect::ExternalSecrets,
    )
    .expect("renders");
    assert_eq!(out, b"//4AYWJjgA==");
    let out = render(
        "{{ .enc | b64dec }}",
        &values(&[("enc", b"//4AYWJjgA==")]),
        Dialect::ExternalSecrets,
    )
    .expect("renders");
    assert_eq!(out, bin);
    let out = render(
        "{{ len .bin }}",
        &values(&[("bin", bin)]),
        Dialect::SealedSecrets,
    )
    .expect("renders");
    assert_eq!(out, b"7");
}

#[test]
fn b64dec_ignores_newlines_like_go() {
    assert_eq!(
        ss("{{ .v | b64dec }}", &[("v", b"aGVs\nbG8=\n")]).expect("renders"),
        "hello"
    );
}

// ---------------------------------------------------------------- language features

#[test]
fn define_template_and_block_work() {
    let out = ss(r#"{{ define "kv" }}{{ .k }}={{ .v }};{{ end }}{{ template "kv" (dict "k" "a" "v" 1) }}{{ block "b" "x" }}<{{ . }}>{{ end }}"#, &[])
        .expect("renders");
    assert_eq!(out, "a=1;<x>");
}

#[test]
fn variables_are_scoped_to_their_block() {
    assert_eq!(
        ss(
            "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}",
            &[]
        )
        .expect("renders"),
        "21"
    );
    assert_eq!(
        ss(
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
            &[]
        )
        .expect("renders"),
        "2"
    );
    assert_eq!(
        ss(
            "{{ with .a }}{{ $.b }}{{ end }}",
            &[("a", b"1"), ("b", b"root")]
        )
        .expect("renders"),
        "root"
    );
}

#[test]
fn range_supports_maps_lists_ints_else_break_continue() {
    assert_eq!(
        ss(
            "{{ range $k, $v := . }}{{ $k }}:{{ $v }},{{ end }}",
            &[("b", b"2"), ("a", b"1")]
        )
        .expect("renders"),
        "a:1,b:2,"
    );
    assert_eq!(
        ss(
            "{{ range $i, $v := list \"x\" \"y\" }}{{ $i }}{{ $v }}{{ end }}",
            &[]
        )
        .expect("renders"),
        "0x1y"
    );
    assert_eq!(
        ss("{{ range 3 }}{{ . }}{{ end }}", &[]).expect("renders"),
        "012"
    );
    assert_eq!(
        ss("{{ range list }}x{{ else }}empty{{ end }}", &[]).expect("renders"),
        "empty"
    );
    assert_eq!(
        ss("{{ range until 9 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 5 }}{{ break }}{{ end }}{{ . }}{{ end }}", &[])
            .expect("renders"),
        "0134"
    );
}

#[test]
fn and_or_short_circuit() {
    // `fail` would error if evaluated.
    assert_eq!(
        ss(r#"{{ or "first" (fail "no") }}"#, &[]).expect("renders"),
        "first"
    );
    assert_eq!(ss(r#"{{ and "" (fail "no") }}"#, &[]).expect("renders"), "");
}

// ---------------------------------------------------------------- functions

#[test]
fn eso_filter_pem_keeps_only_the_requested_blocks() {
    let input = b"-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nAwQF\n-----END PRIVATE KEY-----\n";
    let out = eso(
        r#"{{ .bundle | filterPEM "PRIVATE KEY" }}"#,
        &[("bundle", input)],
    )
    .expect("renders");
    assert_eq!(
        out,
        "-----BEGIN PRIVATE KEY-----\nAwQF\n-----END PRIVATE KEY-----\n"
    );
    let out = eso(
        r#"{{ .bundle | filterPEM "certificate" }}"#,
        &[("bundle", input)],
    )
    .expect("renders");
    assert_eq!(
        out,
        "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n"
    );
    exec_error(eso(
        r#"{{ .bundle | filterPEM "CERTIFICATE" }}"#,
        &[("bundle", b"junk only")],
    ));
}

#[test]
fn eso_from_yaml_reads_a_map() {
    let out = eso(
        "{{ $c := fromYaml .cfg }}{{ $c.db.host }}:{{ $c.db.port }} {{ index $c.tags 1 }}",
        &[("cfg", b"db:\n  host: h\n  port: 5432\ntags: [a, b]\n")],
    )
    .expect("renders");
    // Numbers become float64 (YAML -> JSON -> interface{}), printed by %v.
    assert_eq!(out, "h:5432 b");
    let out = eso("{{ (fromYaml .cfg).Error }}", &[("cfg", b"[not, a, map]")]).expect("renders");
    assert!(out.contains("not a map"), "{out}");
}

#[test]
fn random_functions_have_the_documented_shape() {
    let out = ss(
        "{{ randAlphaNum 12 }}|{{ randNumeric 5 }}|{{ uuidv4 }}|{{ randBytes 9 | b64dec | len }}",
        &[],
    )
    .expect("renders");
    let parts: Vec<&str> = out.split('|').collect();
    assert_eq!(parts[0].len(), 12);
    assert!(parts[0].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(parts[1].len() == 5 && parts[1].bytes().all(|b| b.is_ascii_digit()));
    let uuid = parts[2].as_bytes();
    assert_eq!(uuid.len(), 36);
    assert_eq!(
        (uuid[8], uuid[13], uuid[14], uuid[18], uuid[23]),
        (b'-', b'-', b'4', b'-', b'-')
    );
    assert!(matches!(uuid[19], b'8' | b'9' | b'a' | b'b'));
    assert_eq!(parts[3], "9");
}

#[test]
fn htpasswd_writes_a_bcrypt_2a_cost_10_entry() {
    // A hash made this way was checked with Go's bcrypt.CompareHashAndPassword.
    let out = eso(
        "{{ htpasswd .user .pass }}",
        &[("user", b"admin"), ("pass", b"s3cret")],
    )
    .expect("renders");
    let hash = out.strip_prefix("admin:").expect("user prefix");
    assert!(hash.starts_with("$2a$10$") && hash.len() == 60, "{hash}");
    assert!(bcrypt::verify("s3cret", hash).expect("valid hash"));
    assert!(!bcrypt::verify("other", hash).expect("valid hash"));
}

#[test]
fn now_formats_with_go_layouts() {
    let out = ss(
        r#"{{ now | date "2006" }}|{{ now | unixEpoch }}|{{ typeOf now }}"#,
        &[],
    )
    .expect("renders");
    let parts: Vec<&str> = out.split('|').collect();
    let year: i32 = parts[0].parse().expect("year");
    assert!((2024..3000).contains(&year));
    let secs: i64 = parts[1].parse().expect("epoch");
    assert!(secs > 1_700_000_000);
    assert_eq!(parts[2], "time.Time");
    exec_error(ss(r#"{{ dateInZone "2006" 0 "Europe/Berlin" }}"#, &[]));
}

#[test]
fn set_on_a_variable_updates_the_variable_like_go() {
    // Helm idiom: Go mutates the dict; we rebind the variable it came from.
    let out = ss(
        r#"{{ $d := dict }}{{ $_ := set $d "k" "v" }}{{ $d.k }}|{{ $_ := unset $d "k" }}{{ len $d }}|{{ $_ := merge $d (dict "m" 1) }}{{ $d.m }}"#,
        &[],
    )
    .expect("renders");
    assert_eq!(out, "v|0|1");
    // Documented difference: another variable holding the same dict does not
    // see the change (in Go it would).
    let out = ss(
        r#"{{ $d := dict }}{{ $e := $d }}{{ $_ := set $d "k" "v" }}{{ len $e }}"#,
        &[],
    )
    .expect("renders");
    assert_eq!(out, "0");
}

#[test]
fn function_lists_differ_by_dialect() {
    let sealed = functions(Dialect::SealedSecrets);
    let external = functions(Dialect::ExternalSecrets);
    assert!(sealed.contains(&"toJson") && sealed.contains(&"b64enc") && sealed.contains(&"printf"));
    assert!(!sealed.contains(&"filterPEM") && external.contains(&"filterPEM"));
    for removed in ["env", "expandenv", "getHostByName"] {
        assert!(!sealed.contains(&removed) && !external.contains(&removed));
    }
    assert!(validate("{{ .a | sha256sum }}", Dialect::SealedSecrets).is_ok());
    assert!(validate("{{ .a | nope }}", Dialect::SealedSecrets).is_err());
}

// ---------------------------------------------------------------- limits

#[test]
fn huge_generated_values_are_refused() {
    let (_, _, message) = exec_error(ss("{{ until 100000000 }}", &[]));
    assert!(message.contains("exceed"), "{message}");
    let (_, _, message) = exec_error(ss(r#"{{ repeat 100000000 "x" }}"#, &[]));
    assert!(message.contains("exceed"), "{message}");
    // Doubling a string 30 times.
    let text = r#"{{ $s := "xxxxxxxxxxxxxxxx" }}{{ range until 30 }}{{ $s = cat $s $s }}{{ end }}{{ len $s }}"#;
    exec_error(ss(text, &[]));
    // Output larger than the limit.
    let text = r#"{{ $s := repeat 1000000 "x" }}{{ range until 100 }}{{ $s }}{{ end }}"#;
    let (_, _, message) = exec_error(ss(text, &[]));
    assert!(message.contains("output exceeds"), "{message}");
}

#[test]
fn deep_nesting_fails_cleanly_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
            assert!(matches!(ss(&parens, &[]), Err(TemplateError::Parse { .. })));
            let ifs = format!("{}x{}", "{{ if 1 }}".repeat(5000), "{{ end }}".repeat(5000));
            assert!(matches!(ss(&ifs, &[]), Err(TemplateError::Parse { .. })));
            let recursive = r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" }}"#;
            assert!(matches!(
                ss(recursive, &[]),
                Err(TemplateError::Execute { .. })
            ));
            let nested =
                r#"{{ $x := list }}{{ range until 1000 }}{{ $x = list $x }}{{ end }}{{ $x }}"#;
            assert!(matches!(
                ss(nested, &[]),
                Err(TemplateError::Execute { .. })
            ));
        })
        .expect("spawn");
    handle.join().expect("no stack overflow or panic");
}
