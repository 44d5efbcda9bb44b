//! The committed CRD YAML under `deploy/crds/` must be exactly what the Rust types generate.

use std::path::Path;

#[test]
fn committed_crd_yaml_matches_the_rust_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    for (file, crd) in sealkit_api::crds() {
        let generated = sealkit_api::crd_yaml(&crd).expect("render crd");
        let committed = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| {
            panic!("deploy/crds/{file} missing ({e}); run `cargo run -p sealkit-api --bin crdgen`")
        });
        assert!(
            committed == generated,
            "deploy/crds/{file} differs from the Rust types; run `cargo run -p sealkit-api --bin crdgen`"
        );
    }
}

#[test]
fn sealed_secret_crd_keeps_upstream_shape() {
    let (_, crd) = sealkit_api::crds()
        .into_iter()
        .find(|(f, _)| f.starts_with("bitnami.com"))
        .unwrap();
    let v = serde_json::to_value(&crd).unwrap();
    assert_eq!(v["spec"]["group"], "bitnami.com");
    assert_eq!(v["spec"]["scope"], "Namespaced");
    assert_eq!(v["spec"]["names"]["kind"], "SealedSecret");
    let ver = &v["spec"]["versions"][0];
    assert_eq!(ver["name"], "v1alpha1");
    assert_eq!(ver["subresources"]["status"], serde_json::json!({}));
    let cols: Vec<&str> = ver["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Status", "Synced", "Age"]);
    let spec = &ver["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(
        spec["properties"]["encryptedData"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert_eq!(
        spec["properties"]["template"]["properties"]["metadata"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert_eq!(
        spec["properties"]["template"]["properties"]["metadata"]["nullable"],
        true
    );
}
