// The desktop's picture: a canvas whose pixels are the device's pixels, so a
// HiDPI screen shows the remote desktop 1:1 and sharp.
import type { DecodedPiece } from './decoder';
import { Picture, type FrameOutcome } from './picture';
import type { ScreenSpec } from './protocol';

/** TDPB's bounds on a screen side (Xvfb starts at 8192x8192). */
const MAX_SIDE = 8192;
const MAX_SCALE_PERCENT = 1000;
/** Window drags fire many resizes; the desktop is asked once they settle. */
const RESIZE_DEBOUNCE_MS = 300;

export class Screen {
  readonly canvas: HTMLCanvasElement;
  readonly #picture: Picture;
  #wanted: ScreenSpec | null = null;
  readonly #firstMeasure: Promise<ScreenSpec>;
  #debounce = 0;
  #resizeListener: ((spec: ScreenSpec) => void) | null = null;

  constructor(viewport: HTMLElement, canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    this.#picture = new Picture(canvas);

    let measured: (spec: ScreenSpec) => void;
    this.#firstMeasure = new Promise((resolve) => (measured = resolve));
    const observer = new ResizeObserver(([entry]) => {
      if (entry === undefined) return;
      const spec = measure(entry);
      const first = this.#wanted === null;
      this.#wanted = spec;
      if (first) measured(spec);
      else this.#scheduleResize();
    });
    try {
      observer.observe(viewport, { box: 'device-pixel-content-box' });
    } catch {
      observer.observe(viewport);
    }
    this.#watchPixelRatio();
  }

  /** The size the window has room for, once the layout has been measured. */
  wanted(): Promise<ScreenSpec> {
    return this.#firstMeasure;
  }

  /** The latest size the window has room for; null until first measured. */
  latest(): ScreenSpec | null {
    return this.#wanted;
  }

  /** Called with the new wanted size some time after the window or zoom stops changing. */
  onResize(listener: ((spec: ScreenSpec) => void) | null): void {
    this.#resizeListener = listener;
  }

  /** Resizes the canvas, which clears it; the server sends a keyframe of the new size. */
  setSize(width: number, height: number): void {
    const ratio = window.devicePixelRatio || 1;
    this.#picture.setSize(width, height);
    this.canvas.style.width = `${width / ratio}px`;
    this.canvas.style.height = `${height / ratio}px`;
  }

  /** Regions copied on the canvas so far. */
  get copies(): number {
    return this.#picture.copies;
  }

  /** Video frames of regions in motion painted so far. */
  get videoFrames(): number {
    return this.#picture.videoFrames;
  }

  /** Takes a decoder's piece; says whether it ended its frame, and whether that frame shows. */
  paint(piece: DecodedPiece): FrameOutcome {
    return this.#picture.paint(piece);
  }

  clear(): void {
    this.#picture.clear();
    this.canvas.style.cursor = '';
  }

  setCursor(style: string): void {
    this.canvas.style.cursor = style;
  }

  #scheduleResize(): void {
    clearTimeout(this.#debounce);
    this.#debounce = window.setTimeout(() => {
      if (this.#wanted !== null) this.#resizeListener?.(this.#wanted);
    }, RESIZE_DEBOUNCE_MS);
  }

  /**
   * A zoom or a move to another monitor changes devicePixelRatio. The size in
   * device pixels may stay the same while the scale changes, so it is watched
   * on its own.
   */
  #watchPixelRatio(): void {
    const query = matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    query.addEventListener(
      'change',
      () => {
        if (this.#wanted !== null) this.#wanted = { ...this.#wanted, scale: scalePercent() };
        this.#scheduleResize();
        this.#watchPixelRatio();
      },
      { once: true },
    );
  }
}

function measure(entry: ResizeObserverEntry): ScreenSpec {
  const ratio = window.devicePixelRatio || 1;
  let width = Math.round(entry.contentRect.width * ratio);
  let height = Math.round(entry.contentRect.height * ratio);
  // The device-pixel box is exact where CSS size times ratio has to round.
  // It is ignored when it disagrees by more than rounding: Chromium's
  // device-scale emulation (as tests use) leaves it in CSS pixels.
  const device = entry.devicePixelContentBoxSize?.[0];
  if (device && Math.abs(device.inlineSize - width) <= 1 && Math.abs(device.blockSize - height) <= 1) {
    width = device.inlineSize;
    height = device.blockSize;
  }
  return { width: clampSide(width), height: clampSide(height), scale: scalePercent() };
}

/**
 * The whole monitor the window is on, in device pixels: the largest the
 * canvas can become without moving to another monitor.
 */
export function monitorSpec(): ScreenSpec | undefined {
  const ratio = window.devicePixelRatio || 1;
  if (!(window.screen?.width > 0 && window.screen.height > 0)) return undefined;
  return {
    width: clampSide(Math.round(window.screen.width * ratio)),
    height: clampSide(Math.round(window.screen.height * ratio)),
    scale: scalePercent(),
  };
}

function scalePercent(): number {
  return Math.min(Math.max(Math.round((window.devicePixelRatio || 1) * 100), 1), MAX_SCALE_PERCENT);
}

function clampSide(side: number): number {
  return Math.min(Math.max(side, 1), MAX_SIDE);
}
