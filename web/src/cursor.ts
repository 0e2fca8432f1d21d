// CursorImage -> a picture of the cursor: a CSS cursor value for a live
// session, a PNG for the recording player, which draws the cursor where the
// recorded user moved it.
//
// The remote screen is drawn one remote pixel per device pixel, so the
// cursor image is too: on a HiDPI screen it is declared an `Nx` image with
// image-set, else the browser would draw it N times larger than the desktop
// around it. The hotspot is given in CSS pixels, which the browser scales
// by the same N.
import type { CursorImage } from './protocol';

/** Chromium refuses cursor images above 128 pixels a side. */
const MAX_CSS_CURSOR_SIDE = 128;

export function cursorStyle(cursor: CursorImage, devicePixelRatio = window.devicePixelRatio || 1): string {
  const { width, height } = cursor;
  if (width === 0 || height === 0) return 'none';
  if (width > MAX_CSS_CURSOR_SIDE || height > MAX_CSS_CURSOR_SIDE) return 'default';
  const png = cursorPng(cursor);
  if (png === null) return 'default';
  const hotspotX = Math.min(cursor.hotspotX, width - 1);
  const hotspotY = Math.min(cursor.hotspotY, height - 1);
  const url = `url(${png})`;
  if (devicePixelRatio === 1) return `${url} ${hotspotX} ${hotspotY}, default`;
  // Chromium keeps whole CSS pixels only: off by at most half a CSS pixel.
  const css = (n: number): number => Math.round(n / devicePixelRatio);
  return `image-set(${url} ${devicePixelRatio}x) ${css(hotspotX)} ${css(hotspotY)}, default`;
}

/** The cursor as a `data:` PNG; null when it has no picture (hidden, or its pixels do not match its size). */
export function cursorPng(cursor: CursorImage): string | null {
  const { width, height } = cursor;
  if (width === 0 || height === 0 || cursor.rgba.length !== width * height * 4) return null;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (context === null) return null;
  const pixels = new Uint8ClampedArray(width * height * 4);
  pixels.set(cursor.rgba);
  context.putImageData(new ImageData(pixels, width, height), 0, 0);
  return canvas.toDataURL('image/png');
}
