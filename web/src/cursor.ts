// CursorImage -> a CSS cursor value.
//
// The image is used as is: CSS reads cursor images in CSS pixels, so on a
// HiDPI screen the pointer looks larger than on the desktop itself.
import type { CursorImage } from './protocol';

/** Chromium refuses cursor images above 128 pixels a side. */
const MAX_CSS_CURSOR_SIDE = 128;

export function cursorStyle(cursor: CursorImage): string {
  const { width, height } = cursor;
  if (width === 0 || height === 0) return 'none';
  if (width > MAX_CSS_CURSOR_SIDE || height > MAX_CSS_CURSOR_SIDE) return 'default';
  if (cursor.rgba.length !== width * height * 4) return 'default';
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (context === null) return 'default';
  const pixels = new Uint8ClampedArray(width * height * 4);
  pixels.set(cursor.rgba);
  context.putImageData(new ImageData(pixels, width, height), 0, 0);
  const hotspotX = Math.min(cursor.hotspotX, width - 1);
  const hotspotY = Math.min(cursor.hotspotY, height - 1);
  return `url(${canvas.toDataURL('image/png')}) ${hotspotX} ${hotspotY}, default`;
}
