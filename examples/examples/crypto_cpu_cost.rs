//! CPU time (not wall time) per sealed value, from `/proc/thread-self/schedstat`, so the figures
//! hold on a loaded machine. Linux only. Complements `cargo bench -p sealkit-crypto`.
//!
//! `cargo run --release -p sealkit-examples --example crypto_cpu_cost`

use std::error::Error;

use sealkit_crypto::keys::{self, KeyGenOptions};
use sealkit_crypto::{AgeIdentity, Binding, KeyRing, PrivateKey, Scope, SealingTarget};

fn cpu_ns() -> Result<u64, Box<dyn Error>> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    Ok(text
        .split_whitespace()
        .next()
        .ok_or("empty schedstat")?
        .parse()?)
}

fn measure(label: &str, iterations: u32, mut f: impl FnMut()) -> Result<(), Box<dyn Error>> {
    f(); // warm up
    let start = cpu_ns()?;
    for _ in 0..iterations {
        f();
    }
    let per = (cpu_ns()? - start) as f64 / f64::from(iterations);
    println!("{label:<44} {:>10.1} µs CPU", per / 1000.0);
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let value = [7u8; 64];
    let binding = Binding::new(
        Scope::Strict {
            namespace: "team-a".into(),
            name: "db".into(),
        },
        "url",
    );
    let rsa: Vec<_> = (0..21)
        .map(|_| keys::generate(&KeyGenOptions::default()).map(|p| p.rsa().clone()))
        .collect::<Result<_, _>>()?;
    let age: Vec<_> = (0..21).map(|_| AgeIdentity::generate()).collect();
    let hybrid = SealingTarget::Hybrid(rsa[0].public_key().clone());
    let native = SealingTarget::Native(vec![age[0].recipient().clone()]);

    measure("seal hybrid (RSA-4096), 64 B", 500, || {
        drop(hybrid.seal(&binding, &value))
    })?;
    measure("seal native (1 recipient), 64 B", 500, || {
        drop(native.seal(&binding, &value))
    })?;
    let hybrid_hit = hybrid.seal(&binding, &value)?;
    let hybrid_miss = SealingTarget::Hybrid(rsa[20].public_key().clone()).seal(&binding, &value)?;
    let native_hit = native.seal(&binding, &value)?;
    let native_miss =
        SealingTarget::Native(vec![age[20].recipient().clone()]).seal(&binding, &value)?;
    for size in [1usize, 5, 20] {
        let hybrid_ring: KeyRing = rsa[..size].iter().cloned().map(PrivateKey::Rsa).collect();
        let native_ring: KeyRing = age[..size].iter().cloned().map(PrivateKey::Age).collect();
        let n = 200 / u32::try_from(size)?.max(1);
        measure(
            &format!("unseal hybrid, ring of {size:>2}, hit"),
            200,
            || drop(hybrid_ring.unseal(&hybrid_hit, &binding)),
        )?;
        measure(
            &format!("unseal hybrid, ring of {size:>2}, miss (all tried)"),
            n,
            || drop(hybrid_ring.unseal(&hybrid_miss, &binding)),
        )?;
        measure(
            &format!("unseal native, ring of {size:>2}, hit"),
            500,
            || drop(native_ring.unseal(&native_hit, &binding)),
        )?;
        measure(
            &format!("unseal native, ring of {size:>2}, miss (all tried)"),
            500 / u32::try_from(size)?,
            || drop(native_ring.unseal(&native_miss, &binding)),
        )?;
    }
    Ok(())
}
