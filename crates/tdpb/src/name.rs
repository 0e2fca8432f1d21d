//! Each message's name, as the schema spells it, for logs and errors.

use crate::Payload;

impl Payload {
    /// The message's name in `proto/tdpb.proto` (`"ClientHello"`…).
    pub fn name(&self) -> &'static str {
        match self {
            Payload::ClientHello(_) => "ClientHello",
            Payload::ServerHello(_) => "ServerHello",
            Payload::SyncKeys(_) => "SyncKeys",
            Payload::MouseMove(_) => "MouseMove",
            Payload::MouseButton(_) => "MouseButton",
            Payload::KeyboardButton(_) => "KeyboardButton",
            Payload::ClientScreenSpec(_) => "ClientScreenSpec",
            Payload::Alert(_) => "Alert",
            Payload::MouseWheel(_) => "MouseWheel",
            Payload::LatencyStats(_) => "LatencyStats",
            Payload::Ping(_) => "Ping",
            Payload::SessionSelection(_) => "SessionSelection",
            Payload::FrameRect(_) => "FrameRect",
            Payload::FrameAck(_) => "FrameAck",
            Payload::CursorImage(_) => "CursorImage",
            Payload::KeyboardText(_) => "KeyboardText",
            Payload::EndSession(_) => "EndSession",
            Payload::KeyframeRequest(_) => "KeyframeRequest",
            Payload::LinkEstimate(_) => "LinkEstimate",
            Payload::SessionParticipants(_) => "SessionParticipants",
            Payload::RemoveParticipant(_) => "RemoveParticipant",
            Payload::InviteParticipant(_) => "InviteParticipant",
            Payload::ClipboardData(_) => "ClipboardData",
            Payload::Mfa(_) => "Mfa",
            Payload::SharedDirectoryAnnounce(_) => "SharedDirectoryAnnounce",
            Payload::SharedDirectoryAcknowledge(_) => "SharedDirectoryAcknowledge",
            Payload::SharedDirectoryRequest(_) => "SharedDirectoryRequest",
            Payload::SharedDirectoryResponse(_) => "SharedDirectoryResponse",
            Payload::SharedDirectoryRemove(_) => "SharedDirectoryRemove",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pb;

    #[test]
    fn names_follow_the_schema() {
        assert_eq!(
            crate::Payload::EndSession(pb::EndSession {}).name(),
            "EndSession"
        );
        assert_eq!(
            crate::Payload::FrameAck(pb::FrameAck { frame_id: 1 }).name(),
            "FrameAck"
        );
    }
}
