//! Size limits on every field a peer controls, checked after protobuf decoding.

use crate::Payload;
use crate::pb;

/// The largest screen side X can be asked for (Xvfb starts at 8192x8192).
pub const MAX_SCREEN_SIDE: u32 = 8192;
/// Longest username, xsession name or keyboard layout name, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Most xsessions a ServerHello may list.
pub const MAX_XSESSIONS: usize = 256;
/// Most participants (and invitations) a SessionParticipants may list.
pub const MAX_PARTICIPANTS: usize = 64;
/// Most codecs a ClientHello may list.
pub const MAX_CODECS: usize = 16;
/// Longest alert message, in bytes.
pub const MAX_ALERT_LEN: usize = 4096;
/// Longest ping id, in bytes (Teleport sends 16).
pub const MAX_PING_ID_LEN: usize = 64;
/// Largest cursor side, in pixels.
pub const MAX_CURSOR_SIDE: u32 = 256;
/// Largest display scale, in percent.
pub const MAX_SCALE_PERCENT: u32 = 1000;
/// Longest text to type in one `KeyboardText`, in bytes of UTF-8: what an
/// input method commits at once. Large text goes through the clipboard.
pub const MAX_KEYBOARD_TEXT_LEN: usize = 1024;
/// Longest per-session MFA challenge or answer (JSON), in bytes: an
/// assertion with a large user handle and extensions stays far below.
pub const MAX_MFA_JSON_LEN: usize = 64 << 10;
/// Longest MFA type name, in bytes.
pub const MAX_MFA_TYPE_LEN: usize = 32;
/// Largest clipboard text, in bytes of UTF-8 (Teleport's 1 MiB).
pub const MAX_CLIPBOARD_LEN: usize = 1 << 20;

/// Longest path in a shared-directory message, in bytes (Teleport's limit).
pub const MAX_SHARED_PATH_LEN: usize = 10240;
/// Most bytes one shared-directory read or write carries (1 MiB). A request
/// frame with a full chunk and the longest path stays far below
/// [`Limits::FROM_CLIENT`], so both directions fit.
pub const MAX_SHARED_CHUNK: usize = 1 << 20;
/// Most entries one shared-directory listing may hold.
pub const MAX_SHARED_LIST_ENTRIES: usize = 100_000;

/// Limits a receiver applies; the frame limit differs by direction (a
/// browser never needs to send a 16 MiB frame, a desktop service may).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest envelope accepted, in bytes.
    pub max_frame_len: usize,
}

impl Limits {
    /// What a server accepts from a browser: input events, hellos, and
    /// clipboard data or a shared-directory read of up to 1 MiB, with room
    /// for data just over the limit to reach the field check and be refused
    /// by name.
    pub const FROM_CLIENT: Limits = Limits {
        max_frame_len: 2 << 20,
    };
    /// What a browser or proxy accepts from a desktop service.
    pub const FROM_SERVER: Limits = Limits {
        max_frame_len: crate::MAX_FRAME_LEN,
    };
}

/// A field outside its limit. The message names the field so a log line
/// tells a developer what the peer got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} out of range: {detail}")]
pub struct LimitError {
    /// Message and field, e.g. `ClientScreenSpec.width`.
    pub field: &'static str,
    /// What was wrong.
    pub detail: String,
}

fn ensure(
    ok: bool,
    field: &'static str,
    detail: impl FnOnce() -> String,
) -> Result<(), LimitError> {
    if ok {
        Ok(())
    } else {
        Err(LimitError {
            field,
            detail: detail(),
        })
    }
}

fn name(value: &str, field: &'static str) -> Result<(), LimitError> {
    ensure(value.len() <= MAX_NAME_LEN, field, || {
        format!("{} bytes, at most {MAX_NAME_LEN}", value.len())
    })
}

fn side(value: u32, field: &'static str) -> Result<(), LimitError> {
    ensure((1..=MAX_SCREEN_SIDE).contains(&value), field, || {
        format!("{value}, expected 1..={MAX_SCREEN_SIDE}")
    })
}

fn screen_spec(spec: &pb::ClientScreenSpec) -> Result<(), LimitError> {
    side(spec.width, "ClientScreenSpec.width")?;
    side(spec.height, "ClientScreenSpec.height")?;
    ensure(
        spec.scale <= MAX_SCALE_PERCENT,
        "ClientScreenSpec.scale",
        || format!("{}%, at most {MAX_SCALE_PERCENT}%", spec.scale),
    )
}

fn shared_path(value: &str, field: &'static str) -> Result<(), LimitError> {
    ensure(value.len() <= MAX_SHARED_PATH_LEN, field, || {
        format!("{} bytes, at most {MAX_SHARED_PATH_LEN}", value.len())
    })
}

fn shared_chunk(len: usize, field: &'static str) -> Result<(), LimitError> {
    ensure(len <= MAX_SHARED_CHUNK, field, || {
        format!("{len} bytes, at most {MAX_SHARED_CHUNK} (1 MiB)")
    })
}

fn file_system_object(
    fso: Option<&pb::FileSystemObject>,
    field: &'static str,
) -> Result<(), LimitError> {
    fso.map_or(Ok(()), |fso| shared_path(&fso.path, field))
}

fn shared_request(request: &pb::SharedDirectoryRequest) -> Result<(), LimitError> {
    use pb::shared_directory_request::Operation;
    match &request.operation {
        None => Ok(()),
        Some(Operation::Info(op)) => shared_path(&op.path, "SharedDirectoryRequest.info.path"),
        Some(Operation::Create(op)) => shared_path(&op.path, "SharedDirectoryRequest.create.path"),
        Some(Operation::Delete(op)) => shared_path(&op.path, "SharedDirectoryRequest.delete.path"),
        Some(Operation::List(op)) => shared_path(&op.path, "SharedDirectoryRequest.list.path"),
        Some(Operation::Read(op)) => {
            shared_path(&op.path, "SharedDirectoryRequest.read.path")?;
            shared_chunk(op.length as usize, "SharedDirectoryRequest.read.length")
        }
        Some(Operation::Write(op)) => {
            shared_path(&op.path, "SharedDirectoryRequest.write.path")?;
            shared_chunk(op.data.len(), "SharedDirectoryRequest.write.data")
        }
        Some(Operation::Move(op)) => {
            shared_path(
                &op.original_path,
                "SharedDirectoryRequest.move.original_path",
            )?;
            shared_path(&op.new_path, "SharedDirectoryRequest.move.new_path")
        }
        Some(Operation::Truncate(op)) => {
            shared_path(&op.path, "SharedDirectoryRequest.truncate.path")
        }
    }
}

fn shared_response(response: &pb::SharedDirectoryResponse) -> Result<(), LimitError> {
    use pb::shared_directory_response::Result as R;
    match &response.result {
        Some(R::Info(info)) => {
            file_system_object(info.fso.as_ref(), "SharedDirectoryResponse.info.fso.path")
        }
        Some(R::Create(create)) => file_system_object(
            create.fso.as_ref(),
            "SharedDirectoryResponse.create.fso.path",
        ),
        Some(R::List(list)) => {
            ensure(
                list.fso_list.len() <= MAX_SHARED_LIST_ENTRIES,
                "SharedDirectoryResponse.list.fso_list",
                || {
                    format!(
                        "{} entries, at most {MAX_SHARED_LIST_ENTRIES}",
                        list.fso_list.len()
                    )
                },
            )?;
            list.fso_list.iter().try_for_each(|fso| {
                shared_path(&fso.path, "SharedDirectoryResponse.list.fso_list.path")
            })
        }
        Some(R::Read(read)) => shared_chunk(read.data.len(), "SharedDirectoryResponse.read.data"),
        None | Some(R::Delete(_) | R::Write(_) | R::Move(_) | R::Truncate(_)) => Ok(()),
    }
}

/// Checks every size a peer controls in `payload`.
pub fn check(payload: &Payload) -> Result<(), LimitError> {
    match payload {
        Payload::ClientHello(hello) => {
            name(&hello.username, "ClientHello.username")?;
            name(
                &hello.keyboard_layout_name,
                "ClientHello.keyboard_layout_name",
            )?;
            ensure(
                hello.codecs.len() <= MAX_CODECS,
                "ClientHello.codecs",
                || format!("{} entries, at most {MAX_CODECS}", hello.codecs.len()),
            )?;
            if let Some(monitor) = &hello.monitor {
                side(monitor.width, "ClientHello.monitor.width")?;
                side(monitor.height, "ClientHello.monitor.height")?;
            }
            match &hello.screen_spec {
                Some(spec) => screen_spec(spec),
                None => Err(LimitError {
                    field: "ClientHello.screen_spec",
                    detail: "missing".into(),
                }),
            }
        }
        Payload::ServerHello(hello) => {
            side(hello.width, "ServerHello.width")?;
            side(hello.height, "ServerHello.height")?;
            // 0: a server that does not say (before max_width existed).
            ensure(
                hello.max_width <= MAX_SCREEN_SIDE && hello.max_height <= MAX_SCREEN_SIDE,
                "ServerHello.max_width",
                || {
                    format!(
                        "{}x{}, at most {MAX_SCREEN_SIDE} a side",
                        hello.max_width, hello.max_height
                    )
                },
            )?;
            ensure(
                hello.xsessions.len() <= MAX_XSESSIONS,
                "ServerHello.xsessions",
                || format!("{} entries, at most {MAX_XSESSIONS}", hello.xsessions.len()),
            )?;
            name(&hello.session_id, "ServerHello.session_id")?;
            name(&hello.resumed_xsession, "ServerHello.resumed_xsession")?;
            hello
                .xsessions
                .iter()
                .try_for_each(|x| name(&x.name, "XSession.name"))
        }
        Payload::SessionSelection(selection) => {
            name(&selection.xsession, "SessionSelection.xsession")
        }
        Payload::ClientScreenSpec(spec) => screen_spec(spec),
        Payload::MouseMove(m) => ensure(
            m.x < MAX_SCREEN_SIDE && m.y < MAX_SCREEN_SIDE,
            "MouseMove",
            || format!("({}, {})", m.x, m.y),
        ),
        Payload::Alert(alert) => ensure(
            alert.message.len() <= MAX_ALERT_LEN,
            "Alert.message",
            || format!("{} bytes, at most {MAX_ALERT_LEN}", alert.message.len()),
        ),
        Payload::ClipboardData(clipboard) => ensure(
            clipboard.data.len() <= MAX_CLIPBOARD_LEN,
            "ClipboardData.data",
            || {
                format!(
                    "{} bytes, at most {MAX_CLIPBOARD_LEN} (1 MiB)",
                    clipboard.data.len()
                )
            },
        ),
        Payload::Mfa(mfa) => {
            ensure(mfa.r#type.len() <= MAX_MFA_TYPE_LEN, "Mfa.type", || {
                format!("{} bytes, at most {MAX_MFA_TYPE_LEN}", mfa.r#type.len())
            })?;
            ensure(mfa.json.len() <= MAX_MFA_JSON_LEN, "Mfa.json", || {
                format!(
                    "{} bytes, at most {MAX_MFA_JSON_LEN} (64 KiB)",
                    mfa.json.len()
                )
            })
        }
        Payload::KeyboardText(text) => ensure(
            text.text.len() <= MAX_KEYBOARD_TEXT_LEN,
            "KeyboardText.text",
            || format!("{} bytes, at most {MAX_KEYBOARD_TEXT_LEN}", text.text.len()),
        ),
        Payload::Ping(ping) => ensure(ping.id.len() <= MAX_PING_ID_LEN, "Ping.id", || {
            format!("{} bytes, at most {MAX_PING_ID_LEN}", ping.id.len())
        }),
        Payload::FrameRect(rect) if rect.codec == pb::Codec::QoizSession as i32 => {
            // A whole frame's operations, each placed by the codec itself.
            ensure(
                rect.x == 0 && rect.y == 0 && rect.width == 0 && rect.height == 0,
                "FrameRect",
                || "a CODEC_QOIZ_SESSION message has no position or size of its own".into(),
            )
        }
        Payload::FrameRect(rect) => {
            side(rect.width, "FrameRect.width")?;
            side(rect.height, "FrameRect.height")?;
            let fits = rect.x as u64 + rect.width as u64 <= MAX_SCREEN_SIDE as u64
                && rect.y as u64 + rect.height as u64 <= MAX_SCREEN_SIDE as u64;
            ensure(fits, "FrameRect", || {
                format!(
                    "{}x{} at ({}, {}) leaves the screen",
                    rect.width, rect.height, rect.x, rect.y
                )
            })
        }
        Payload::CursorImage(cursor) => {
            ensure(
                cursor.width <= MAX_CURSOR_SIDE && cursor.height <= MAX_CURSOR_SIDE,
                "CursorImage",
                || {
                    format!(
                        "{}x{}, at most {MAX_CURSOR_SIDE} a side",
                        cursor.width, cursor.height
                    )
                },
            )?;
            let expected = cursor.width as usize * cursor.height as usize * 4;
            ensure(cursor.rgba.len() == expected, "CursorImage.rgba", || {
                format!("{} bytes, expected {expected}", cursor.rgba.len())
            })
        }
        Payload::SharedDirectoryAnnounce(announce) => {
            name(&announce.name, "SharedDirectoryAnnounce.name")
        }
        Payload::SharedDirectoryRequest(request) => shared_request(request),
        Payload::SharedDirectoryResponse(response) => shared_response(response),
        Payload::SharedDirectoryAcknowledge(_) | Payload::SharedDirectoryRemove(_) => Ok(()),
        Payload::SyncKeys(_)
        | Payload::MouseButton(_)
        | Payload::KeyboardButton(_)
        | Payload::MouseWheel(_)
        | Payload::LatencyStats(_)
        | Payload::FrameAck(_)
        | Payload::EndSession(_)
        | Payload::KeyframeRequest(_)
        | Payload::LinkEstimate(_)
        | Payload::RemoveParticipant(_) => Ok(()),
        Payload::InviteParticipant(invite) => name(&invite.user, "InviteParticipant.user"),
        Payload::SessionParticipants(list) => {
            ensure(
                list.participants.len() <= MAX_PARTICIPANTS
                    && list.invited.len() <= MAX_PARTICIPANTS,
                "SessionParticipants",
                || {
                    format!(
                        "{} participants and {} invitations, at most {MAX_PARTICIPANTS} each",
                        list.participants.len(),
                        list.invited.len()
                    )
                },
            )?;
            list.participants
                .iter()
                .try_for_each(|p| name(&p.user, "Participant.user"))?;
            list.invited
                .iter()
                .try_for_each(|i| name(&i.user, "Invitation.user"))
        }
    }
}
