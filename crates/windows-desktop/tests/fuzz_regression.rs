//! The host's channel traffic (`oriel_windows_desktop::fuzzing`, the
//! `rdp_channels` fuzz target's entry point) on inputs kept in
//! `testdata/fuzz_regression/` (what once crashed or hung the fuzzer,
//! and seeds), and on well-formed RDPDR (from IronRDP's own server) and CLIPRDR
//! PDUs cut at every length: nothing panics.

use ironrdp_cliprdr::pdu::{ClipboardFormat, ClipboardFormatId, ClipboardPdu, FormatDataRequest, FormatList, OwnedFormatDataResponse};
use ironrdp_rdpdr::Rdpdr;
use ironrdp_rdpdr::pdu::efs::{CreateDisposition, CreateOptions, DesiredAccess};
use ironrdp_rdpdr::server::{NoopRdpdrServerBackend, RdpdrServer};
use ironrdp_svc::{SvcMessage, SvcProcessor as _};
use oriel_windows_desktop::drive::DriveBackend;
use oriel_windows_desktop::fuzzing::host_channel_bytes;

/// One record of `host_channel_bytes`' input.
fn record(channel: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = vec![channel];
    out.extend_from_slice(&(pdu.len() as u16).to_le_bytes());
    out.extend_from_slice(pdu);
    out
}

/// The PDU bytes of `messages`, one record each for `channel`.
fn records_of(channel: u8, messages: Vec<SvcMessage>) -> Vec<Vec<u8>> {
    messages.into_iter().map(|message| record(channel, &message.encode_unframed_pdu().unwrap())).collect()
}

/// What IronRDP's own RDPDR server says to a client with one drive, as
/// records: the handshake up to the drive's acceptance, then requests on
/// the drive (a hostile path among them). The client side is played by a
/// second IronRDP client with Oriel's backend, so the server's answers
/// follow the real exchange.
fn drive_conversation() -> Vec<Vec<u8>> {
    let mut server = RdpdrServer::new(Box::new(NoopRdpdrServerBackend));
    let mut client = Rdpdr::new(Box::new(DriveBackend::default()), "test".into()).with_drives(None);
    client.add_dynamic_drive(1, "share".into()).unwrap();
    let mut records = Vec::new();
    let mut to_client = server.start().unwrap();
    let mut logged_on = false;
    // The handshake: each side answers the other until nothing is left.
    for _ in 0..16 {
        let mut to_server = Vec::new();
        if to_client.is_empty() {
            if logged_on {
                break;
            }
            // A Windows host says the user logged on (IronRDP's server
            // does not): the client announces its drives then.
            logged_on = true;
            let logged_on_pdu = b"rDLU".to_vec();
            records.push(record(0, &logged_on_pdu));
            to_server.extend(client.process(&logged_on_pdu).unwrap_or_default());
        }
        for message in to_client {
            let bytes = message.encode_unframed_pdu().unwrap();
            records.push(record(0, &bytes));
            to_server.extend(client.process(&bytes).unwrap_or_default());
        }
        to_client = Vec::new();
        for message in to_server {
            to_client.extend(server.process(&message.encode_unframed_pdu().unwrap()).unwrap_or_default());
        }
    }
    let access = || DesiredAccess::GENERIC_READ | DesiredAccess::FILE_READ_ATTRIBUTES;
    let requests = [
        server.drive_create(1, "\\notes.txt", access(), CreateDisposition::FILE_OPEN, CreateOptions::empty()),
        server.drive_create(1, "\\..\\secret", access(), CreateDisposition::FILE_OPEN, CreateOptions::empty()),
        server.drive_create(1, "/dir/", access(), CreateDisposition::FILE_OPEN_IF, CreateOptions::FILE_DIRECTORY_FILE),
        server.drive_read(1, 1, 4 * 1024 * 1024, 0),
        server.drive_close(1, 1),
        server.drive_read(1, 99, 16, 0),
    ];
    for request in requests {
        records.extend(records_of(0, request.unwrap()));
    }
    records
}

fn encoded(pdu: &ClipboardPdu<'_>) -> Vec<u8> {
    ironrdp_core::encode_vec(pdu).unwrap()
}

/// A host's conversation on both channels, well formed.
fn conversation() -> Vec<Vec<u8>> {
    let text = [ClipboardFormat::new(ClipboardFormatId::CF_UNICODETEXT)];
    vec![
        record(1, &encoded(&ClipboardPdu::MonitorReady)),
        record(1, &encoded(&ClipboardPdu::FormatList(FormatList::new_unicode(&text, true).unwrap()))),
        record(1, &encoded(&ClipboardPdu::FormatDataResponse(OwnedFormatDataResponse::new_unicode_string("from the host")))),
        record(1, &encoded(&ClipboardPdu::FormatDataRequest(FormatDataRequest { format: ClipboardFormatId::CF_UNICODETEXT }))),
    ]
    .into_iter()
    .chain(drive_conversation())
    .collect()
}

#[test]
fn well_formed_channel_pdus_cut_at_every_length_do_not_panic() {
    let records = conversation();
    let reached = host_channel_bytes(&records.concat());
    println!("{reached:?}");
    assert!(reached.clipboard_notes >= 3, "the clipboard bridge heard the host: {reached:?}");
    assert!(reached.drive_notes >= 4 && reached.browser_requests >= 1, "the drive bridge heard the host and asked the browser: {reached:?}");
    for record in &records {
        for cut in 0..record.len() {
            let mut shortened = record[..cut].to_vec();
            // The record says its PDU is shorter: IronRDP sees a cut PDU.
            if cut >= 3 {
                shortened[1..3].copy_from_slice(&((cut - 3) as u16).to_le_bytes());
            }
            let _ = host_channel_bytes(&[records[..4].concat(), shortened].concat());
        }
    }
}

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fuzz_regression");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).expect("regression dir") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let _ = host_channel_bytes(&std::fs::read(&path).unwrap());
        replayed += 1;
    }
    assert!(replayed > 0, "the regression corpus must not be empty");
}
