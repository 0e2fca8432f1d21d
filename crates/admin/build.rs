// The schema lives in /proto with TDPB's. Outcomes can hold secrets (invite
// links, join tokens), so their Debug is written by hand.
fn main() {
    let proto = "../../proto/admin.proto";
    println!("cargo:rerun-if-changed={proto}");
    tonic_prost_build::configure()
        .skip_debug(["oriel.admin.v1.Outcome"])
        .compile_protos(&[proto], &["../../proto"])
        .expect("compile proto/admin.proto (is protoc installed? apt-get install protobuf-compiler)");
}
