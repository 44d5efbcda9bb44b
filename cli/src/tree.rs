//! `sealkit seal --in-place PATH...`: seal every Secret manifest under a tree in place.
//!
//! YAML files are split on their `---` lines; a document that is a `v1` Secret is replaced by
//! its SealedSecret (its leading comments are kept), every other document is left byte for byte.
//! A JSON file holding one Secret is replaced by the SealedSecret in JSON. Each file is written
//! atomically and only if all its Secrets sealed; files that fail are reported and left as
//! they were. Hidden directories (`.git`) and symbolic links are skipped.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sealkit_crypto::SealingTarget;

use crate::document::{self, Document, InputSecret};
use crate::failure::{Failure, Outcome};
use crate::flags::OutputFormat;
use crate::output::{self, FileMode};
use crate::sealing::{self, SealOptions};

/// What happened to the tree.
#[derive(Debug, Default)]
pub struct TreeReport {
    pub files_seen: usize,
    pub files_changed: usize,
    pub secrets_sealed: usize,
    pub failures: Vec<Failure>,
}

pub fn seal_tree(
    roots: &[PathBuf],
    options: &SealOptions,
    target: &SealingTarget,
) -> Outcome<TreeReport> {
    let mut files = Vec::new();
    for root in roots {
        let meta = std::fs::symlink_metadata(root).map_err(|e| {
            Failure::user(format!("cannot read {}", root.display()))
                .because(&e)
                .hint("pass existing directories or files to --in-place")
        })?;
        if meta.is_dir() {
            collect(root, &mut files)?;
        } else {
            files.push(root.clone());
        }
    }
    files.sort();
    let progress = std::io::stderr().is_terminal();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let sealed = AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Outcome<usize>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let (files, next, done, sealed) = (&files, &next, &done, &sealed);
                scope.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        let result = seal_file(path, options, target);
                        if let Ok(n) = &result {
                            sealed.fetch_add(*n, Ordering::Relaxed);
                        }
                        let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if progress && worker == 0 {
                            let mut err = std::io::stderr().lock();
                            let _ = write!(
                                err,
                                "\r\x1b[2K[{finished}/{}] {} Secrets sealed",
                                files.len(),
                                sealed.load(Ordering::Relaxed)
                            );
                            let _ = err.flush();
                        }
                        out.push((i, result));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    if progress {
        eprintln!(
            "\r\x1b[2K[{}/{}] {} Secrets sealed",
            files.len(),
            files.len(),
            sealed.load(Ordering::Relaxed)
        );
    }
    let mut all: Vec<(usize, Outcome<usize>)> = results.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    let mut report = TreeReport {
        files_seen: files.len(),
        ..TreeReport::default()
    };
    for (_, result) in all {
        match result {
            Ok(0) => {}
            Ok(n) => {
                report.files_changed += 1;
                report.secrets_sealed += n;
            }
            Err(f) => report.failures.push(f),
        }
    }
    Ok(report)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Outcome<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::user(format!("cannot list {}", dir.display())).because(&e))?;
    for entry in entries {
        let entry = entry
            .map_err(|e| Failure::user(format!("cannot list {}", dir.display())).because(&e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| Failure::user(format!("cannot read {}", path.display())).because(&e))?;
        if kind.is_dir() {
            collect(&path, files)?;
        } else if kind.is_file() && is_manifest_name(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_manifest_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Seal the Secrets of one file; returns how many were sealed (0: file untouched).
fn seal_file(path: &Path, options: &SealOptions, target: &SealingTarget) -> Outcome<usize> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::user(format!("cannot read {source}")).because(&e))?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        let docs = document::parse_documents(&bytes, &source)?;
        if docs.len() != 1 || !is_secret(&docs[0]) {
            return Ok(0);
        }
        let sealed = seal_one(&docs[0], &source, options, target)?;
        let out = output::render(&sealed, OutputFormat::Json)?;
        output::write_atomically(path, &out, FileMode::Public)?;
        return Ok(1);
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(0);
    };
    let mut out = String::with_capacity(text.len() * 2);
    let mut sealed_count = 0;
    for chunk in split_yaml(text) {
        match chunk {
            Chunk::Separator(line) => out.push_str(line),
            Chunk::Body(body) => {
                let docs = match document::parse_documents(body.as_bytes(), &source) {
                    Ok(d) => d,
                    Err(f) if looks_like_secret(body) => return Err(f),
                    Err(_) => {
                        out.push_str(body);
                        continue;
                    }
                };
                if docs.len() == 1 && is_secret(&docs[0]) {
                    let sealed = seal_one(&docs[0], &source, options, target)?;
                    let yaml = output::to_sorted_yaml(&sealed)?;
                    out.push_str(leading_comments(body));
                    out.push_str(&yaml);
                    if !yaml.ends_with('\n') {
                        out.push('\n');
                    }
                    sealed_count += 1;
                } else {
                    out.push_str(body);
                }
            }
        }
    }
    if sealed_count > 0 {
        output::write_atomically(path, out.as_bytes(), FileMode::Public)?;
    }
    Ok(sealed_count)
}

fn seal_one(
    doc: &Document,
    source: &str,
    options: &SealOptions,
    target: &SealingTarget,
) -> Outcome<crate::manifest::SealedSecretManifest> {
    let secret = InputSecret::from_document(doc, source)?;
    sealing::seal_secret(secret, options, target).map_err(|f| f.context(source))
}

fn is_secret(doc: &Document) -> bool {
    doc.kind() == "Secret" && doc.api_version() == "v1"
}

/// A document that could not be parsed but seems to be a Secret is an error, not a skip.
fn looks_like_secret(body: &str) -> bool {
    body.lines()
        .any(|l| l.trim() == "kind: Secret" || l.trim() == "kind: \"Secret\"")
}

fn leading_comments(body: &str) -> &str {
    let mut end = 0;
    for line in body.split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            end += line.len();
        } else {
            break;
        }
    }
    &body[..end]
}

enum Chunk<'a> {
    Separator(&'a str),
    Body(&'a str),
}

/// Split a YAML stream on document-start lines (`---`, `--- # comment`), keeping every byte.
fn split_yaml(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut body_start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let is_separator =
            content == "---" || content.starts_with("--- ") || content.starts_with("---\t");
        if is_separator {
            if pos > body_start {
                chunks.push(Chunk::Body(&text[body_start..pos]));
            }
            chunks.push(Chunk::Separator(&text[pos..pos + line.len()]));
            body_start = pos + line.len();
        }
        pos += line.len();
    }
    if pos > body_start {
        chunks.push(Chunk::Body(&text[body_start..pos]));
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_keeps_every_byte() {
        let text = "# head\na: 1\n---\nb: 2\n--- # c\n\nc: 3";
        let joined: String = split_yaml(text)
            .iter()
            .map(|c| match c {
                Chunk::Separator(s) | Chunk::Body(s) => *s,
            })
            .collect();
        assert_eq!(joined, text);
        assert_eq!(split_yaml(text).len(), 5);
    }

    #[test]
    fn leading_comments_are_kept() {
        assert_eq!(
            leading_comments("\n# db password\nkind: Secret\n"),
            "\n# db password\n"
        );
    }
}
