// The schema lives in /proto so the web client reads the very same file.
fn main() {
    let proto = "../../proto/tdpb.proto";
    println!("cargo:rerun-if-changed={proto}");
    prost_build::Config::new()
        .compile_protos(&[proto], &["../../proto"])
        .expect(
            "compile proto/tdpb.proto (is protoc installed? apt-get install protobuf-compiler)",
        );
}
