// The schema lives in /proto with TDPB's and the admin API's. Join
// requests and host credentials hold secrets, so their Debug is by hand.
fn main() {
    let proto = "../../proto/cluster.proto";
    println!("cargo:rerun-if-changed={proto}");
    tonic_prost_build::configure()
        .skip_debug(["oriel.cluster.v1.JoinRequest", "oriel.cluster.v1.HostCredentials", "oriel.cluster.v1.SessionQuery"])
        .compile_protos(&[proto], &["../../proto"])
        .expect("compile proto/cluster.proto (is protoc installed? apt-get install protobuf-compiler)");
}
