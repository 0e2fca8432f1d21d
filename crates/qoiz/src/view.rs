//! Borrowed views of X11 pixel buffers.

use crate::{MAX_DIMENSION, ViewError};

/// Bytes per pixel of an X11 32-bit ZPixmap.
const BYTES_PER_PIXEL: usize = 4;

/// A borrowed rectangle of 32-bit little-endian X11 ZPixmap pixels: each pixel
/// is the bytes B, G, R, X (X is ignored).
///
/// `stride` is the distance in bytes between the starts of two rows, so a view
/// can be a sub-rectangle of a larger framebuffer: point `pixels` at the first
/// byte of the rectangle's top-left pixel and keep the framebuffer's stride.
/// Only `stride * (height - 1) + width * 4` bytes need to be present.
#[derive(Debug, Clone, Copy)]
pub struct BgrxView<'a> {
    /// Pixel bytes, starting at the rectangle's top-left pixel.
    pub pixels: &'a [u8],
    /// Bytes from the start of one row to the start of the next.
    pub stride: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl<'a> BgrxView<'a> {
    /// Builds a view after checking that `pixels` holds every row and that the
    /// size is within `1..=MAX_DIMENSION` on both axes.
    pub fn new(
        pixels: &'a [u8],
        stride: usize,
        width: u32,
        height: u32,
    ) -> Result<Self, ViewError> {
        let view = Self {
            pixels,
            stride,
            width,
            height,
        };
        view.validate()?;
        Ok(view)
    }

    /// Checks the invariants [`BgrxView::new`] checks; encoders call this
    /// because the fields are public.
    pub fn validate(&self) -> Result<(), ViewError> {
        let (width, height) = (self.width, self.height);
        if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(ViewError::BadSize { width, height });
        }
        let row_len = width as usize * BYTES_PER_PIXEL;
        if self.stride < row_len {
            return Err(ViewError::StrideTooSmall {
                stride: self.stride,
                row_len,
            });
        }
        // stride is caller-supplied, so the product may overflow.
        let needed = self
            .stride
            .checked_mul(height as usize - 1)
            .and_then(|n| n.checked_add(row_len))
            .ok_or(ViewError::TooShort {
                needed: usize::MAX,
                len: self.pixels.len(),
            })?;
        if self.pixels.len() < needed {
            return Err(ViewError::TooShort {
                needed,
                len: self.pixels.len(),
            });
        }
        Ok(())
    }

    /// The bytes of row `y` (exactly `width * 4` of them). The view must have
    /// been validated.
    pub(crate) fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.pixels[start..start + self.width as usize * BYTES_PER_PIXEL]
    }
}
