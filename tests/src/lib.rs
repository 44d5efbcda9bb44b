//! Shared support for sealkit end-to-end tests.
#![forbid(unsafe_code)]
