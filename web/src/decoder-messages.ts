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

/** What every answer to a DecodeRequest says: the frame, and whether the rect ends it. */
interface Piece {
  frameId: number;
  endOfFrame: boolean;
}

/** A rect of CODEC_QOIZ or CODEC_QOIZ_STREAM, decoded. */
export interface DecodedRect extends Piece {
  kind: 'rect';
  /** It started a keyframe or a new stream. */
  resetContext: boolean;
  x: number;
  y: number;
  width: number;
  height: number;
  /** width*height*4 bytes of RGBA; transferred. */
  rgba: ArrayBuffer;
}

/** A CODEC_QOIZ_SESSION frame (or part of one), decoded. */
export interface DecodedOps extends Piece {
  kind: 'ops';
  resetContext: boolean;
  /** The operations, as frame-ops.ts reads them (the worker has checked they do); transferred. */
  ops: ArrayBuffer;
}

/** A CODEC_VP8 frame of a region in motion, decoded by WebCodecs. */
export interface DecodedVideo extends Piece {
  kind: 'video';
  x: number;
  y: number;
  width: number;
  height: number;
  /** The region's picture; transferred. Null when it cannot be shown yet (no key frame, no WebCodecs): the region keeps what it had. */
  frame: VideoFrame | null;
}

/** A rect that did not decode: the stream is broken until a keyframe, and the rects until then are skipped. */
export interface CorruptPiece extends Piece {
  kind: 'corrupt';
  /** It was a keyframe's: the keyframe came, and failed too. */
  resetContext: boolean;
  message: string;
}

/** A rect not decoded since one was corrupt, before any keyframe. */
export interface SkippedPiece extends Piece {
  kind: 'skipped';
}

/**
 * Worker -> main: what became of one FrameRect. Every request gets exactly
 * one, in order (until the decoder fails for good), so the frame a rect
 * ends is known to have ended, decoded or not.
 */
export type DecodedPiece = DecodedRect | DecodedOps | DecodedVideo | CorruptPiece | SkippedPiece;

/** Worker -> main. */
export type DecodeResult =
  | { kind: 'ready' }
  | DecodedPiece
  /** The decoder gave up for good. */
  | { kind: 'error'; message: string };
