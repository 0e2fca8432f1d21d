//! The host's screen as its updates arrive: IronRDP's active stage fed
//! one PDU at a time, its answers written back, and the server's
//! Deactivation-Reactivation (a resize, a size the server imposes) run
//! through to the new screen.

use ironrdp_connector::connection_activation::{ConnectionActivationFactory, ConnectionActivationState};
use ironrdp_core::WriteBuf;
use ironrdp_graphics::image_processing::PixelFormat;
use ironrdp_pdu::geometry::Rectangle as _;
use ironrdp_session::image::DecodedImage;
use ironrdp_session::{ActiveStage, ActiveStageBuilder, ActiveStageOutput};
use ironrdp_tokio::FramedWrite as _;

use crate::connect::{HostStream, RdpConnection};
use crate::error::RdpError;

/// What changed on the host's screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenEvent {
    /// These rectangles of [`RemoteScreen::pixels`] were redrawn: left,
    /// top, width, height.
    Updated(Vec<(u16, u16, u16, u16)>),
    /// The screen has a new size and nothing drawn yet.
    Resized {
        /// Pixels.
        width: u16,
        /// Pixels.
        height: u16,
    },
}

/// A connected host's screen.
pub struct RemoteScreen {
    framed: HostStream,
    stage: ActiveStage,
    image: DecodedImage,
    activation: ConnectionActivationFactory,
    io_channel_id: u16,
    user_channel_id: u16,
    /// What the host lets a client ask for a repaint with.
    refresh_rect: bool,
    suppress_output: bool,
}

impl std::fmt::Debug for RemoteScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteScreen").field("width", &self.image.width()).field("height", &self.image.height()).finish_non_exhaustive()
    }
}

impl RemoteScreen {
    /// Starts following the screen of `connection`.
    pub fn new(connection: RdpConnection) -> Self {
        let RdpConnection { framed, result } = connection;
        let image = DecodedImage::new(PixelFormat::RgbA32, result.desktop_size.width, result.desktop_size.height);
        let (io_channel_id, user_channel_id) = (result.io_channel_id, result.user_channel_id);
        let activation = result.activation_factory;
        let (refresh_rect, suppress_output) = (result.refresh_rect_support, result.suppress_output_support);
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
        Self { framed, stage, image, activation, io_channel_id, user_channel_id, refresh_rect, suppress_output }
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

    /// The screen as RGBA bytes, row after row, `width * 4` bytes a row.
    pub fn pixels(&self) -> &[u8] {
        self.image.data()
    }

    /// Reads from the host until something on screen changes, answering
    /// what the host asks on the way.
    pub async fn next_event(&mut self) -> Result<ScreenEvent, RdpError> {
        loop {
            let (action, frame) = self.framed.read_pdu().await.map_err(RdpError::Transport)?;
            let received_at = self.framed.last_read_at();
            let outputs = self.stage.process(&mut self.image, action, &frame, received_at).map_err(|e| RdpError::Session(e.to_string()))?;
            let mut updated = Vec::new();
            for output in outputs {
                match output {
                    ActiveStageOutput::ResponseFrame(frame) => self.framed.write_all(&frame).await.map_err(RdpError::Transport)?,
                    ActiveStageOutput::GraphicsUpdate(rect) => updated.push((rect.left, rect.top, rect.width(), rect.height())),
                    ActiveStageOutput::Terminate(reason) => return Err(RdpError::Ended(reason.description())),
                    ActiveStageOutput::DeactivateAll => return self.reactivate().await,
                    // Pointer shapes, monitor layouts, auto-detect and the rest: not yet used.
                    _ => {}
                }
            }
            if !updated.is_empty() {
                return Ok(ScreenEvent::Updated(updated));
            }
        }
    }

    /// Runs the Deactivation-Reactivation sequence to its end: the host
    /// sends its capabilities again, perhaps with a new screen size.
    async fn reactivate(&mut self) -> Result<ScreenEvent, RdpError> {
        let mut sequence = self.activation.create();
        let mut buffer = WriteBuf::new();
        loop {
            ironrdp_tokio::single_sequence_step(&mut self.framed, &mut sequence, &mut buffer).await.map_err(|e| RdpError::Session(e.to_string()))?;
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
                self.image = DecodedImage::new(PixelFormat::RgbA32, desktop_size.width, desktop_size.height);
                let (io, user) = (self.io_channel_id, self.user_channel_id);
                if !self.stage.reactivate(io, user, share_id, enable_server_pointer, pointer_software_rendering, static_channel_chunk_size) {
                    return Err(RdpError::Session("the host's reactivation set an invalid channel chunk size".into()));
                }
                return Ok(ScreenEvent::Resized { width: desktop_size.width, height: desktop_size.height });
            }
        }
    }
}
