# sealkit-controller image: static binary (x86_64-unknown-linux-musl), distroless, non-root,
# no shell. Also ships the `sealkit` CLI for `kubectl debug`-free recovery work:
#   docker build -t sealkit-controller .
#   docker run --rm sealkit-controller --help
#
# The static build this relies on is checked without Docker by
#   rustup target add x86_64-unknown-linux-musl && apt-get install musl-tools
#   cargo build --release --locked --target x86_64-unknown-linux-musl -p sealkit-controller -p sealkit-cli
# (see docs/install.md, "Container image"). aws-lc-sys compiles its C part with musl-gcc.

# ---- build -------------------------------------------------------------------------------
FROM docker.io/library/rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
# Fat LTO in one codegen unit: smaller code, and the code pages a process touches count in its
# resident memory (docs/sealed-secrets.md, "Measured"). Set here and in scripts/bench-sealed,
# not in Cargo.toml: with a [profile.release] there, the debug build's artifacts changed too and
# CI's target/ grew from 2.7 to 4.1 GB.
ENV CARGO_PROFILE_RELEASE_STRIP=true \
    CARGO_PROFILE_RELEASE_LTO=fat \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --target x86_64-unknown-linux-musl \
        -p sealkit-controller --bin sealkit-controller \
        -p sealkit-cli --bin sealkit \
 && mkdir /out \
 && cp target/x86_64-unknown-linux-musl/release/sealkit-controller target/x86_64-unknown-linux-musl/release/sealkit /out/ \
 # refuse to ship anything dynamically linked
 && ! (ldd /out/sealkit-controller 2>&1 | grep -q '=>')

# ---- runtime: no shell, no package manager, CA certificates, uid/gid 65532 ------------------
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sealkit-controller /out/sealkit /usr/local/bin/
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/sealkit-controller"]
