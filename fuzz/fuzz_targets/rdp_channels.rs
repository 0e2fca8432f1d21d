//! Arbitrary bytes as a hostile RDP host's drive (RDPDR) and clipboard
//! (CLIPRDR) channel traffic, through IronRDP's processors into Oriel's
//! drive and clipboard bridges, with a browser that answers (see
//! `oriel_windows_desktop::fuzzing`). Crashes go to
//! `crates/windows-desktop/testdata/fuzz_regression/`, which
//! `cargo test -p oriel-windows-desktop --test fuzz_regression` replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oriel_windows_desktop::fuzzing::host_channel_bytes(data);
});
