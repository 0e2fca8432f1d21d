// The session process protocol's schema lives in /proto with the others.
// RdpHost holds a password, so its Debug is written by hand.
fn main() {
    let proto = "../../proto/session.proto";
    println!("cargo:rerun-if-changed={proto}");
    prost_build::Config::new()
        .skip_debug(["oriel.session.v1.RdpHost"])
        .compile_protos(&[proto], &["../../proto"])
        .expect("compile proto/session.proto (is protoc installed? apt-get install protobuf-compiler)");
}
