//! Caps on what a host may make this process gather before a message is
//! whole. IronRDP gathers a static channel message's chunks up to the
//! length its first chunk declares, and a dynamic channel message's
//! fragments up to the length its DataFirst PDU declares; without a cap a
//! host could make the session process hold gigabytes. The clipboard's
//! 1 MiB of text, a drive's 1 MiB pieces and display control's few bytes
//! fit many times over.

/// The longest message a host may declare on a static channel or on a
/// dynamic channel.
pub(crate) const MAX_CHANNEL_MESSAGE: u32 = 8 * 1024 * 1024;

/// The channel PDU header's flag for a message's first chunk (MS-RDPBCGR
/// 2.2.6.1.1).
const CHANNEL_FLAG_FIRST: u32 = 0x1;
/// DVC commands that start a fragmented message (MS-RDPEDYC 2.2.3.1 and
/// 2.2.3.3: DataFirst, DataFirstCompressed).
const DATA_FIRST: u8 = 0x2;
const DATA_FIRST_COMPRESSED: u8 = 0x6;

/// The total length a static channel PDU (`user_data`: its header, then
/// its chunk) declares.
pub(crate) fn declared_static(user_data: &[u8]) -> Option<u32> {
    let header = user_data.get(..4)?;
    Some(u32::from_le_bytes([header[0], header[1], header[2], header[3]]))
}

/// The total length a dynamic channel message declares, when the static
/// channel PDU `user_data` (drdynvc's: its 8-byte header, then the DVC
/// PDU) is a first chunk holding a DataFirst PDU.
pub(crate) fn declared_dynamic(user_data: &[u8]) -> Option<u32> {
    let flags = user_data.get(4..8)?;
    if u32::from_le_bytes([flags[0], flags[1], flags[2], flags[3]]) & CHANNEL_FLAG_FIRST == 0 {
        return None;
    }
    let pdu = user_data.get(8..)?;
    let header = *pdu.first()?;
    let command = header >> 4;
    if command != DATA_FIRST && command != DATA_FIRST_COMPRESSED {
        return None;
    }
    // cbId (bits 0-1) sizes the channel id, Sp (bits 2-3) the length: 1, 2 or 4 bytes.
    let size = |code: u8| match code & 0b11 {
        0 => Some(1),
        1 => Some(2),
        2 => Some(4),
        _ => None,
    };
    let at = 1 + size(header)?;
    let length = pdu.get(at..at + size(header >> 2)?)?;
    Some(length.iter().rev().fold(0u32, |value, &byte| (value << 8) | u32::from(byte)))
}

/// Why the chunk is refused: its declared length is over the cap.
pub(crate) fn refusal(kind: &str, length: u32) -> Option<String> {
    (length > MAX_CHANNEL_MESSAGE).then(|| {
        format!("the host announced a {kind} channel message of {length} bytes, more than the {} MiB this client takes", MAX_CHANNEL_MESSAGE / (1024 * 1024))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A drdynvc chunk: the channel PDU header, then `pdu`.
    fn chunk(flags: u32, pdu: &[u8]) -> Vec<u8> {
        let mut data = (pdu.len() as u32).to_le_bytes().to_vec();
        data.extend_from_slice(&flags.to_le_bytes());
        data.extend_from_slice(pdu);
        data
    }

    #[test]
    fn a_data_first_pdu_declares_its_message_length_in_the_size_sp_gives() {
        // DataFirst, 1-byte channel id 3, 4-byte length.
        assert_eq!(declared_dynamic(&chunk(0x3, &[0x28, 3, 0x00, 0x00, 0x00, 0x40, 9])), Some(0x4000_0000));
        // 2-byte channel id, 2-byte length.
        assert_eq!(declared_dynamic(&chunk(0x1, &[0x25, 3, 0, 0x34, 0x12])), Some(0x1234));
        // DataFirstCompressed, 4-byte id, 1-byte length.
        assert_eq!(declared_dynamic(&chunk(0x1, &[0x62, 1, 0, 0, 0, 200])), Some(200));
        // Data (not first), a chunk that is not a message's first, a cut PDU.
        assert_eq!(declared_dynamic(&chunk(0x1, &[0x30, 3, 1, 2])), None);
        assert_eq!(declared_dynamic(&chunk(0x2, &[0x28, 3, 0, 0, 0, 0x40])), None);
        assert_eq!(declared_dynamic(&chunk(0x1, &[0x28, 3, 0, 0])), None);
        assert_eq!(declared_dynamic(&[1, 2]), None);
    }

    #[test]
    fn lengths_over_the_cap_are_refused() {
        assert_eq!(declared_static(&[0, 0, 0x80, 0, 3, 0, 0, 0]), Some(0x80_0000));
        assert_eq!(refusal("static", MAX_CHANNEL_MESSAGE), None);
        let refused = refusal("dynamic", MAX_CHANNEL_MESSAGE + 1).unwrap();
        assert!(refused.contains("dynamic channel message of 8388609 bytes, more than the 8 MiB"), "{refused}");
    }
}
