//! A picture in I420 (Y at full size, U and V at half size each way), the
//! format libvpx encodes, converted from the capture's BGRX pixels.

use yuv::{BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};

use crate::VideoError;

/// An I420 picture of even size.
#[derive(Debug, Clone)]
pub struct I420 {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Luma, `width` bytes a row.
    pub y: Vec<u8>,
    /// Blue difference, `width / 2` bytes a row.
    pub u: Vec<u8>,
    /// Red difference, `width / 2` bytes a row.
    pub v: Vec<u8>,
}

impl I420 {
    /// A black picture of `width`x`height`, both even and non-zero.
    pub fn new(width: u32, height: u32) -> Result<Self, VideoError> {
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return Err(VideoError::Size { width, height, why: "sides must be even and non-zero" });
        }
        let luma = width as usize * height as usize;
        Ok(Self { width, height, y: vec![16; luma], u: vec![128; luma / 4], v: vec![128; luma / 4] })
    }

    /// Converts `width`x`height` BGRX pixels (`stride` bytes a row) into
    /// this picture, BT.601 limited range: what a decoder assumes of a VP8
    /// stream, which says nothing of its colours.
    pub fn convert_bgrx(&mut self, pixels: &[u8], stride: usize) -> Result<(), VideoError> {
        let needed = (self.height as usize - 1) * stride + self.width as usize * 4;
        if pixels.len() < needed || stride < self.width as usize * 4 {
            return Err(VideoError::Size { width: self.width, height: self.height, why: "fewer pixels than the picture" });
        }
        let mut planes = YuvPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(&mut self.y),
            y_stride: self.width,
            u_plane: BufferStoreMut::Borrowed(&mut self.u),
            u_stride: self.width / 2,
            v_plane: BufferStoreMut::Borrowed(&mut self.v),
            v_stride: self.width / 2,
            width: self.width,
            height: self.height,
        };
        yuv::bgra_to_yuv420(&mut planes, &pixels[..needed], stride as u32, YuvRange::Limited, YuvStandardMatrix::Bt601, YuvConversionMode::Balanced)
            .map_err(|_| VideoError::Size { width: self.width, height: self.height, why: "the conversion refused the planes" })
    }
}
