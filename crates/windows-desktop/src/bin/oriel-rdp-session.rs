//! The RDP session program for this crate's tests: the same entry point as
//! `oriel rdp-session`.

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ORIEL_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    std::process::ExitCode::from(oriel_windows_desktop::session::main())
}
