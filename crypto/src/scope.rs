//! Scopes (where a sealed value may be unsealed) and bindings (where a value is found).
//!
//! Semantics are exactly sealed-secrets': a `strict` value is bound to namespace and name, a
//! `namespace-wide` value to the namespace, a `cluster-wide` value to nothing. The scope of a
//! SealedSecret is read from its annotations; `cluster-wide` wins over `namespace-wide`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Annotation selecting the namespace-wide scope (value must be exactly `"true"`).
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// Annotation selecting the cluster-wide scope (value must be exactly `"true"`); wins over
/// [`NAMESPACE_WIDE_ANNOTATION`].
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";

/// Where a sealed value may be unsealed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Only in the SealedSecret with this namespace and name (the default).
    Strict {
        /// Namespace of the SealedSecret.
        namespace: String,
        /// Name of the SealedSecret.
        name: String,
    },
    /// In any SealedSecret of this namespace.
    NamespaceWide {
        /// Namespace of the SealedSecret.
        namespace: String,
    },
    /// In any SealedSecret anywhere.
    ClusterWide,
}

/// The kind of a [`Scope`] without its namespace and name: what `--scope` and the annotations select.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeKind {
    /// `strict`
    #[default]
    Strict,
    /// `namespace-wide`
    NamespaceWide,
    /// `cluster-wide`
    ClusterWide,
}

/// A scope could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Unknown `--scope` value.
    #[error("unknown scope `{0}`: expected strict, namespace-wide or cluster-wide")]
    UnknownKind(String),
    /// A strict or namespace-wide scope without a namespace.
    #[error("a {0} scope needs a namespace")]
    MissingNamespace(ScopeKind),
    /// A strict scope without a name.
    #[error("a strict scope needs a name")]
    MissingName,
}

impl Scope {
    /// The scope of a SealedSecret, from its top-level namespace, name and annotations.
    ///
    /// `annotations` is `metadata.annotations` as Kubernetes gives it (`None` when absent).
    pub fn from_annotations(
        namespace: &str,
        name: &str,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Scope {
        match ScopeKind::from_annotations(annotations) {
            ScopeKind::Strict => Scope::Strict {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
            ScopeKind::NamespaceWide => Scope::NamespaceWide {
                namespace: namespace.to_owned(),
            },
            ScopeKind::ClusterWide => Scope::ClusterWide,
        }
    }

    /// Builds a scope of `kind`; namespace and name are required only where the kind uses them.
    pub fn new(
        kind: ScopeKind,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<Scope, ScopeError> {
        let namespace = namespace.filter(|n| !n.is_empty());
        let name = name.filter(|n| !n.is_empty());
        match kind {
            ScopeKind::Strict => Ok(Scope::Strict {
                namespace: namespace
                    .ok_or(ScopeError::MissingNamespace(kind))?
                    .to_owned(),
                name: name.ok_or(ScopeError::MissingName)?.to_owned(),
            }),
            ScopeKind::NamespaceWide => Ok(Scope::NamespaceWide {
                namespace: namespace
                    .ok_or(ScopeError::MissingNamespace(kind))?
                    .to_owned(),
            }),
            ScopeKind::ClusterWide => Ok(Scope::ClusterWide),
        }
    }

    /// The kind of this scope.
    pub fn kind(&self) -> ScopeKind {
        match self {
            Scope::Strict { .. } => ScopeKind::Strict,
            Scope::NamespaceWide { .. } => ScopeKind::NamespaceWide,
            Scope::ClusterWide => ScopeKind::ClusterWide,
        }
    }

    /// The sealed-secrets encryption label: `namespace/name`, `namespace`, or empty.
    ///
    /// It is the RSA-OAEP label of the compat format.
    pub fn label(&self) -> String {
        match self {
            Scope::Strict { namespace, name } => format!("{namespace}/{name}"),
            Scope::NamespaceWide { namespace } => namespace.clone(),
            Scope::ClusterWide => String::new(),
        }
    }

    /// Writes this scope's annotation into `annotations` (see [`ScopeKind::write_annotations`]).
    pub fn write_annotations(&self, annotations: &mut BTreeMap<String, String>) {
        self.kind().write_annotations(annotations);
    }
}

/// Human description used in diagnostics: `` `ns/name` (strict) ``.
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Strict { namespace, name } => write!(
                f,
                "`{}/{}` (strict)",
                namespace.escape_debug(),
                name.escape_debug()
            ),
            Scope::NamespaceWide { namespace } => {
                write!(
                    f,
                    "namespace `{}` (namespace-wide)",
                    namespace.escape_debug()
                )
            }
            Scope::ClusterWide => f.write_str("any namespace (cluster-wide)"),
        }
    }
}

impl ScopeKind {
    /// The kind selected by annotations: cluster-wide wins, then namespace-wide, else strict.
    /// Only the exact value `"true"` counts.
    pub fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> ScopeKind {
        let is_true = |key: &str| {
            annotations
                .and_then(|a| a.get(key))
                .is_some_and(|v| v == "true")
        };
        if is_true(CLUSTER_WIDE_ANNOTATION) {
            ScopeKind::ClusterWide
        } else if is_true(NAMESPACE_WIDE_ANNOTATION) {
            ScopeKind::NamespaceWide
        } else {
            ScopeKind::Strict
        }
    }

    /// Removes both scope annotations, then sets the one for this kind to `"true"` (none for strict),
    /// as kubeseal does.
    pub fn write_annotations(self, annotations: &mut BTreeMap<String, String>) {
        annotations.remove(NAMESPACE_WIDE_ANNOTATION);
        annotations.remove(CLUSTER_WIDE_ANNOTATION);
        let key = match self {
            ScopeKind::Strict => return,
            ScopeKind::NamespaceWide => NAMESPACE_WIDE_ANNOTATION,
            ScopeKind::ClusterWide => CLUSTER_WIDE_ANNOTATION,
        };
        annotations.insert(key.to_owned(), "true".to_owned());
    }

    /// The flag spelling: `strict`, `namespace-wide` or `cluster-wide`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Strict => "strict",
            ScopeKind::NamespaceWide => "namespace-wide",
            ScopeKind::ClusterWide => "cluster-wide",
        }
    }
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScopeKind {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(ScopeKind::Strict),
            "namespace-wide" => Ok(ScopeKind::NamespaceWide),
            "cluster-wide" => Ok(ScopeKind::ClusterWide),
            other => Err(ScopeError::UnknownKind(other.to_owned())),
        }
    }
}

/// Where a sealed value lives: the scope of its SealedSecret and its item name in
/// `spec.encryptedData`.
///
/// Native values are bound to both; Bitnami (hybrid) values only to the scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Binding {
    /// Scope of the SealedSecret (from [`Scope::from_annotations`] when unsealing).
    pub scope: Scope,
    /// Item name (key of `spec.encryptedData`).
    pub data_key: String,
}

impl Binding {
    /// A binding of `data_key` in `scope`.
    pub fn new(scope: Scope, data_key: impl Into<String>) -> Self {
        Self {
            scope,
            data_key: data_key.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn labels_match_sealed_secrets() {
        let strict = Scope::from_annotations("ns", "name", None);
        assert_eq!(strict.label(), "ns/name");
        let nw = annotations(&[(NAMESPACE_WIDE_ANNOTATION, "true")]);
        assert_eq!(
            Scope::from_annotations("ns", "name", Some(&nw)).label(),
            "ns"
        );
        let cw = annotations(&[(CLUSTER_WIDE_ANNOTATION, "true")]);
        assert_eq!(Scope::from_annotations("ns", "name", Some(&cw)).label(), "");
    }

    #[test]
    fn cluster_wide_wins_over_namespace_wide() {
        let both = annotations(&[
            (NAMESPACE_WIDE_ANNOTATION, "true"),
            (CLUSTER_WIDE_ANNOTATION, "true"),
        ]);
        assert_eq!(
            Scope::from_annotations("a", "b", Some(&both)),
            Scope::ClusterWide
        );
    }

    #[test]
    fn only_the_exact_value_true_selects_a_scope() {
        let wrong = annotations(&[
            (CLUSTER_WIDE_ANNOTATION, "True"),
            (NAMESPACE_WIDE_ANNOTATION, "yes"),
        ]);
        assert_eq!(ScopeKind::from_annotations(Some(&wrong)), ScopeKind::Strict);
    }

    #[test]
    fn writing_annotations_replaces_the_previous_scope() {
        let mut a = annotations(&[(CLUSTER_WIDE_ANNOTATION, "true"), ("other", "x")]);
        ScopeKind::NamespaceWide.write_annotations(&mut a);
        assert_eq!(
            a,
            annotations(&[(NAMESPACE_WIDE_ANNOTATION, "true"), ("other", "x")])
        );
        ScopeKind::Strict.write_annotations(&mut a);
        assert_eq!(a, annotations(&[("other", "x")]));
    }

    #[test]
    fn flag_values_parse_and_print() {
        for kind in [
            ScopeKind::Strict,
            ScopeKind::NamespaceWide,
            ScopeKind::ClusterWide,
        ] {
            assert_eq!(kind.to_string().parse::<ScopeKind>(), Ok(kind));
        }
        assert_eq!(
            "global".parse::<ScopeKind>(),
            Err(ScopeError::UnknownKind("global".into()))
        );
    }

    #[test]
    fn strict_scope_needs_namespace_and_name() {
        assert_eq!(
            Scope::new(ScopeKind::Strict, Some("ns"), None),
            Err(ScopeError::MissingName)
        );
        assert_eq!(
            Scope::new(ScopeKind::NamespaceWide, Some(""), None),
            Err(ScopeError::MissingNamespace(ScopeKind::NamespaceWide))
        );
        assert_eq!(
            Scope::new(ScopeKind::ClusterWide, None, None),
            Ok(Scope::ClusterWide)
        );
    }
}
