//! `sealkit`: a kubeseal-compatible CLI. Start at [`run`]: it picks the action from the flags
//! in kubeseal's order (recovery-unseal, validate, re-encrypt, fetch-cert, merge-into, raw,
//! seal). Offline paths never start an async runtime or a kube client.
//!
//! Exit codes: 0 ok, 1 user or input error, 2 internal error.
#![forbid(unsafe_code)]

mod cluster;
mod document;
mod download;
mod failure;
mod flags;
mod keygen;
mod manifest;
mod output;
mod public_key;
mod recovery;
mod sealing;
mod tree;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use sealkit_crypto::ScopeKind;

use crate::cluster::ControllerAnswer;
use crate::document::Document;
use crate::failure::{Failure, Outcome};
use crate::flags::{Cli, Command, OutputFormat, ScopeArg, SealArgs};
use crate::manifest::SealedSecretManifest;
use crate::output::FileMode;
use crate::sealing::SealOptions;

fn main() {
    let code = match parse() {
        Ok((cli, explicit_format)) => match dispatch(cli, explicit_format) {
            Ok(()) => 0,
            Err(failure) => {
                let _ = std::io::stdout().flush();
                eprint!("{failure}");
                failure.exit_code()
            }
        },
        Err(code) => code,
    };
    std::process::exit(code);
}

/// Parse the command line; help and version exit 0, usage errors exit 1 (as kubeseal).
fn parse() -> Result<(Cli, bool), i32> {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return Err(match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            });
        }
    };
    let explicit = |m: &clap::ArgMatches| {
        matches!(
            m.value_source("format"),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let explicit_format = match matches.subcommand() {
        Some(("seal", sub)) => explicit(sub),
        _ => explicit(&matches),
    };
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => Ok((cli, explicit_format)),
        Err(e) => {
            let _ = e.print();
            Err(1)
        }
    }
}

fn dispatch(cli: Cli, explicit_format: bool) -> Outcome<()> {
    match cli.command {
        Some(Command::Keygen(args)) => keygen::run(&args),
        Some(Command::Seal(cmd)) if !cmd.in_place.is_empty() => {
            seal_in_place(&cmd.seal, &cmd.in_place)
        }
        Some(Command::Seal(cmd)) => run(&cmd.seal, explicit_format),
        None => run(&cli.seal, explicit_format),
    }
}

/// Where the result goes: stdout, or a file written atomically at the end.
struct Sink {
    path: Option<PathBuf>,
    format: OutputFormat,
    mode: FileMode,
    bytes: Vec<u8>,
}

impl Sink {
    fn finish(self) -> Outcome<()> {
        match &self.path {
            Some(path) => output::write_atomically(path, &self.bytes, self.mode),
            None => {
                let mut stdout = std::io::stdout().lock();
                stdout
                    .write_all(&self.bytes)
                    .and_then(|_| stdout.flush())
                    .map_err(|e| Failure::user("cannot write to stdout").because(&e))
            }
        }
    }
}

/// kubeseal's main flow.
fn run(args: &SealArgs, explicit_format: bool) -> Outcome<()> {
    if !args.from_file.is_empty() && !args.raw {
        return Err(Failure::user("--from-file requires --raw").hint(
            "to seal a whole Secret pass it with -f or on stdin; to seal one value add --raw",
        ));
    }
    // --re-encrypt with only -f rewrites the input file (kubeseal #405).
    let mut out_path = args.sealed_secret_file.clone();
    if args.re_encrypt && out_path.is_none() {
        out_path = args.secret_file.clone();
    }
    let mut format = args.format;
    if out_path.as_deref().is_some_and(output::is_yaml_path) {
        format = OutputFormat::Yaml;
    }
    let mut sink = Sink {
        path: out_path,
        format,
        mode: FileMode::Public,
        bytes: Vec::new(),
    };

    if args.recovery_unseal {
        return recovery_unseal(args, sink);
    }
    let offline_keys = !args.recovery_private_key.is_empty();
    if offline_keys && !args.validate && !args.re_encrypt && std::io::stderr().is_terminal() {
        eprintln!(
            "warning: ignoring --recovery-private-key because unseal command not chosen with --recovery-unseal"
        );
    }
    if args.validate {
        return validate(args);
    }
    if args.re_encrypt {
        return re_encrypt(args, sink);
    }
    if args.fetch_cert || args.fetch_recipients {
        return fetch_keys(args, sink);
    }

    let keys = public_key::gather(args)?;
    let target = public_key::sealer_for(&keys, args.sealing_format)?;

    if let Some(merge_into) = &args.merge_into {
        return merge_into_file(args, merge_into, &target, explicit_format);
    }
    if args.raw {
        return raw(args, &target, sink);
    }
    let (input, source) = read_input(args)?;
    let docs = document::parse_documents(&input, &source)?;
    let options = seal_options(args, None);
    let warn_scope = scope_quirk_warning(args);
    for sealed in sealing::seal_documents(&docs, &source, &options, &target)? {
        sink.bytes.extend(output::render(&sealed, sink.format)?);
    }
    if let Some(w) = warn_scope {
        eprintln!("{w}");
    }
    sink.finish()
}

fn scope_arg(args: &SealArgs) -> Option<ScopeKind> {
    args.scope.map(|s| match s {
        ScopeArg::Strict => ScopeKind::Strict,
        ScopeArg::NamespaceWide => ScopeKind::NamespaceWide,
        ScopeArg::ClusterWide => ScopeKind::ClusterWide,
    })
}

fn scope_quirk_warning(args: &SealArgs) -> Option<&'static str> {
    (scope_arg(args) == Some(ScopeKind::Strict)).then_some(
        "note: as with kubeseal, --scope strict does not remove a namespace-wide or cluster-wide annotation from the input Secret",
    )
}

fn seal_options(args: &SealArgs, namespace_override: Option<String>) -> SealOptions {
    SealOptions {
        scope: scope_arg(args),
        name: args.name.clone(),
        namespace_override,
        namespace: cluster::namespace_choice(&args.kube),
        allow_empty_data: args.allow_empty_data,
    }
}

/// The input stream: `-f FILE` or stdin.
fn read_input(args: &SealArgs) -> Outcome<(Vec<u8>, String)> {
    match &args.secret_file {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::user(format!("cannot read {} (--secret-file)", path.display()))
                    .because(&e)
                    .hint("check the path given to -f/--secret-file")
            })?;
            Ok((bytes, path.display().to_string()))
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("(tty detected: expecting json/yaml k8s resource in stdin)");
            }
            let mut bytes = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::user("cannot read stdin").because(&e))?;
            Ok((bytes, "stdin".to_owned()))
        }
    }
}

fn read_sealed_secrets(args: &SealArgs) -> Outcome<(Vec<SealedSecretManifest>, String)> {
    let (input, source) = read_input(args)?;
    let docs = document::parse_documents(&input, &source)?;
    if docs.is_empty() {
        return Err(Failure::user(format!("{source}: no sealed secrets found"))
            .hint("pass SealedSecret manifests with -f or on stdin"));
    }
    let sealed = docs
        .iter()
        .map(|d: &Document| document::sealed_secret_from_document(d, &source))
        .collect::<Outcome<Vec<_>>>()?;
    Ok((sealed, source))
}

fn recovery_unseal(args: &SealArgs, mut sink: Sink) -> Outcome<()> {
    sink.mode = FileMode::Private;
    if sink.path.is_none() && std::io::stdout().is_terminal() && !args.plaintext_to_terminal {
        return Err(Failure::user("refusing to print the unsealed Secret to a terminal")
            .hint("write it to a file with -w secret.yaml (created 0600), pipe it, or pass --plaintext-to-terminal"));
    }
    let ring = recovery::read_key_ring(&args.recovery_private_key)?;
    let (sealed, _) = read_sealed_secrets(args)?;
    for ss in &sealed {
        let secret = recovery::unseal(ss, &ring)?;
        sink.bytes.extend(output::render(&secret, sink.format)?);
    }
    sink.finish()
}

fn validate(args: &SealArgs) -> Outcome<()> {
    let (sealed, _) = read_sealed_secrets(args)?;
    if !args.recovery_private_key.is_empty() {
        let ring = recovery::read_key_ring(&args.recovery_private_key)?;
        for ss in &sealed {
            recovery::open_items(ss, &ring)
                .map_err(|f| f.hint_if_none("re-seal the Secret for this cluster's key"))?;
        }
        return Ok(());
    }
    cluster::block_on(async {
        let client = cluster::client(&args.kube).await?;
        for ss in &sealed {
            let body = serde_json::to_vec(ss)
                .map_err(|e| Failure::internal("cannot encode the SealedSecret").because(&e))?;
            match cluster::post_to_controller(
                &client,
                &args.controller_namespace,
                &args.controller_name,
                "/v1/verify",
                body,
            )
            .await?
            {
                ControllerAnswer::Ok(_) => {}
                ControllerAnswer::Conflict => {
                    return Err(Failure::user(format!("unable to decrypt sealed secret: {}", ss.metadata.name))
                        .hint("it was sealed for another cluster key, name, namespace or scope; re-seal it, or check offline with --recovery-private-key"));
                }
            }
        }
        Ok(())
    })?
}

fn re_encrypt(args: &SealArgs, mut sink: Sink) -> Outcome<()> {
    let (sealed, _) = read_sealed_secrets(args)?;
    if !args.recovery_private_key.is_empty() {
        let ring = recovery::read_key_ring(&args.recovery_private_key)?;
        let keys = public_key::gather(args)?;
        let target = public_key::sealer_for(&keys, args.sealing_format)?;
        for ss in &sealed {
            let out = recovery::re_encrypt(ss, &ring, &target)?;
            sink.bytes.extend(output::render(&out, sink.format)?);
        }
        return sink.finish();
    }
    let rotated = cluster::block_on(async {
        let client = cluster::client(&args.kube).await?;
        let mut out = Vec::new();
        for ss in &sealed {
            let body = serde_json::to_vec(ss)
                .map_err(|e| Failure::internal("cannot encode the SealedSecret").because(&e))?;
            match cluster::post_to_controller(
                &client,
                &args.controller_namespace,
                &args.controller_name,
                "/v1/rotate",
                body,
            )
            .await?
            {
                ControllerAnswer::Ok(text) => {
                    let mut rotated: SealedSecretManifest =
                        serde_json::from_str(&text).map_err(|e| {
                            Failure::user(
                                "the controller's answer to /v1/rotate is not a SealedSecret",
                            )
                            .because(&e)
                        })?;
                    rotated.metadata.creation_timestamp = None;
                    rotated.metadata.deletion_timestamp = None;
                    rotated.metadata.generation = 0;
                    out.push(rotated);
                }
                ControllerAnswer::Conflict => {
                    return Err(Failure::user("unable to rotate secret")
                        .hint("the controller cannot decrypt it; check with --validate, or re-encrypt offline with --recovery-private-key"));
                }
            }
        }
        Ok(out)
    })??;
    for ss in &rotated {
        sink.bytes.extend(output::render(ss, sink.format)?);
    }
    sink.finish()
}

fn fetch_keys(args: &SealArgs, mut sink: Sink) -> Outcome<()> {
    let keys = public_key::gather(args)?;
    if args.fetch_cert {
        if keys.certs.is_empty() {
            return Err(Failure::user("no certificate was given or published")
                .hint("pass --cert, or check --controller-name/--controller-namespace"));
        }
        for (_, pem) in &keys.certs {
            sink.bytes.extend_from_slice(pem);
        }
    }
    if args.fetch_recipients {
        if keys.recipients.is_empty() {
            return Err(Failure::user(
                "the controller publishes no age recipients (a Bitnami sealed-secrets controller?)",
            )
            .hint("seal in the Bitnami format with its certificate (sealkit --fetch-cert)"));
        }
        for r in &keys.recipients {
            sink.bytes.extend_from_slice(format!("{r}\n").as_bytes());
        }
    }
    sink.finish()
}

fn merge_into_file(
    args: &SealArgs,
    path: &Path,
    target: &sealkit_crypto::SealingTarget,
    explicit_format: bool,
) -> Outcome<()> {
    let source = path.display().to_string();
    let original_bytes = std::fs::read(path).map_err(|e| {
        Failure::user(format!("cannot read {source} (--merge-into)"))
            .because(&e)
            .hint("--merge-into needs an existing SealedSecret file")
    })?;
    let docs = document::parse_documents(&original_bytes, &source)?;
    let [doc] = docs.as_slice() else {
        return Err(Failure::user(format!(
            "{source} must hold exactly one SealedSecret, it holds {} documents",
            docs.len()
        ))
        .hint("--merge-into updates one SealedSecret file"));
    };
    let mut original = document::sealed_secret_from_document(doc, &source)?;

    let (input, input_source) = read_input(args)?;
    let input_docs = document::parse_documents(&input, &input_source)?;
    let mut options = seal_options(args, Some(original.metadata.namespace.clone()));
    options.name = Some(original.metadata.name.clone());
    if options.scope.is_none() {
        // kubeseal seals strict unless --scope is repeated; the file's scope is what will unseal.
        let kind = ScopeKind::from_annotations(Some(&original.metadata.annotations));
        options.scope = Some(kind);
    }
    let updates = sealing::seal_documents(&input_docs, &input_source, &options, target)?;
    for update in updates {
        original
            .spec
            .encrypted_data
            .extend(update.spec.encrypted_data);
        let t = &mut original.spec.template;
        t.metadata
            .annotations
            .extend(update.spec.template.metadata.annotations);
        t.metadata
            .labels
            .extend(update.spec.template.metadata.labels);
        t.data.extend(update.spec.template.data);
    }
    let format = if explicit_format {
        args.format
    } else if original_bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        OutputFormat::Json
    } else {
        OutputFormat::Yaml
    };
    let bytes = output::render(&original, format)?;
    output::write_atomically(path, &bytes, FileMode::Public)
}

fn raw(args: &SealArgs, target: &sealkit_crypto::SealingTarget, mut sink: Sink) -> Outcome<()> {
    let scope_kind = scope_arg(args).unwrap_or(ScopeKind::Strict);
    let mut namespace = None;
    if scope_kind != ScopeKind::ClusterWide {
        let choice = cluster::namespace_choice(&args.kube);
        let Some(ns) = choice.name() else {
            return Err(Failure::user(format!(
                "must provide the --namespace flag with --raw and --scope {}",
                scope_kind.as_str()
            ))
            .hint(
                "pass -n NAMESPACE (the namespace of the SealedSecret that will hold the value)",
            ));
        };
        namespace = Some(ns.to_owned());
        if scope_kind == ScopeKind::Strict && args.name.as_deref().unwrap_or("").is_empty() {
            return Err(Failure::user("must provide the --name flag with --raw and --scope strict")
                .hint("pass --name NAME (the name of the SealedSecret that will hold the value), or --scope namespace-wide"));
        }
    }
    if args.from_file.len() > 1 {
        return Err(Failure::user(
            "must provide only one --from-file when encrypting a single item with --raw",
        ));
    }
    let (item_key, value) = match args.from_file.first() {
        Some(spec) => {
            let (key, file) = match spec.split_once('=') {
                Some((k, f)) => (Some(k.to_owned()), f),
                None => (None, spec.as_str()),
            };
            let bytes = std::fs::read(file).map_err(|e| {
                Failure::user(format!("cannot read {file} (--from-file)")).because(&e)
            })?;
            (key, bytes)
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("(tty detected: expecting a secret to encrypt in stdin)");
            }
            let mut bytes = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::user("cannot read stdin").because(&e))?;
            (None, bytes)
        }
    };
    let data_key = match target {
        sealkit_crypto::SealingTarget::Native(_) => item_key.filter(|k| !k.is_empty()).ok_or_else(|| {
            Failure::user("a native raw value is bound to its item name, and none was given")
                .hint("pass --from-file ITEM=PATH (ITEM = the key under spec.encryptedData), or --sealing-format bitnami with --cert")
        })?,
        sealkit_crypto::SealingTarget::Hybrid(_) => item_key.unwrap_or_default(),
    };
    let scope = sealkit_crypto::Scope::new(scope_kind, namespace.as_deref(), args.name.as_deref())
        .map_err(|e| Failure::user("incomplete scope for --raw").because(&e))?;
    let plain = sealkit_crypto::SecretBytes::new(value); // zeroed on drop
    let sealed = sealing::seal_value(target, &scope, &data_key, plain.expose_secret())?;
    sink.bytes.extend_from_slice(sealed.as_bytes());
    sink.finish()
}

fn seal_in_place(args: &SealArgs, roots: &[PathBuf]) -> Outcome<()> {
    let keys = public_key::gather(args)?;
    let target = public_key::sealer_for(&keys, args.sealing_format)?;
    let options = seal_options(args, None);
    let report = tree::seal_tree(roots, &options, &target)?;
    let summary = format!(
        "sealed {} Secrets in {} of {} files",
        report.secrets_sealed, report.files_changed, report.files_seen
    );
    let failed = report.failures.len();
    let mut failures = report.failures.into_iter();
    let Some(last) = failures.next_back() else {
        eprintln!("{summary}");
        return Ok(());
    };
    for failure in failures {
        eprint!("{failure}");
    }
    Err(last
        .cause(format!(
            "{failed} file(s) failed and were left as they were; {summary}"
        ))
        .hint_if_none("fix the file and run again"))
}
