//! sealkit-controller library: the reconcilers, key registry and HTTP server.
#![forbid(unsafe_code)]
