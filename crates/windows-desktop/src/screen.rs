//! The host's screen as its updates arrive: IronRDP's active stage fed
//! one PDU at a time, its answers written back, and the server's
//! Deactivation-Reactivation (a resize, a size the server imposes) run
//! through to the new screen.

use ironrdp_cliprdr::CliprdrClient;
use ironrdp_connector::Sequence as _;
use ironrdp_connector::connection_activation::{ConnectionActivationFactory, ConnectionActivationState};
use ironrdp_core::WriteBuf;
use ironrdp_graphics::image_processing::PixelFormat;
use ironrdp_pdu::geometry::Rectangle as _;
use ironrdp_rdpdr::Rdpdr;
use ironrdp_session::image::DecodedImage;
use ironrdp_session::{ActiveStage, ActiveStageBuilder, ActiveStageOutput};
use ironrdp_svc::SvcProcessorMessages;
use ironrdp_tokio::FramedWrite as _;

use crate::clipboard::{ChannelBackend, ClipboardAction, HostClipboard};
use crate::connect::{HostStream, RdpConnection};
use crate::drive::{DriveBackend, DriveNote};
use crate::error::RdpError;

/// What changed on the host's screen.
#[derive(Debug)]
pub enum ScreenEvent {
    /// The pointer's shape changed.
    Pointer(PointerShape),
    /// These rectangles of [`RemoteScreen::pixels`] were redrawn: left,
    /// top, width, height.
    Updated(Vec<(u16, u16, u16, u16)>),
    /// The host's clipboard channel said something.
    Clipboard(HostClipboard),
    /// The host's drive redirection channel said something.
    Drive(DriveNote),
    /// The screen has a new size and nothing drawn yet.
    Resized {
        /// Pixels.
        width: u16,
        /// Pixels.
        height: u16,
    },
}

/// The pointer as the host wants it shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointerShape {
    /// A picture: RGBA, not premultiplied, `width * height * 4` bytes.
    Bitmap {
        /// Pixels.
        width: u16,
        /// Pixels.
        height: u16,
        /// Where it points, from its top-left corner.
        hotspot_x: u16,
        /// Where it points, from its top-left corner.
        hotspot_y: u16,
        /// The pixels.
        rgba: Vec<u8>,
    },
    /// No pointer.
    Hidden,
    /// The system's usual arrow.
    Default,
}

/// One PDU read from the host, to hand to [`RemoteScreen::handle`].
pub struct HostPdu {
    action: ironrdp_pdu::Action,
    frame: bytes::BytesMut,
    received_at: Option<ironrdp_core::MonotonicInstant>,
}

/// A connected host's screen.
pub struct RemoteScreen {
    framed: HostStream,
    stage: ActiveStage,
    image: DecodedImage,
    activation: ConnectionActivationFactory,
    io_channel_id: u16,
    user_channel_id: u16,
    /// The dynamic channels' static channel, whose messages carry
    /// lengths of their own (`channel_cap`).
    drdynvc_channel_id: Option<u16>,
    /// What the host lets a client ask for a repaint with.
    refresh_rect: bool,
    suppress_output: bool,
    /// What the host sent during a reactivation, handled after it.
    held: std::collections::VecDeque<HostPdu>,
}

/// The most PDUs, and bytes, held during a reactivation: a host that
/// keeps sending without finishing it is broken.
const MAX_HELD_PDUS: usize = 4096;
const MAX_HELD_BYTES: usize = 64 * 1024 * 1024;

impl std::fmt::Debug for RemoteScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteScreen").field("width", &self.image.width()).field("height", &self.image.height()).finish_non_exhaustive()
    }
}

impl RemoteScreen {
    /// Starts following the screen of `connection`.
    pub fn new(connection: RdpConnection) -> Self {
        let RdpConnection { framed, result } = connection;
        let image = DecodedImage::new(PixelFormat::BgrA32, result.desktop_size.width, result.desktop_size.height);
        let (io_channel_id, user_channel_id) = (result.io_channel_id, result.user_channel_id);
        let activation = result.activation_factory;
        let (refresh_rect, suppress_output) = (result.refresh_rect_support, result.suppress_output_support);
        let drdynvc_channel_id = result.static_channels.get_channel_id_by_type::<ironrdp_dvc::DrdynvcClient>();
        let stage = ActiveStageBuilder {
            static_channels: result.static_channels,
            user_channel_id,
            io_channel_id,
            message_channel_id: result.message_channel_id,
            share_id: result.share_id,
            compression_type: result.compression_type,
            enable_server_pointer: result.enable_server_pointer,
            pointer_software_rendering: result.pointer_software_rendering,
        }
        .build();
        Self { framed, stage, image, activation, io_channel_id, user_channel_id, drdynvc_channel_id, refresh_rect, suppress_output, held: Default::default() }
    }

    /// Asks the host to send the whole screen again (a host may send a
    /// first picture that is not the screen: never trust it alone).
    pub async fn refresh(&mut self) -> Result<(), RdpError> {
        let (width, height) = self.size();
        let frames = self.stage.request_full_redraw(width, height, self.refresh_rect, self.suppress_output).map_err(|e| RdpError::Session(e.to_string()))?;
        for frame in frames {
            self.framed.write_all(&frame).await.map_err(RdpError::Transport)?;
        }
        Ok(())
    }

    /// Width and height in pixels.
    pub fn size(&self) -> (u16, u16) {
        (self.image.width(), self.image.height())
    }

    /// The screen as B, G, R, A bytes, row after row, `width * 4` bytes a
    /// row: the layout the frame encoder reads (X11's BGRX, the fourth byte
    /// ignored), so a frame copies rows as they are.
    pub fn pixels(&self) -> &[u8] {
        self.image.data()
    }

    /// Reads from the host until something on screen changes, answering
    /// what the host asks on the way.
    pub async fn next_event(&mut self) -> Result<ScreenEvent, RdpError> {
        loop {
            let pdu = self.read_pdu().await?;
            if let Some(event) = self.handle(pdu).await?.into_iter().next() {
                return Ok(event);
            }
        }
    }

    /// The next PDU from the host. Cancel-safe: a PDU partly read stays
    /// buffered, so this can wait beside the browser's messages.
    pub async fn read_pdu(&mut self) -> Result<HostPdu, RdpError> {
        if let Some(held) = self.held.pop_front() {
            return Ok(held);
        }
        let (action, frame) = self.framed.read_pdu().await.map_err(|error| match error.kind() {
            // rustls words a TCP close without close_notify for developers.
            std::io::ErrorKind::UnexpectedEof => RdpError::Transport(std::io::Error::new(error.kind(), "the host closed the connection")),
            _ => RdpError::Transport(error),
        })?;
        Ok(HostPdu { action, frame, received_at: self.framed.last_read_at() })
    }

    /// Applies `pdu` to the screen, answers what it asks, and says what
    /// changed (not cancel-safe: run it to its end).
    pub async fn handle(&mut self, pdu: HostPdu) -> Result<Vec<ScreenEvent>, RdpError> {
        self.check_channel_length(&pdu)?;
        let outputs = self.stage.process(&mut self.image, pdu.action, &pdu.frame, pdu.received_at).map_err(|e| RdpError::Session(e.to_string()))?;
        self.outputs(outputs).await
    }

    /// Sends the browser's input (from [`crate::InputState`]) to the host.
    pub async fn send_input(&mut self, events: &[ironrdp_pdu::input::fast_path::FastPathInputEvent]) -> Result<Vec<ScreenEvent>, RdpError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let outputs = self.stage.process_fastpath_input(&mut self.image, events).map_err(|e| RdpError::Session(e.to_string()))?;
        self.outputs(outputs).await
    }

    /// Tells the host the session ends (it may log the user off or keep
    /// the session, as it is set up to).
    pub async fn shut_down(&mut self) -> Result<(), RdpError> {
        let outputs = self.stage.graceful_shutdown().map_err(|e| RdpError::Session(e.to_string()))?;
        self.outputs(outputs).await.map(drop)
    }

    async fn outputs(&mut self, outputs: Vec<ActiveStageOutput>) -> Result<Vec<ScreenEvent>, RdpError> {
        let mut updated = Vec::new();
        let mut events = Vec::new();
        for output in outputs {
            match output {
                ActiveStageOutput::ResponseFrame(frame) => self.framed.write_all(&frame).await.map_err(RdpError::Transport)?,
                ActiveStageOutput::GraphicsUpdate(rect) => updated.push((rect.left, rect.top, rect.width(), rect.height())),
                ActiveStageOutput::PointerBitmap(pointer) => events.push(ScreenEvent::Pointer(PointerShape::from_decoded(&pointer))),
                ActiveStageOutput::PointerHidden => events.push(ScreenEvent::Pointer(PointerShape::Hidden)),
                ActiveStageOutput::PointerDefault => events.push(ScreenEvent::Pointer(PointerShape::Default)),
                ActiveStageOutput::Terminate(reason) => return Err(RdpError::Ended(reason.description())),
                ActiveStageOutput::DeactivateAll => {
                    events.push(self.reactivate().await?);
                    updated.clear();
                }
                // Pointer positions (the browser's own pointer leads),
                // monitor layouts, auto-detect and the rest: not used.
                _ => {}
            }
        }
        if !updated.is_empty() {
            events.insert(0, ScreenEvent::Updated(updated));
        }
        if let Some(backend) = self.stage.get_svc_processor_mut::<CliprdrClient>().and_then(|c| c.downcast_backend_mut::<ChannelBackend>()) {
            events.extend(backend.take().into_iter().map(ScreenEvent::Clipboard));
        }
        if let Some(backend) = self.stage.get_svc_processor_mut::<Rdpdr>().and_then(|r| r.downcast_backend_mut::<DriveBackend>()) {
            events.extend(backend.take().into_iter().map(ScreenEvent::Drive));
        }
        Ok(events)
    }

    /// Announces a drive to the host (see [`crate::drive::DriveAction`]).
    /// `Ok(Err(why))` when IronRDP would not.
    pub async fn add_drive(&mut self, device_id: u32, name: String) -> Result<Result<(), String>, RdpError> {
        let Some(rdpdr) = self.stage.get_svc_processor_mut::<Rdpdr>() else { return Ok(Err("the session has no drive channel".into())) };
        match rdpdr.add_dynamic_drive(device_id, name) {
            Ok(messages) => self.drive_messages(messages).await.map(Ok),
            Err(error) => Ok(Err(error.to_string())),
        }
    }

    /// Withdraws a drive from the host.
    pub async fn remove_drive(&mut self, device_id: u32) -> Result<(), RdpError> {
        let Some(rdpdr) = self.stage.get_svc_processor_mut::<Rdpdr>() else { return Ok(()) };
        let messages = rdpdr.remove_drive(device_id).map_err(|e| RdpError::Session(format!("drive removal: {e}")))?;
        self.drive_messages(messages).await
    }

    /// Sends messages on the drive redirection channel (IRP completions).
    pub async fn drive_messages(&mut self, messages: Vec<ironrdp_svc::SvcMessage>) -> Result<(), RdpError> {
        if messages.is_empty() {
            return Ok(());
        }
        let frame = self.stage.process_svc_processor_messages(SvcProcessorMessages::<Rdpdr>::new(messages)).map_err(|e| RdpError::Session(e.to_string()))?;
        self.framed.write_all(&frame).await.map_err(RdpError::Transport)
    }

    /// Does what the clipboard bridge decided on the host's side (an
    /// action for the browser does nothing here). Nothing happens when the
    /// session has no clipboard channel.
    pub async fn clipboard(&mut self, action: ClipboardAction) -> Result<(), RdpError> {
        let Some(cliprdr) = self.stage.get_svc_processor_mut::<CliprdrClient>() else { return Ok(()) };
        let messages = match action {
            ClipboardAction::Announce(formats) => {
                let formats: Vec<_> = formats.into_iter().map(ironrdp_cliprdr::pdu::ClipboardFormat::new).collect();
                cliprdr.initiate_copy(&formats)
            }
            ClipboardAction::Fetch(format) => cliprdr.initiate_paste(format),
            ClipboardAction::Answer(response) => cliprdr.submit_format_data(response),
            ClipboardAction::ToBrowser(_) | ClipboardAction::Warn(_) => return Ok(()),
        }
        .map_err(|e| RdpError::Session(format!("clipboard: {e}")))?;
        let frame = self.stage.process_svc_processor_messages(messages).map_err(|e| RdpError::Session(e.to_string()))?;
        self.framed.write_all(&frame).await.map_err(RdpError::Transport)
    }

    /// Asks the host for a screen of `width` by `height` through the
    /// display control channel (it answers with a reactivation at that
    /// size, or keeps its own). `false` when the host has not offered the
    /// channel (yet).
    pub async fn resize(&mut self, width: u16, height: u16) -> Result<bool, RdpError> {
        let (width, height) = ironrdp_displaycontrol::pdu::MonitorLayoutEntry::adjust_display_size(width.into(), height.into());
        // The size the host would take is the one it has: nothing to ask.
        if (u32::from(self.image.width()), u32::from(self.image.height())) == (width, height) {
            return Ok(true);
        }
        match self.stage.encode_resize(width, height, None, None) {
            None => Ok(false),
            Some(frame) => {
                let frame = frame.map_err(|e| RdpError::Session(e.to_string()))?;
                self.framed.write_all(&frame).await.map_err(RdpError::Transport)?;
                Ok(true)
            }
        }
    }

    /// Runs the Deactivation-Reactivation sequence to its end: the host
    /// sends its capabilities again, perhaps with a new screen size. Hosts
    /// go on drawing and speaking on their channels meanwhile (xrdp sends
    /// the new screen before its Font Map), which IronRDP's sequence would
    /// take for a protocol error: what is not the sequence's is held, and
    /// handled as usual once the screen has its new size.
    async fn reactivate(&mut self) -> Result<ScreenEvent, RdpError> {
        let failed = |e: ironrdp_connector::ConnectorError| RdpError::Session(format!("reactivation: {e}"));
        let mut sequence = self.activation.create();
        let mut buffer = WriteBuf::new();
        let mut held_bytes: usize = self.held.iter().map(|pdu| pdu.frame.len()).sum();
        loop {
            if let ConnectionActivationState::Finalized {
                desktop_size,
                share_id,
                enable_server_pointer,
                pointer_software_rendering,
                static_channel_chunk_size,
                refresh_rect_support,
                suppress_output_support,
                ..
            } = sequence.connection_activation_state()
            {
                (self.refresh_rect, self.suppress_output) = (refresh_rect_support, suppress_output_support);
                self.image = DecodedImage::new(PixelFormat::BgrA32, desktop_size.width, desktop_size.height);
                let (io, user) = (self.io_channel_id, self.user_channel_id);
                if !self.stage.reactivate(io, user, share_id, enable_server_pointer, pointer_software_rendering, static_channel_chunk_size) {
                    return Err(RdpError::Session("the host's reactivation set an invalid channel chunk size".into()));
                }
                return Ok(ScreenEvent::Resized { width: desktop_size.width, height: desktop_size.height });
            }
            buffer.clear();
            let written = match sequence.next_pdu_hint() {
                // The sequence's turn to speak.
                None => sequence.step_no_input(&mut buffer).map_err(failed)?,
                Some(_) => {
                    let (action, frame) = self.framed.read_pdu().await.map_err(RdpError::Transport)?;
                    if !self.is_activation_pdu(action, &frame) {
                        held_bytes += frame.len();
                        if self.held.len() >= MAX_HELD_PDUS || held_bytes > MAX_HELD_BYTES {
                            return Err(RdpError::Session("the host sent too much during a reactivation without finishing it".into()));
                        }
                        self.held.push_back(HostPdu { action, frame, received_at: self.framed.last_read_at() });
                        continue;
                    }
                    sequence.step(&frame, self.framed.last_read_at(), &mut buffer).map_err(failed)?
                }
            };
            if let Some(len) = written.size() {
                self.framed.write_all(&buffer[..len]).await.map_err(RdpError::Transport)?;
            }
        }
    }

    /// Refuses a channel message whose first chunk announces more than
    /// `channel_cap::MAX_CHANNEL_MESSAGE` bytes: a static channel's
    /// (MS-RDPBCGR 2.2.6.1.1: the channel PDU header's total length comes
    /// first), or a dynamic channel's (its DataFirst PDU's length).
    fn check_channel_length(&self, pdu: &HostPdu) -> Result<(), RdpError> {
        if pdu.action != ironrdp_pdu::Action::X224 {
            return Ok(());
        }
        let Ok(indication) = ironrdp_pdu::mcs::decode_send_data_indication(&pdu.frame) else { return Ok(()) };
        if indication.channel_id == self.io_channel_id {
            return Ok(());
        }
        let data = &indication.user_data;
        let static_refusal = crate::channel_cap::declared_static(data).and_then(|length| crate::channel_cap::refusal("static", length));
        let dynamic_refusal = (Some(indication.channel_id) == self.drdynvc_channel_id)
            .then(|| crate::channel_cap::declared_dynamic(data))
            .flatten()
            .and_then(|length| crate::channel_cap::refusal("dynamic", length));
        match static_refusal.or(dynamic_refusal) {
            Some(refusal) => Err(RdpError::Session(refusal)),
            None => Ok(()),
        }
    }

    /// Whether a PDU read during a reactivation is one of its own: on the
    /// I/O channel, and not drawing (updates, pointers) or anything else a
    /// running session handles.
    fn is_activation_pdu(&self, action: ironrdp_pdu::Action, frame: &[u8]) -> bool {
        use ironrdp_pdu::rdp::headers::{ShareControlPdu, ShareDataPdu};
        if action != ironrdp_pdu::Action::X224 {
            return false;
        }
        let Ok(indication) = ironrdp_pdu::mcs::decode_send_data_indication(frame) else { return true };
        if indication.channel_id != self.io_channel_id {
            return false;
        }
        match ironrdp_pdu::rdp::headers::decode_share_control(indication) {
            Ok(control) => match control.pdu {
                ShareControlPdu::Data(header) => matches!(
                    header.share_data_pdu,
                    ShareDataPdu::Synchronize(_)
                        | ShareDataPdu::Control(_)
                        | ShareDataPdu::FontMap(_)
                        | ShareDataPdu::MonitorLayout(_)
                        | ShareDataPdu::ServerSetErrorInfo(_)
                ),
                _ => true,
            },
            // The sequence says what is wrong with it.
            Err(_) => true,
        }
    }
}

impl PointerShape {
    /// IronRDP's decoded pointer as a browser's cursor wants it. With the
    /// hardware target (`pointer_software_rendering: false`, see
    /// `connect.rs`) IronRDP gives straight RGBA, inverted pixels as a check
    /// pattern: taken as it is.
    fn from_decoded(pointer: &ironrdp_graphics::pointer::DecodedPointer) -> Self {
        let size = usize::from(pointer.width) * usize::from(pointer.height) * 4;
        if pointer.width == 0 || pointer.height == 0 || pointer.bitmap_data.len() != size {
            return PointerShape::Hidden;
        }
        PointerShape::Bitmap {
            width: pointer.width,
            height: pointer.height,
            hotspot_x: pointer.hotspot_x,
            hotspot_y: pointer.hotspot_y,
            rgba: pointer.bitmap_data.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_is_passed_on_as_straight_rgba_and_a_malformed_one_hides_it() {
        let pointer =
            ironrdp_graphics::pointer::DecodedPointer { width: 2, height: 1, hotspot_x: 1, hotspot_y: 0, bitmap_data: vec![64, 32, 0, 128, 10, 20, 30, 255] };
        let PointerShape::Bitmap { rgba, hotspot_x, .. } = PointerShape::from_decoded(&pointer) else { panic!("a picture") };
        assert_eq!(rgba, [64, 32, 0, 128, 10, 20, 30, 255], "the hardware target is not premultiplied");
        assert_eq!(hotspot_x, 1);
        let short = ironrdp_graphics::pointer::DecodedPointer { bitmap_data: vec![0; 4], ..pointer };
        assert_eq!(PointerShape::from_decoded(&short), PointerShape::Hidden);
        let empty = ironrdp_graphics::pointer::DecodedPointer { width: 0, height: 0, hotspot_x: 0, hotspot_y: 0, bitmap_data: Vec::new() };
        assert_eq!(PointerShape::from_decoded(&empty), PointerShape::Hidden);
    }
}
