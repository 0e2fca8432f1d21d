// How large an exported video is. A recorded screen can change size (the
// browser's window did); a video has one. Each picture is shown at the
// video's top-left on black, so the video is as wide as the widest screen
// and as tall as the tallest. Pure, so it is tested without a browser.

export interface ScreenSize {
  width: number;
  height: number;
}

/** The video's size for screens of these sizes, or null for none. */
export function videoSize(screens: Iterable<ScreenSize>): ScreenSize | null {
  let width = 0;
  let height = 0;
  for (const screen of screens) {
    width = Math.max(width, screen.width);
    height = Math.max(height, screen.height);
  }
  if (width === 0 || height === 0) return null;
  // VP8 and VP9 store colour at half resolution (4:2:0): encoders take even sizes only.
  return { width: even(width), height: even(height) };
}

function even(n: number): number {
  return n + (n % 2);
}
