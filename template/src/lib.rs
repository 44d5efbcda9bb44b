//! Go text/template rendering with a Sprig function subset.
#![forbid(unsafe_code)]
