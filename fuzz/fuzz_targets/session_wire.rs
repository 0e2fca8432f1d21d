//! Arbitrary bytes as the session process's control stream (a daemon or a
//! session process that misbehaves): the length-prefixed framing and each
//! message kind it carries (`Launch`, `Event`, `Command`). Nothing may panic or allocate past the 1 MiB cap.
#![no_main]

use oriel_linux_desktop::session_process::pb;
use oriel_linux_desktop::session_process::wire::{MessageReader, read_blocking};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Whole, as a blocking reader sees it.
    let _ = read_blocking::<pb::Launch>(&mut &data[..]);
    let _ = read_blocking::<pb::Event>(&mut &data[..]);
    let _ = read_blocking::<pb::Command>(&mut &data[..]);
    // Cut into pieces, as a socket delivers it.
    let mut reader = MessageReader::default();
    for chunk in data.chunks(7) {
        reader.push(chunk);
        while let Ok(Some(_)) = reader.next_message::<pb::Event>() {}
    }
    // The daemon's commands, as the session process reads them.
    let mut commands = MessageReader::default();
    for chunk in data.chunks(5) {
        commands.push(chunk);
        while let Ok(Some(_)) = commands.next_message::<pb::Command>() {}
    }
    // A root channel packet is one protobuf body after a version byte.
    if let Some(body) = data.get(1..) {
        let _ = <pb::RootRequest as prost::Message>::decode(body);
        let _ = <pb::RootReply as prost::Message>::decode(body);
    }
});
