// The session process protocol's schema lives in /proto with the others.
fn main() {
    let proto = "../../proto/session.proto";
    println!("cargo:rerun-if-changed={proto}");
    prost_build::Config::new()
        .compile_protos(&[proto], &["../../proto"])
        .expect("compile proto/session.proto (is protoc installed? apt-get install protobuf-compiler)");
}
