//! The session program for tests and benchmarks of this crate, which run
//! the desktop service inside their own executables: the same entry point
//! as `oriel session`.

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ORIEL_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    oriel_linux_desktop::session_process::root::main()
}
