//! Writes every CRD of `sealkit_api::crds()` to `deploy/crds/<file>` (atomically), or with
//! `--check` exits 1 when a committed file differs from the generated one.
//!
//! Usage: `cargo run -p sealkit-api --bin crdgen [-- --check] [DIR]` (DIR defaults to
//! `deploy/crds` at the workspace root).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/crds"));
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: crdgen [--check] [DIR]");
                return ExitCode::SUCCESS;
            }
            other => dir = PathBuf::from(other),
        }
    }
    let mut stale = 0;
    for (file, crd) in sealkit_api::crds() {
        let path = dir.join(file);
        let yaml = match sealkit_api::crd_yaml(&crd) {
            Ok(y) => y,
            Err(e) => {
                eprintln!("error: cannot render {file}: {e}");
                return ExitCode::from(2);
            }
        };
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(yaml.as_str()) {
                eprintln!(
                    "error: {} is stale\nhint: run `cargo run -p sealkit-api --bin crdgen`",
                    path.display()
                );
                stale += 1;
            }
            continue;
        }
        let tmp = path.with_extension("yaml.tmp");
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&tmp, &yaml))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!("wrote {}", path.display());
    }
    if stale > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
