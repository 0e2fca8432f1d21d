// Messages between the session (main thread) and decoder.worker.ts.

/** Main -> worker: one FrameRect, its data a range of a transferred buffer. */
export interface DecodeRequest {
  frameId: number;
  x: number;
  y: number;
  width: number;
  height: number;
  codec: number;
  resetContext: boolean;
  endOfFrame: boolean;
  buffer: ArrayBuffer;
  offset: number;
  length: number;
}

/** Worker -> main. */
export type DecodeResult =
  | { kind: 'ready' }
  | {
      kind: 'rect';
      frameId: number;
      x: number;
      y: number;
      width: number;
      height: number;
      endOfFrame: boolean;
      /** width*height*4 bytes of RGBA; transferred. */
      rgba: ArrayBuffer;
    }
  | { kind: 'error'; message: string };
