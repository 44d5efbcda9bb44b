//! The public keys to seal for, and the choice of format.
//!
//! Sources: `--cert` (file, `file://`, `http://`, `https://`), `--recipient`,
//! `--recipients-file`, or the controller (ConfigMap or service proxy, see [`crate::cluster`]).
//! Format: native (age) when age recipients are known, Bitnami for a single certificate, unless
//! `--sealing-format` says otherwise.

use std::path::Path;
use std::str::FromStr;
use std::time::SystemTime;

use sealkit_crypto::keys::{AgeRecipient, Certificate};

use crate::cluster::{self, PublishedKeys};
use crate::failure::{Failure, Outcome};
use crate::flags::{SealArgs, SealingFormat};
use sealkit_crypto::SealingTarget;

/// Public keys gathered from flags or from the controller.
#[derive(Debug, Default)]
pub struct KeySet {
    /// (where it came from, PEM bytes as read)
    pub certs: Vec<(String, Vec<u8>)>,
    pub recipients: Vec<AgeRecipient>,
    /// Published by the controller (which may offer both a certificate and recipients).
    pub from_controller: bool,
}

/// Whether the flags name public keys (so the cluster is not needed).
pub fn has_local_keys(args: &SealArgs) -> bool {
    !args.cert.is_empty() || !args.recipient.is_empty() || !args.recipients_file.is_empty()
}

/// Keys named on the command line.
pub fn local_keys(args: &SealArgs) -> Outcome<KeySet> {
    let mut set = KeySet::default();
    for cert in &args.cert {
        set.certs.push((cert.clone(), open_cert(cert)?));
    }
    for text in &args.recipient {
        set.recipients.push(parse_recipient(text, "--recipient")?);
    }
    for path in &args.recipients_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::user(format!("cannot read recipients file {}", path.display())).because(&e)
        })?;
        let parsed = sealkit_crypto::keys::parse_recipients(&text).map_err(|e| {
            Failure::user(format!(
                "{} is not a list of age recipients",
                path.display()
            ))
            .because(&e)
            .hint("the file must hold one age1... recipient per line (# comments allowed)")
        })?;
        if parsed.is_empty() {
            return Err(
                Failure::user(format!("{} holds no age recipient", path.display()))
                    .hint("the file must hold one age1... recipient per line"),
            );
        }
        set.recipients.extend(parsed);
    }
    Ok(set)
}

fn parse_recipient(text: &str, flag: &str) -> Outcome<AgeRecipient> {
    AgeRecipient::from_str(text.trim()).map_err(|e| {
        Failure::user(format!("{flag} {text:?} is not an age recipient"))
            .because(&e)
            .hint("an age recipient looks like age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq (see sealkit --fetch-recipients)")
    })
}

/// Keys published by the controller.
pub fn cluster_keys(args: &SealArgs) -> Outcome<KeySet> {
    let published: PublishedKeys = cluster::block_on(async {
        let client = cluster::client(&args.kube).await?;
        cluster::fetch_public_keys(
            &client,
            &args.controller_namespace,
            &args.controller_name,
            args.public_keys_from,
        )
        .await
    })??;
    let mut set = KeySet {
        from_controller: true,
        ..KeySet::default()
    };
    if let Some(pem) = published.cert_pem {
        set.certs.push((published.origin.clone(), pem));
    }
    if let Some(text) = published.recipients {
        set.recipients = sealkit_crypto::keys::parse_recipients(&text).map_err(|e| {
            Failure::user(format!(
                "the recipients published by {} are not valid",
                published.origin
            ))
            .because(&e)
        })?;
    }
    Ok(set)
}

/// Keys from the flags, else from the controller.
pub fn gather(args: &SealArgs) -> Outcome<KeySet> {
    if has_local_keys(args) {
        local_keys(args)
    } else {
        cluster_keys(args)
    }
}

/// Parse and check a certificate as kubeseal does: the first PEM certificate, RSA, not expired.
pub fn parse_cert(source: &str, pem: &[u8]) -> Outcome<Certificate> {
    let cert = Certificate::from_pem(pem).map_err(|e| {
        Failure::user(format!("{source} is not a PEM certificate with an RSA public key"))
            .because(&e)
            .hint("use the controller's certificate (sealkit --fetch-cert > cert.pem), or --recipient for native sealing")
    })?;
    cert.check_valid_at(SystemTime::now()).map_err(|e| {
        Failure::user(format!("the certificate {source} cannot be used to seal"))
            .because(&e)
            .hint("fetch the controller's current certificate (sealkit --fetch-cert), or renew the key")
    })?;
    Ok(cert)
}

/// Decide the format and build the sealer.
pub fn sealer_for(keys: &KeySet, format: SealingFormat) -> Outcome<SealingTarget> {
    let bitnami = |keys: &KeySet| -> Outcome<SealingTarget> {
        match keys.certs.as_slice() {
            [(source, pem)] => Ok(SealingTarget::from_certificate(&parse_cert(source, pem)?)),
            [] => Err(Failure::user("the Bitnami format needs a certificate, and none was given or published")
                .hint("pass --cert FILE|URL, or use the native format with --recipient")),
            _ => Err(Failure::user("the Bitnami format can seal for one certificate only")
                .hint("to seal for several clusters at once use the native format: pass each cluster's --recipient (sealkit --fetch-recipients)")),
        }
    };
    match format {
        SealingFormat::Bitnami => bitnami(keys),
        SealingFormat::Native => {
            if keys.recipients.is_empty() {
                return Err(Failure::user("the native format needs age recipients, and none were given or published")
                    .hint("pass --recipient age1... or --recipients-file, or --sealing-format bitnami with --cert"));
            }
            if !keys.certs.is_empty() && !keys.from_controller {
                return Err(Failure::user("--cert cannot be used with the native format: certificates seal in the Bitnami format")
                    .hint("pass each cluster's age --recipient instead (sealkit --fetch-recipients)"));
            }
            Ok(SealingTarget::Native(keys.recipients.clone()))
        }
        SealingFormat::Auto => {
            if !keys.recipients.is_empty() {
                if !keys.certs.is_empty() && !keys.from_controller {
                    return Err(Failure::user("--cert and --recipient cannot be combined: a certificate seals in the Bitnami format, a recipient in the native format")
                        .hint("to seal for several clusters pass each cluster's --recipient (sealkit --fetch-recipients); or --sealing-format bitnami with one --cert"));
                }
                Ok(SealingTarget::Native(keys.recipients.clone()))
            } else if keys.certs.len() > 1 {
                Err(Failure::user("several --cert given, but the Bitnami format can seal for one certificate only")
                    .hint("to seal for several clusters at once pass each cluster's age --recipient instead (sealkit --fetch-recipients --controller-name ...)"))
            } else {
                bitnami(keys)
            }
        }
    }
}

/// Open a `--cert` value: a file path, `file://`, `http://` or `https://` URL.
pub fn open_cert(location: &str) -> Outcome<Vec<u8>> {
    if let Some(path) = location.strip_prefix("file://") {
        return read_file(Path::new(path));
    }
    if location.starts_with("http://") || location.starts_with("https://") {
        return crate::download::fetch(location);
    }
    read_file(Path::new(location))
}

fn read_file(path: &Path) -> Outcome<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Failure::user(format!("cannot read certificate file {}", path.display()))
            .because(&e)
            .hint("save the controller's certificate with: sealkit --fetch-cert > cert.pem")
    })
}
