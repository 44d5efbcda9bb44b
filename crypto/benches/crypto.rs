//! Per-value seal and unseal cost for both formats, and unseal cost with key rings of 1, 5 and 20
//! keys: "hit" = the value was sealed with the ring's current key (tried first), "miss" = no key
//! matches, so every key is tried (the cost of a foreign or tampered value).
//!
//! `cargo bench -p sealkit-crypto --bench crypto`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sealkit_crypto::keys::{self, KeyGenOptions};
use sealkit_crypto::{
    AgeIdentity, Binding, KeyRing, PrivateKey, RsaPrivateKey, Scope, SealingTarget,
};

const VALUE: &[u8; 64] = b"postgres://app:correct-horse-battery-staple@db.internal:5432/app";

fn binding() -> Binding {
    Binding::new(
        Scope::Strict {
            namespace: "team-a".into(),
            name: "db-credentials".into(),
        },
        "url",
    )
}

fn rsa_keys(count: usize) -> Vec<RsaPrivateKey> {
    (0..count)
        .map(|_| {
            keys::generate(&KeyGenOptions::default())
                .unwrap()
                .rsa()
                .clone()
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let rsa = rsa_keys(21); // 20 for the rings + 1 outsider
    let age: Vec<AgeIdentity> = (0..21).map(|_| AgeIdentity::generate()).collect();
    let binding = binding();

    let hybrid = SealingTarget::Hybrid(rsa[0].public_key().clone());
    let native = SealingTarget::Native(vec![age[0].recipient().clone()]);
    let native3 = SealingTarget::Native(age[..3].iter().map(|a| a.recipient().clone()).collect());

    let mut group = c.benchmark_group("seal");
    group.bench_function("hybrid RSA-4096, 64 B", |b| {
        b.iter(|| hybrid.seal(&binding, black_box(VALUE)).unwrap())
    });
    group.bench_function("native 1 recipient, 64 B", |b| {
        b.iter(|| native.seal(&binding, black_box(VALUE)).unwrap())
    });
    group.bench_function("native 3 recipients, 64 B", |b| {
        b.iter(|| native3.seal(&binding, black_box(VALUE)).unwrap())
    });
    group.finish();

    let hybrid_hit = hybrid.seal(&binding, VALUE).unwrap();
    let hybrid_miss = SealingTarget::Hybrid(rsa[20].public_key().clone())
        .seal(&binding, VALUE)
        .unwrap();
    let native_hit = native.seal(&binding, VALUE).unwrap();
    let native_miss = SealingTarget::Native(vec![age[20].recipient().clone()])
        .seal(&binding, VALUE)
        .unwrap();

    let mut group = c.benchmark_group("unseal");
    for size in [1usize, 5, 20] {
        let hybrid_ring: KeyRing = rsa[..size].iter().cloned().map(PrivateKey::Rsa).collect();
        let native_ring: KeyRing = age[..size].iter().cloned().map(PrivateKey::Age).collect();
        group.bench_with_input(BenchmarkId::new("hybrid hit", size), &size, |b, _| {
            b.iter(|| {
                hybrid_ring
                    .unseal(black_box(&hybrid_hit), &binding)
                    .unwrap()
            })
        });
        group.bench_with_input(BenchmarkId::new("hybrid miss", size), &size, |b, _| {
            b.iter(|| {
                hybrid_ring
                    .unseal(black_box(&hybrid_miss), &binding)
                    .unwrap_err()
            })
        });
        group.bench_with_input(BenchmarkId::new("native hit", size), &size, |b, _| {
            b.iter(|| {
                native_ring
                    .unseal(black_box(&native_hit), &binding)
                    .unwrap()
            })
        });
        group.bench_with_input(BenchmarkId::new("native miss", size), &size, |b, _| {
            b.iter(|| {
                native_ring
                    .unseal(black_box(&native_miss), &binding)
                    .unwrap_err()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = crypto;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(crypto);
