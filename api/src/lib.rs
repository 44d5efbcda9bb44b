//! Types of the custom resources sealkit reads and writes.
#![forbid(unsafe_code)]
