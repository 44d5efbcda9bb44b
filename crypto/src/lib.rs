//! sealkit-crypto: sealing and unsealing of Kubernetes secret values.
#![forbid(unsafe_code)]
