//! Writing manifests the way kubeseal does, and writing files atomically.
//!
//! JSON: Go's `json.MarshalIndent(obj, "", "  ")` followed by a newline. Go's encoder escapes
//! `<`, `>`, `&`, U+2028 and U+2029, which serde_json does not; [`GoFormatter`] adds that.
//! YAML: `---\n` then the document with keys sorted (kubeseal converts its JSON to YAML, which
//! sorts keys), written by serde-saphyr, which quotes strings a YAML 1.1 reader would misread.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

use crate::failure::{Failure, Outcome};
use crate::flags::OutputFormat;

/// serde_json's pretty formatter with Go's HTML-safe string escaping.
struct GoFormatter<'a> {
    inner: PrettyFormatter<'a>,
}

impl Formatter for GoFormatter<'_> {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        self.inner.write_char_escape(w, escape)
    }
}

/// Go-style pretty JSON with a trailing newline, as kubeseal prints.
pub fn to_go_json<T: Serialize>(value: &T) -> Outcome<Vec<u8>> {
    let mut out = Vec::with_capacity(4096);
    let formatter = GoFormatter {
        inner: PrettyFormatter::with_indent(b"  "),
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut ser)
        .map_err(|e| Failure::internal("cannot serialize the output as JSON").because(&e))?;
    out.push(b'\n');
    Ok(out)
}

/// YAML with sorted keys, without the leading `---`.
pub fn to_sorted_yaml<T: Serialize>(value: &T) -> Outcome<String> {
    // Going through serde_json::Value sorts keys (its map is a BTreeMap).
    let sorted = serde_json::to_value(value)
        .map_err(|e| Failure::internal("cannot serialize the output").because(&e))?;
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    serde_saphyr::to_string_with_options(&sorted, options)
        .map_err(|e| Failure::internal("cannot serialize the output as YAML").because(&e))
}

/// One document in the chosen format, as kubeseal writes it (`---\n` before each YAML
/// document, a newline after each JSON document).
pub fn render<T: Serialize>(value: &T, format: OutputFormat) -> Outcome<Vec<u8>> {
    match format {
        OutputFormat::Json => to_go_json(value),
        OutputFormat::Yaml => {
            let mut out = b"---\n".to_vec();
            let yaml = to_sorted_yaml(value)?;
            out.extend_from_slice(yaml.as_bytes());
            if !yaml.ends_with('\n') {
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

/// Whether a file name asks for YAML (kubeseal: `.yaml` or `.yml` extension).
pub fn is_yaml_path(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Permissions for a file written atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// Sealed output: keep the mode of the file replaced, else 0644.
    Public,
    /// Plaintext or private keys: 0600 whatever was there.
    Private,
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, flushed and
/// renamed over the target. On any error the target is left as it was.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: FileMode) -> Outcome<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let fail = |what: &str, e: &io::Error| {
        Failure::user(format!("cannot write {}: {what}", path.display()))
            .because(e)
            .hint("check that the directory exists and is writable")
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sealkit-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| fail("cannot create a temporary file", &e))?;
    tmp.write_all(bytes).map_err(|e| fail("write failed", &e))?;
    set_mode(tmp.as_file(), path, mode).map_err(|e| fail("cannot set permissions", &e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| fail("sync failed", &e))?;
    tmp.persist(path)
        .map_err(|e| fail("rename failed", &e.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(file: &fs::File, target: &Path, mode: FileMode) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bits = match mode {
        FileMode::Private => 0o600,
        FileMode::Public => match fs::metadata(target) {
            Ok(meta) => meta.permissions().mode() & 0o7777,
            Err(_) => 0o644,
        },
    };
    file.set_permissions(fs::Permissions::from_mode(bits))
}

#[cfg(not(unix))]
fn set_mode(_file: &fs::File, _target: &Path, _mode: FileMode) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_escapes_html_characters_like_go() {
        let value = serde_json::json!({"a": "<b> & \u{2028}"});
        let out = String::from_utf8(to_go_json(&value).unwrap()).unwrap();
        assert_eq!(out, "{\n  \"a\": \"\\u003cb\\u003e \\u0026 \\u2028\"\n}\n");
    }

    #[test]
    fn go_json_prints_empty_maps_as_braces() {
        let value = serde_json::json!({"a": {}, "b": []});
        let out = String::from_utf8(to_go_json(&value).unwrap()).unwrap();
        assert_eq!(out, "{\n  \"a\": {},\n  \"b\": []\n}\n");
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"new", FileMode::Public).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        write_atomically(&path, b"secret", FileMode::Private).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
