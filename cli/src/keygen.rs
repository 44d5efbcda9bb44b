//! `sealkit keygen`: a controller key pair created offline (to bootstrap a cluster from Git),
//! written as a key Secret (contract 1: `kubernetes.io/tls`, `generateName: sealed-secrets-key`,
//! label `sealedsecrets.bitnami.com/sealed-secrets-key: active`, data `tls.crt`, `tls.key`,
//! `age.key`) in a 0600 file written atomically; the public parts go to stdout.

use std::collections::BTreeMap;
use std::io::Write;

use sealkit_crypto::keys::{KEY_LABEL, KEY_LABEL_ACTIVE, KEY_SECRET_TYPE, KeyGenOptions};

use crate::failure::{Failure, Outcome};
use crate::flags::{KeygenArgs, OutputFormat};
use crate::manifest::{ObjectMeta, SecretManifest};
use crate::output::{self, FileMode};

pub fn run(args: &KeygenArgs) -> Outcome<()> {
    if args.output.exists() {
        return Err(Failure::user(format!(
            "{} already exists; keygen never overwrites a key",
            args.output.display()
        ))
        .hint("choose another file name, or remove the old file if it really is not needed"));
    }
    let pair = sealkit_crypto::keys::generate(&KeyGenOptions::default())
        .map_err(|e| Failure::internal("cannot generate the key pair").because(&e))?;
    let secret_data = pair
        .to_secret_data()
        .map_err(|e| Failure::internal("cannot encode the key pair").because(&e))?;
    let data: BTreeMap<String, String> = secret_data
        .iter()
        .map(|(k, v)| (k.clone(), sealkit_crypto::base64::encode(v.expose_secret())))
        .collect();
    let mut labels = BTreeMap::new();
    labels.insert(KEY_LABEL.to_owned(), KEY_LABEL_ACTIVE.to_owned());
    let manifest = SecretManifest {
        kind: "Secret",
        api_version: "v1",
        metadata: ObjectMeta {
            generate_name: args.key_prefix.clone(),
            namespace: args.namespace.clone(),
            labels,
            ..ObjectMeta::default()
        },
        immutable: None,
        data,
        secret_type: KEY_SECRET_TYPE.to_owned(),
    };
    let format = args
        .format
        .unwrap_or(if args.output.extension().is_some_and(|e| e == "json") {
            OutputFormat::Json
        } else {
            OutputFormat::Yaml
        });
    let bytes = output::render(&manifest, format)?;
    output::write_atomically(&args.output, &bytes, FileMode::Private)?;

    let cert_pem = pair.certificate().to_pem();
    let recipient = pair
        .age()
        .map(|a| a.recipient().to_string())
        .ok_or_else(|| Failure::internal("the generated key has no age identity"))?;
    if let Some(path) = &args.cert_out {
        output::write_atomically(path, cert_pem.as_bytes(), FileMode::Public)?;
    }
    if let Some(path) = &args.recipients_out {
        output::write_atomically(path, format!("{recipient}\n").as_bytes(), FileMode::Public)?;
    }
    let mut stdout = std::io::stdout().lock();
    let text = format!(
        "# certificate (seal with --cert; Bitnami format)\n{cert_pem}{}# age recipient (seal with --recipient; native format)\n{recipient}\n",
        if cert_pem.ends_with('\n') { "" } else { "\n" }
    );
    stdout.write_all(text.as_bytes())?;
    eprintln!("{}", next_steps(&args.output, &args.namespace));
    Ok(())
}

/// What to do with the written key Secret: `kubectl create` (its `generateName` makes `apply`
/// fail), then nothing for sealkit-controller (it watches key Secrets), a restart for a Bitnami
/// controller (it reads keys at start unless it runs with `--watch-for-secrets`).
fn next_steps(output: &std::path::Path, namespace: &str) -> String {
    let file = output.display();
    format!(
        "wrote the private key Secret to {file} (0600)\n\
         create it in namespace {namespace} with: kubectl create -f {file}   (create, not apply: it has generateName)\n\
         sealkit-controller picks it up without a restart; a Bitnami controller loads it at its next restart (or at once with --watch-for-secrets)"
    )
}
