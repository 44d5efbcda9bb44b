//! Golden tests of the `sealkit` binary: output layout and every error path.
//!
//! Expected manifests in `fixtures/expected/` were produced by the real kubeseal v0.36.6 from
//! the same inputs (`kubeseal --cert … < fixtures/…`), with the random sealed values replaced
//! by `[..]`; the tests compare byte for byte after the same replacement. Error tests check the
//! documented message, the hint, exit code 1, that nothing was written, and that no secret
//! value leaks into stderr.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use sealkit_crypto::keys::{KeyGenOptions, RsaKeySize};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Keys made once per test run (RSA-2048 for speed, like a small controller key).
struct Keys {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key_pem: PathBuf,
    key_secret: PathBuf,
    other_key_pem: PathBuf,
    expired_cert: PathBuf,
    recipient: String,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let options = KeyGenOptions { rsa_size: RsaKeySize::Rsa2048, ..KeyGenOptions::default() };
        let pair = sealkit_crypto::keys::generate(&options).unwrap();
        let other = sealkit_crypto::keys::generate(&options).unwrap();
        let expired = sealkit_crypto::keys::generate(&KeyGenOptions {
            rsa_size: RsaKeySize::Rsa2048,
            not_before: SystemTime::now() - Duration::from_secs(3 * 24 * 3600),
            validity: Duration::from_secs(24 * 3600),
            ..KeyGenOptions::default()
        })
        .unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, pair.certificate().to_pem()).unwrap();
        let key_pem = dir.path().join("key.pem");
        std::fs::write(&key_pem, pair.rsa().to_pkcs1_pem().unwrap().expose_secret()).unwrap();
        let other_key_pem = dir.path().join("other.pem");
        std::fs::write(&other_key_pem, other.rsa().to_pkcs1_pem().unwrap().expose_secret()).unwrap();
        let expired_cert = dir.path().join("expired.pem");
        std::fs::write(&expired_cert, expired.certificate().to_pem()).unwrap();
        // A controller key Secret (contract 1) with tls.crt, tls.key and age.key.
        let data = pair.to_secret_data().unwrap();
        let mut secret = String::from(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  generateName: sealed-secrets-key\n  namespace: kube-system\n  labels:\n    sealedsecrets.bitnami.com/sealed-secrets-key: active\ntype: kubernetes.io/tls\ndata:\n",
        );
        for (k, v) in &data {
            secret.push_str(&format!("  {k}: {}\n", sealkit_crypto::base64::encode(v.expose_secret())));
        }
        let key_secret = dir.path().join("key-secret.yaml");
        std::fs::write(&key_secret, secret).unwrap();
        let recipient = pair.age().unwrap().recipient().to_string();
        Keys { _dir: dir, cert, key_pem, key_secret, other_key_pem, expired_cert, recipient }
    })
}

/// `sealkit` with a clean environment: no SEALED_SECRETS_*, no kubeconfig.
fn sealkit(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("sealkit").unwrap();
    cmd.env_clear()
        .env("HOME", home)
        .env("KUBECONFIG", home.join("no-kubeconfig"));
    cmd
}

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("expected/{name}"))).unwrap()
}

/// Replace every run of 200+ base64 characters (a sealed value) with `[..]`.
fn redact_sealed(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=';
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars() {
        if is_b64(c) {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= 200 { "[..]" } else { &run });
        run.clear();
        out.push(c);
    }
    out.push_str(if run.len() >= 200 { "[..]" } else { &run });
    out
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn assert_user_error(r: &Run, message: &str, hint: &str) {
    assert_eq!(r.code, 1, "exit code; stderr: {}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing on stdout: {}", r.stdout);
    let first = r.stderr.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error: "),
        "first line is the error: {}",
        r.stderr
    );
    assert!(first.contains(message), "message {message:?} in {first:?}");
    let hint_line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap_or("");
    assert!(hint_line.contains(hint), "hint {hint:?} in {:?}", r.stderr);
    for secret in ["hunter2", "aHVudGVyMg==", "YWRtaW4="] {
        assert!(
            !r.stderr.contains(secret),
            "secret value leaked: {}",
            r.stderr
        );
    }
}

// ---------- output layout (kubeseal's) ----------

#[test]
fn sealing_prints_json_laid_out_like_kubeseal() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(redact_sealed(&r.stdout), expected("secret.json"));
}

#[test]
fn sealing_with_format_yaml_prints_yaml_laid_out_like_kubeseal() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["-o", "yaml", "--cert"])
        .arg(&keys().cert)
        .write_stdin(std::fs::read(fixture("secret.yaml")).unwrap()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(redact_sealed(&r.stdout), expected("secret.yaml"));
}

#[test]
fn a_yaml_output_file_name_selects_yaml_and_is_written_only_there() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("sealed.yaml");
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("secret.yaml"))
        .arg("-w")
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(
        redact_sealed(&std::fs::read_to_string(&out).unwrap()),
        expected("secret.yaml")
    );
}

#[test]
fn several_yaml_documents_give_several_sealed_secrets() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("two-secrets.yaml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(redact_sealed(&r.stdout), expected("two-secrets.json"));
}

#[test]
fn concatenated_json_objects_are_read_like_kubeseal() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["-o", "yaml", "--cert"])
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("two-secrets.json")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(redact_sealed(&r.stdout), expected("two-secrets.yaml"));
}

#[test]
fn cluster_wide_scope_is_annotated_on_the_sealed_secret_and_its_template() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["--scope", "cluster-wide", "--cert"])
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        redact_sealed(&r.stdout),
        expected("secret-cluster-wide.json")
    );
}

#[test]
fn namespace_wide_scope_matches_kubeseal() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["--scope", "namespace-wide", "-o", "yaml", "--cert"])
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        redact_sealed(&r.stdout),
        expected("secret-namespace-wide.yaml")
    );
}

#[test]
fn environment_variables_set_flags_like_kubeseal() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .env("SEALED_SECRETS_CERT", &keys().cert)
        .env("SEALED_SECRETS_FORMAT", "yaml")
        .env("SEALED_SECRETS_SECRET_FILE", fixture("secret.yaml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(redact_sealed(&r.stdout), expected("secret.yaml"));
}

#[test]
fn the_namespace_flag_fills_in_a_missing_namespace() {
    let home = tempfile::tempdir().unwrap();
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  k: v\n";
    let r = run(sealkit(home.path())
        .args(["-n", "team-x", "-o", "yaml", "--cert"])
        .arg(&keys().cert)
        .write_stdin(input));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\n  namespace: team-x\n"), "{}", r.stdout);
}

#[test]
fn the_kubeconfig_context_namespace_fills_in_a_missing_namespace() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\n    namespace: from-context\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:1\n",
    )
    .unwrap();
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  k: v\n";
    let r = run(sealkit(home.path())
        .env("KUBECONFIG", &kubeconfig)
        .args(["-o", "yaml", "--cert"])
        .arg(&keys().cert)
        .write_stdin(input));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("\n  namespace: from-context\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_cluster_wide_secret_without_namespace_keeps_none() {
    let home = tempfile::tempdir().unwrap();
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  k: v\n";
    let r = run(sealkit(home.path())
        .args(["--scope", "cluster-wide", "-o", "yaml", "--cert"])
        .arg(&keys().cert)
        .write_stdin(input));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("namespace:"), "{}", r.stdout);
}

#[test]
fn raw_mode_prints_one_bitnami_value_without_a_newline() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["--raw", "--name", "db", "-n", "shop", "--cert"])
        .arg(&keys().cert)
        .write_stdin("hunter2"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.ends_with('\n'));
    let blob = sealkit_crypto::base64::decode(&r.stdout).unwrap();
    // u16be(256) || RSA-2048 OAEP || GCM(plaintext) || tag
    assert_eq!(&blob[..2], &[0x01, 0x00]);
    assert_eq!(blob.len(), 2 + 256 + "hunter2".len() + 16);
}

#[test]
fn allow_empty_data_seals_a_secret_without_items() {
    let home = tempfile::tempdir().unwrap();
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  namespace: b\n";
    let r = run(sealkit(home.path())
        .args(["--allow-empty-data", "--cert"])
        .arg(&keys().cert)
        .write_stdin(input));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"encryptedData\": {}"), "{}", r.stdout);
}

// ---------- recovery-unseal, validate, re-encrypt (offline) ----------

fn sealed_with_template(home: &Path) -> PathBuf {
    let r = run(sealkit(home)
        .arg("--cert")
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    doc["spec"]["template"]["data"] =
        serde_json::json!({"dsn": "postgres://{{ .username }}:{{ .password }}@db/shop"});
    let path = home.join("sealed.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

#[test]
fn recovery_unseal_prints_the_secret_exactly_like_kubeseal() {
    let home = tempfile::tempdir().unwrap();
    let sealed = sealed_with_template(home.path());
    let r = run(sealkit(home.path())
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(&keys().key_pem)
        .arg("-f")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, expected("unsealed.json"));
}

#[test]
fn recovery_unseal_reads_key_secrets_and_writes_yaml_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let sealed = sealed_with_template(home.path());
    let out = home.path().join("plain.yaml");
    let keys_arg = format!(
        "{},{}",
        keys().other_key_pem.display(),
        keys().key_secret.display()
    );
    let r = run(sealkit(home.path())
        .args(["--recovery-unseal", "--recovery-private-key", &keys_arg])
        .arg("-f")
        .arg(&sealed)
        .arg("-w")
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        expected("unsealed.yaml")
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn native_sealing_round_trips_through_the_age_key() {
    let home = tempfile::tempdir().unwrap();
    let sealed = home.path().join("native.json");
    let r = run(sealkit(home.path())
        .args(["--recipient", &keys().recipient])
        .arg("-f")
        .arg(fixture("secret.yaml"))
        .arg("-w")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&sealed).unwrap();
    // contract 4: base64 of a binary age file
    assert!(
        text.contains("\"password\": \"YWdlLWVuY3J5cHRpb24ub3JnL3YxCi"),
        "{text}"
    );
    let r = run(sealkit(home.path())
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(&keys().key_secret)
        .arg("-f")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("\"password\": \"aHVudGVyMg==\""),
        "{}",
        r.stdout
    );
}

#[test]
fn validate_with_a_private_key_works_offline() {
    let home = tempfile::tempdir().unwrap();
    let sealed = sealed_with_template(home.path());
    let ok = run(sealkit(home.path())
        .arg("--validate")
        .arg("--recovery-private-key")
        .arg(&keys().key_pem)
        .arg("-f")
        .arg(&sealed));
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.is_empty());
    let bad = run(sealkit(home.path())
        .arg("--validate")
        .arg("--recovery-private-key")
        .arg(&keys().other_key_pem)
        .arg("-f")
        .arg(&sealed));
    assert_user_error(
        &bad,
        "no key could decrypt items of SealedSecret shop/db-credentials (password, username)",
        "pass the controller key",
    );
}

#[test]
fn re_encrypt_offline_moves_a_bitnami_secret_to_the_native_format_in_place() {
    let home = tempfile::tempdir().unwrap();
    let sealed = sealed_with_template(home.path());
    let r = run(sealkit(home.path())
        .args([
            "--re-encrypt",
            "--recipient",
            &keys().recipient,
            "--recovery-private-key",
        ])
        .arg(&keys().key_pem)
        .arg("-f")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.is_empty(),
        "with only -f the input file is rewritten"
    );
    let text = std::fs::read_to_string(&sealed).unwrap();
    assert!(
        text.contains("\"username\": \"YWdlLWVuY3J5cHRpb24ub3JnL3YxCi"),
        "{text}"
    );
    assert!(
        text.contains("\"dsn\": \"postgres://{{ .username }}:{{ .password }}@db/shop\""),
        "template kept: {text}"
    );
    let r = run(sealkit(home.path())
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(&keys().key_secret)
        .arg("-f")
        .arg(&sealed));
    assert_eq!(r.stdout, expected("unsealed.json"));
}

#[test]
fn merge_into_adds_items_and_keeps_the_files_format() {
    let home = tempfile::tempdir().unwrap();
    let target = home.path().join("sealed.yaml");
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("secret.yaml"))
        .arg("-w")
        .arg(&target));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = std::fs::read_to_string(&target).unwrap();
    let update = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ignored\n  labels:\n    extra: label\nstringData:\n  token: abc\n";
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .arg("--merge-into")
        .arg(&target)
        .write_stdin(update));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = std::fs::read_to_string(&target).unwrap();
    assert!(
        after.starts_with("---\napiVersion: bitnami.com/v1alpha1\n"),
        "{after}"
    );
    assert!(after.contains("\n    token: A"), "{after}");
    assert!(after.contains("\n        extra: label\n"), "{after}");
    let old_password = before.lines().find(|l| l.contains("password:")).unwrap();
    assert!(
        after.contains(old_password),
        "existing items are kept unchanged"
    );
    let r = run(sealkit(home.path())
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(&keys().key_pem)
        .arg("-f")
        .arg(&target));
    assert!(r.stdout.contains("\"token\": \"YWJj\""), "{}", r.stdout);
}

// ---------- in-place trees and keygen ----------

#[test]
fn in_place_seals_secrets_and_leaves_other_documents_untouched() {
    let home = tempfile::tempdir().unwrap();
    let tree = home.path().join("tree");
    std::fs::create_dir_all(tree.join("app/.git")).unwrap();
    let mixed = "# app config\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: app\ndata:\n  color:   blue   # odd spacing kept\n---\n# the db password\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: app\nstringData:\n  password: hunter2\n";
    std::fs::write(tree.join("app/mixed.yaml"), mixed).unwrap();
    let hidden = "kind: Secret\nmetadata: {name: x, namespace: y}\nstringData: {a: b}\n";
    std::fs::write(tree.join("app/.git/secret.yaml"), hidden).unwrap();
    std::fs::write(tree.join("app/notes.txt"), "kind: Secret").unwrap();
    std::fs::write(tree.join("secret.json"), r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"j","namespace":"app"},"data":{"k":"dg=="}}"#).unwrap();
    let r = run(sealkit(home.path())
        .args(["seal", "--in-place"])
        .arg(&tree)
        .arg("--cert")
        .arg(&keys().cert));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("sealed 2 Secrets in 2 of 2 files"),
        "{}",
        r.stderr
    );
    let yaml = std::fs::read_to_string(tree.join("app/mixed.yaml")).unwrap();
    let (config_map, sealed) = yaml.split_once("---\n").unwrap();
    assert_eq!(
        config_map,
        mixed.split_once("---\n").unwrap().0,
        "ConfigMap byte for byte"
    );
    assert!(
        sealed.starts_with(
            "# the db password\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"
        ),
        "{sealed}"
    );
    assert!(!yaml.contains("hunter2"));
    let json = std::fs::read_to_string(tree.join("secret.json")).unwrap();
    assert!(
        json.starts_with("{\n  \"kind\": \"SealedSecret\",\n"),
        "{json}"
    );
    assert_eq!(
        std::fs::read_to_string(tree.join("app/.git/secret.yaml")).unwrap(),
        hidden,
        "hidden dirs skipped"
    );
}

#[test]
fn in_place_leaves_a_file_with_a_bad_secret_as_it_was() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("bad.yaml");
    let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: a\n";
    std::fs::write(&file, text).unwrap();
    let r = run(sealkit(home.path())
        .args(["seal", "--in-place"])
        .arg(&file)
        .arg("--cert")
        .arg(&keys().cert));
    assert_user_error(
        &r,
        "the Secret has no data and no stringData",
        "--allow-empty-data",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn keygen_writes_a_private_key_secret_0600_and_prints_the_public_parts() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("key.yaml");
    let r = run(sealkit(home.path()).args(["keygen", "-w"]).arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("-----BEGIN CERTIFICATE-----"),
        "{}",
        r.stdout
    );
    let recipient = r.stdout.lines().last().unwrap();
    assert!(recipient.starts_with("age1"), "{recipient}");
    // What to do next: create (generateName), no restart for sealkit-controller, one for Bitnami.
    let file = out.display();
    assert_eq!(
        r.stderr,
        format!(
            "wrote the private key Secret to {file} (0600)\n\
             create it in namespace kube-system with: kubectl create -f {file}   (create, not apply: it has generateName)\n\
             sealkit-controller picks it up without a restart; a Bitnami controller loads it at its next restart (or at once with --watch-for-secrets)\n"
        )
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret = std::fs::read_to_string(&out).unwrap();
    for needle in [
        "generateName: sealed-secrets-key",
        "sealedsecrets.bitnami.com/sealed-secrets-key: active",
        "type: kubernetes.io/tls",
        "tls.crt:",
        "tls.key:",
        "age.key:",
        "namespace: kube-system",
    ] {
        assert!(secret.contains(needle), "{needle} in {secret}");
    }
    // The key opens what is sealed for its recipient.
    let sealed = run(sealkit(home.path())
        .args(["--recipient", recipient])
        .arg("-f")
        .arg(fixture("secret.yaml")));
    let r = run(sealkit(home.path())
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(&out)
        .write_stdin(sealed.stdout));
    assert!(
        r.stdout.contains("\"password\": \"aHVudGVyMg==\""),
        "{}",
        r.stderr
    );
    // Never overwrites.
    let again = run(sealkit(home.path()).args(["keygen", "-w"]).arg(&out));
    assert_user_error(&again, "already exists", "another file name");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), secret);
}

// ---------- errors: one line, a hint, exit 1, nothing written, no value printed ----------

#[test]
fn input_that_is_not_yaml_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .write_stdin("password: [hunter2\n"));
    assert_user_error(
        &r,
        "stdin: the input is not valid YAML",
        "Kubernetes manifests",
    );
}

#[test]
fn input_that_is_not_json_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .write_stdin("{\"password\": hunter2}"));
    assert_user_error(
        &r,
        "stdin: document 1 is not valid JSON",
        "Kubernetes manifests",
    );
}

#[test]
fn empty_input_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .write_stdin("---\n"));
    assert_user_error(&r, "stdin: no secrets found", "Secret manifests");
}

#[test]
fn a_document_that_is_not_a_secret_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("configmap.yaml")));
    assert_user_error(
        &r,
        "document 1 is a ConfigMap, not a Secret",
        "kind: Secret",
    );
}

#[test]
fn a_secret_without_name_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .write_stdin("kind: Secret\nmetadata:\n  namespace: a\nstringData:\n  p: hunter2\n"));
    assert_user_error(&r, "missing metadata.name in input Secret", "--name");
}

#[test]
fn a_secret_without_data_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .write_stdin("kind: Secret\nmetadata:\n  name: a\n  namespace: a\n"));
    assert_user_error(
        &r,
        "the Secret has no data and no stringData",
        "--allow-empty-data",
    );
}

#[test]
fn a_namespace_mismatch_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["-n", "other", "--cert"])
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_user_error(
        &r,
        "namespace mismatch: input secret is in namespace \"shop\" but \"other\" was specified",
        "-n/--namespace",
    );
}

#[test]
fn a_missing_namespace_without_kubeconfig_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .write_stdin("kind: Secret\nmetadata:\n  name: a\nstringData:\n  p: hunter2\n"));
    assert_user_error(&r, "input secret has no namespace", "-n NAMESPACE");
}

#[test]
fn a_bad_base64_value_is_refused_without_printing_it() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .write_stdin("kind: Secret\nmetadata:\n  name: a\n  namespace: b\ndata:\n  p: hunter2!\n"));
    assert_user_error(&r, "data.p is not valid base64", "stringData");
}

#[test]
fn an_expired_certificate_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().expired_cert)
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_user_error(&r, "cannot be used to seal", "--fetch-cert");
}

#[test]
fn a_certificate_without_an_rsa_key_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(fixture("ec-cert.pem"))
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_user_error(
        &r,
        "is not a PEM certificate with an RSA public key",
        "--fetch-cert",
    );
}

#[test]
fn a_missing_certificate_file_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["--cert", "/nonexistent/cert.pem"])
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_user_error(
        &r,
        "cannot read certificate file /nonexistent/cert.pem",
        "--fetch-cert",
    );
}

#[test]
fn an_unreadable_private_key_file_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let sealed = sealed_with_template(home.path());
    let r = run(sealkit(home.path())
        .args([
            "--recovery-unseal",
            "--recovery-private-key",
            "/nonexistent.key",
        ])
        .arg("-f")
        .arg(&sealed));
    assert_user_error(
        &r,
        "cannot read private key file /nonexistent.key",
        "--recovery-private-key",
    );
    let r = run(sealkit(home.path())
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(fixture("configmap.yaml"))
        .arg("-f")
        .arg(&sealed));
    assert_user_error(&r, "holds no usable private key", "key Secret");
}

#[test]
fn a_sealed_secret_that_no_key_opens_is_reported_by_item_name() {
    let home = tempfile::tempdir().unwrap();
    let sealed = sealed_with_template(home.path());
    let out = home.path().join("plain.json");
    let r = run(sealkit(home.path())
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(&keys().other_key_pem)
        .arg("-f")
        .arg(&sealed)
        .arg("-w")
        .arg(&out));
    assert_user_error(
        &r,
        "no key could decrypt items of SealedSecret shop/db-credentials (password, username)",
        "kubectl get secret -n kube-system",
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_native_value_moved_to_another_namespace_is_diagnosed_as_a_scope_mismatch() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["--recipient", &keys().recipient])
        .arg("-f")
        .arg(fixture("secret.yaml")));
    let moved = r
        .stdout
        .replace("\"namespace\": \"shop\"", "\"namespace\": \"elsewhere\"");
    let r = run(sealkit(home.path())
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(&keys().key_secret)
        .write_stdin(moved));
    assert_user_error(
        &r,
        "no key could decrypt items of SealedSecret elsewhere/db-credentials",
        "was sealed for `shop/db-credentials` (strict)",
    );
}

#[test]
fn from_file_without_raw_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["--from-file", "x"])
        .arg("--cert")
        .arg(&keys().cert));
    assert_user_error(&r, "--from-file requires --raw", "--raw");
}

#[test]
fn raw_without_name_in_strict_scope_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args(["--raw", "-n", "a", "--cert"])
        .arg(&keys().cert)
        .write_stdin("hunter2"));
    assert_user_error(
        &r,
        "must provide the --name flag with --raw and --scope strict",
        "--name NAME",
    );
}

#[test]
fn raw_native_needs_the_item_name() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .args([
            "--raw",
            "-n",
            "a",
            "--name",
            "b",
            "--recipient",
            &keys().recipient,
        ])
        .write_stdin("hunter2"));
    assert_user_error(
        &r,
        "a native raw value is bound to its item name",
        "--from-file ITEM=PATH",
    );
}

#[test]
fn several_certificates_need_the_native_format() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .arg("--cert")
        .arg(&keys().cert)
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_user_error(&r, "several --cert given", "--recipient");
}

#[test]
fn a_failing_document_leaves_the_output_file_untouched() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out.json");
    std::fs::write(&out, "previous").unwrap();
    let input = "kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {p: hunter2}\n---\nkind: Secret\nmetadata: {namespace: b}\nstringData: {p: x}\n";
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(&keys().cert)
        .arg("-w")
        .arg(&out)
        .write_stdin(input));
    assert_user_error(&r, "stdin: document 2: missing metadata.name", "--name");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    assert_eq!(
        std::fs::read_dir(home.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn no_public_key_and_no_cluster_is_refused_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path()).arg("-f").arg(fixture("secret.yaml")));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("hint: pass --cert FILE|URL or --recipient age1..."),
        "{}",
        r.stderr
    );
}

#[test]
fn an_unknown_flag_exits_1() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path()).arg("--no-such-flag"));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .starts_with("error: unexpected argument '--no-such-flag'"),
        "{}",
        r.stderr
    );
}

// ---------- help ----------

#[test]
fn help_lists_every_kubeseal_flag() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path()).arg("--help"));
    assert_eq!(r.code, 0);
    // kubeseal v0.36.6 cmd/kubeseal/main.go bindFlags + client-go override flags.
    for flag in [
        "--cert",
        "--controller-namespace",
        "--controller-name",
        "-o, --format",
        "-w, --sealed-secret-file",
        "-f, --secret-file",
        "--fetch-cert",
        "--allow-empty-data",
        "--validate",
        "--merge-into",
        "--raw",
        "--name",
        "--from-file",
        "--kubeconfig",
        "--scope",
        "--re-encrypt",
        "--recovery-unseal",
        "--recovery-private-key",
        "-n, --namespace",
        "--context",
        "--cluster",
        "--user",
        "-s, --server",
        "--token",
        "--as",
        "--as-group",
        "--certificate-authority",
        "--insecure-skip-tls-verify",
        "--tls-server-name",
        "--request-timeout",
        "-h, --help",
        "-V, --version",
    ] {
        assert!(r.stdout.contains(flag), "--help lists {flag}");
    }
}

#[test]
fn help_matches_the_golden_file() {
    let home = tempfile::tempdir().unwrap();
    let r = run(sealkit(home.path()).arg("--help"));
    snapbox::assert_data_eq!(r.stdout, snapbox::file!["fixtures/help.txt"]);
    let r = run(sealkit(home.path()).args(["seal", "--help"]));
    snapbox::assert_data_eq!(r.stdout, snapbox::file!["fixtures/help-seal.txt"]);
    let r = run(sealkit(home.path()).args(["keygen", "--help"]));
    snapbox::assert_data_eq!(r.stdout, snapbox::file!["fixtures/help-keygen.txt"]);
}

// ---------- --cert URLs ----------

/// Serve one HTTP answer on a local port; returns the URL base.
fn serve_once(status: &'static str, body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_certificate_is_fetched_from_an_http_url() {
    let home = tempfile::tempdir().unwrap();
    let url = serve_once("200 OK", std::fs::read(&keys().cert).unwrap());
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(format!("{url}/v1/cert.pem"))
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(redact_sealed(&r.stdout), expected("secret.json"));
}

#[test]
fn a_certificate_url_that_answers_404_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let url = serve_once("404 Not Found", b"no".to_vec());
    let r = run(sealkit(home.path())
        .arg("--cert")
        .arg(format!("{url}/v1/cert.pem"))
        .arg("-f")
        .arg(fixture("secret.yaml")));
    assert_user_error(&r, "404 Not Found", "/v1/cert.pem");
}

#[test]
fn a_file_url_is_read_like_a_path() {
    let home = tempfile::tempdir().unwrap();
    let url = format!("file://{}", keys().cert.display());
    let r = run(sealkit(home.path()).args(["--fetch-cert", "--cert", &url]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, std::fs::read_to_string(&keys().cert).unwrap());
}

#[test]
fn recovery_unseal_refuses_to_print_plaintext_to_a_terminal() {
    // util-linux `script` gives the command a pseudo-terminal as stdout.
    let home = tempfile::tempdir().unwrap();
    let sealed = sealed_with_template(home.path());
    let bin = assert_cmd::cargo::cargo_bin("sealkit");
    let cmd = format!(
        "{} --recovery-unseal --recovery-private-key {} -f {}",
        bin.display(),
        keys().key_pem.display(),
        sealed.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("HOME", home.path())
        .output()
        .expect("util-linux `script` is needed for this test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error: refusing to print the unsealed Secret to a terminal"),
        "{text}"
    );
    assert!(!text.contains("aHVudGVyMg=="), "{text}");
    let allowed = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{cmd} --plaintext-to-terminal"),
            "/dev/null",
        ])
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&allowed.stdout).contains("aHVudGVyMg=="));
}
