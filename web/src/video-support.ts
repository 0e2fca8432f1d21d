// Whether this browser decodes VP8 with WebCodecs: the session lists
// CODEC_VP8 in its hello only then, so a browser without WebCodecs (an old
// one, or a page that is not a secure context) gets every pixel
// losslessly (docs/codec.md, "Regions in motion"). Every browser with
// WebCodecs decodes VP8; should one refuse it all the same, the worker
// shows nothing of the region until it stops and is repainted exactly.

export function decodesVp8(): boolean {
  return typeof VideoDecoder === 'function' && typeof EncodedVideoChunk === 'function';
}
