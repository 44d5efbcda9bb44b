//! [`KeyRing`]: all private keys of a controller (or of a recovery), unsealing either format.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::keys::{AgeIdentity, Fingerprint, KeyPair, PrivateKey, RsaPrivateKey};
use crate::{Binding, Diagnosis, Format, Scope, SecretBytes, UnsealError, hybrid, native};

/// A value unsealed by a [`KeyRing`].
#[derive(Debug)]
pub struct Unsealed {
    /// The plaintext.
    pub value: SecretBytes,
    /// Fingerprint of the key that opened it.
    pub key: Fingerprint,
    /// The format of the sealed value.
    pub format: Format,
}

/// Private keys, tried most likely first.
///
/// Keys are tried in the order they were added (add the newest first), except that the key that
/// last succeeded for a format is tried first: values sealed with the current key cost one RSA
/// operation instead of one per key. The ring is `Sync`; share it behind an `Arc`.
#[derive(Default)]
pub struct KeyRing {
    rsa: Vec<RsaPrivateKey>,
    age: Vec<AgeIdentity>,
    last_rsa: AtomicUsize,
    last_age: AtomicUsize,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key (ignored if a key with the same fingerprint is already there).
    pub fn add(&mut self, key: PrivateKey) {
        if self.contains(&key.fingerprint()) {
            return;
        }
        match key {
            PrivateKey::Rsa(key) => self.rsa.push(key),
            PrivateKey::Age(key) => self.age.push(key),
        }
    }

    /// Adds the keys of a controller key pair.
    pub fn add_key_pair(&mut self, pair: &KeyPair) {
        for key in pair.private_keys() {
            self.add(key);
        }
    }

    /// Whether a key with this fingerprint is in the ring.
    pub fn contains(&self, fingerprint: &Fingerprint) -> bool {
        self.fingerprints().any(|f| &f == fingerprint)
    }

    /// Fingerprints of all keys (age keys first, then RSA, each in insertion order).
    pub fn fingerprints(&self) -> impl Iterator<Item = Fingerprint> + '_ {
        self.age
            .iter()
            .map(AgeIdentity::fingerprint)
            .chain(self.rsa.iter().map(RsaPrivateKey::fingerprint))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.rsa.len() + self.age.len()
    }

    /// Whether the ring has no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the key with this fingerprint; returns whether there was one.
    pub fn remove(&mut self, fingerprint: &Fingerprint) -> bool {
        let before = self.len();
        self.rsa.retain(|k| &k.fingerprint() != fingerprint);
        self.age.retain(|k| &k.fingerprint() != fingerprint);
        self.last_rsa.store(0, Ordering::Relaxed);
        self.last_age.store(0, Ordering::Relaxed);
        before != self.len()
    }

    /// Like [`KeyRing::unseal`], but when a hybrid value opens with no key, also tries the other
    /// scopes of the SealedSecret at `namespace`/`name` (strict, namespace-wide, cluster-wide). If
    /// one opens it, the diagnosis is [`Diagnosis::ScopeMismatch`] (e.g. sealed cluster-wide but the
    /// SealedSecret lacks the annotation) instead of [`Diagnosis::NoKeyMatched`]. The error and its
    /// message are unchanged, and the value is never returned under the wrong scope.
    ///
    /// Costs up to two extra RSA operations per key on failure: use it to word status messages, not
    /// in hot loops.
    pub fn unseal_explained(
        &self,
        blob: &[u8],
        binding: &Binding,
        namespace: &str,
        name: &str,
    ) -> Result<Unsealed, UnsealError> {
        let err = match self.unseal(blob, binding) {
            Ok(unsealed) => return Ok(unsealed),
            Err(err) => err,
        };
        let (
            Diagnosis::NoKeyMatched {
                format: Format::Hybrid,
                ..
            },
            Some(parts),
        ) = (err.diagnosis(), hybrid::split(blob))
        else {
            return Err(err);
        };
        let candidates = [
            Scope::Strict {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
            Scope::NamespaceWide {
                namespace: namespace.to_owned(),
            },
            Scope::ClusterWide,
        ];
        for candidate in candidates.into_iter().filter(|c| c != &binding.scope) {
            let label = candidate.label();
            if self
                .rsa
                .iter()
                .any(|key| hybrid::open(key, label.as_bytes(), parts).is_some())
            {
                return Err(UnsealError::new(Diagnosis::ScopeMismatch {
                    sealed: candidate,
                    found: binding.scope.clone(),
                }));
            }
        }
        Err(err)
    }

    /// Unseals a value (either format, recognised from its bytes) found at `binding`.
    pub fn unseal(&self, blob: &[u8], binding: &Binding) -> Result<Unsealed, UnsealError> {
        match Format::detect(blob) {
            Some(Format::Native) => {
                let order = preferred_order(self.age.len(), &self.last_age);
                let (value, index) = native::unseal_in_order(&self.age, &order, binding, blob)?;
                self.last_age.store(index, Ordering::Relaxed);
                Ok(Unsealed {
                    value,
                    key: self.age[index].fingerprint(),
                    format: Format::Native,
                })
            }
            Some(Format::Hybrid) => {
                let parts = hybrid::split(blob).ok_or(UnsealError::new(Diagnosis::Malformed {
                    format: Format::Hybrid,
                }))?;
                let label = binding.scope.label();
                for index in preferred_order(self.rsa.len(), &self.last_rsa) {
                    let key = &self.rsa[index];
                    if let Some(value) = hybrid::open(key, label.as_bytes(), parts) {
                        self.last_rsa.store(index, Ordering::Relaxed);
                        return Ok(Unsealed {
                            value,
                            key: key.fingerprint(),
                            format: Format::Hybrid,
                        });
                    }
                }
                Err(UnsealError::new(Diagnosis::NoKeyMatched {
                    format: Format::Hybrid,
                    keys_tried: self.rsa.len(),
                }))
            }
            None => Err(UnsealError::new(Diagnosis::UnknownFormat)),
        }
    }
}

/// `0..len` with `last` moved to the front.
fn preferred_order(len: usize, last: &AtomicUsize) -> Vec<usize> {
    let first = last.load(Ordering::Relaxed);
    let mut order = Vec::with_capacity(len);
    if first < len {
        order.push(first);
    }
    order.extend((0..len).filter(|&i| i != first));
    order
}

impl FromIterator<PrivateKey> for KeyRing {
    fn from_iter<I: IntoIterator<Item = PrivateKey>>(iter: I) -> Self {
        let mut ring = KeyRing::new();
        ring.extend(iter);
        ring
    }
}

impl Extend<PrivateKey> for KeyRing {
    fn extend<I: IntoIterator<Item = PrivateKey>>(&mut self, iter: I) {
        for key in iter {
            self.add(key);
        }
    }
}

impl Clone for KeyRing {
    fn clone(&self) -> Self {
        Self {
            rsa: self.rsa.clone(),
            age: self.age.clone(),
            last_rsa: AtomicUsize::new(self.last_rsa.load(Ordering::Relaxed)),
            last_age: AtomicUsize::new(self.last_age.load(Ordering::Relaxed)),
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.fingerprints()).finish()
    }
}
