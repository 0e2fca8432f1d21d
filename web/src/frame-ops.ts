// The operations a CODEC_QOIZ_SESSION frame decodes to (qoiz_decode_frame in
// crates/qoiz-wasm): back to back, each a header of little-endian u32
// fields, a paint's pixels after its header. They apply in order, so a copy
// sees what the paints before it left. The bytes come from our own decoder,
// yet are read strictly: a wrong length would otherwise shift every later
// operation and paint garbage where the server meant something else.

/** Pixels to put at (x, y): width*height*4 bytes of RGBA, alpha 255. */
export interface PaintOp {
  kind: 'paint';
  x: number;
  y: number;
  width: number;
  height: number;
  /** A view into the parsed buffer, not a copy. */
  rgba: Uint8ClampedArray<ArrayBuffer>;
}

/** The region at (x, y) becomes what the picture held at (srcX, srcY) just before; the two may overlap (a scroll). */
export interface CopyOp {
  kind: 'copy';
  x: number;
  y: number;
  width: number;
  height: number;
  srcX: number;
  srcY: number;
}

export type FrameOp = PaintOp | CopyOp;

const PAINT = 0;
const COPY = 1;
/** kind, x, y, width, height. */
const PAINT_HEADER = 5 * 4;
/** kind, x, y, width, height, src_x, src_y. */
const COPY_HEADER = 7 * 4;
/** Enough of a header to read its kind. */
const KIND_LEN = 4;

/** The operations in `buffer`; throws on anything but a whole, well-formed list (an empty one is a frame with nothing to do). */
export function parseFrameOps(buffer: ArrayBuffer): FrameOp[] {
  const view = new DataView(buffer);
  const u32 = (at: number): number => view.getUint32(at, true);
  const ops: FrameOp[] = [];
  let offset = 0;
  while (offset < buffer.byteLength) {
    need(buffer, offset, KIND_LEN, 'operation kind');
    const kind = u32(offset);
    if (kind !== PAINT && kind !== COPY) throw new Error(`frame operation at offset ${offset}: unknown kind ${kind}`);
    const headerLen = kind === PAINT ? PAINT_HEADER : COPY_HEADER;
    const name = kind === PAINT ? 'paint' : 'copy';
    need(buffer, offset, headerLen, `${name} header`);
    const x = u32(offset + 4);
    const y = u32(offset + 8);
    const width = u32(offset + 12);
    const height = u32(offset + 16);
    if (width === 0 || height === 0) throw new Error(`${name} at offset ${offset}: empty region ${width}x${height}`);
    if (kind === COPY) {
      ops.push({ kind: 'copy', x, y, width, height, srcX: u32(offset + 20), srcY: u32(offset + 24) });
      offset += COPY_HEADER;
      continue;
    }
    // At most 2^66: past any buffer, though not exact as a double, so the check below still refuses it.
    const pixelsLen = width * height * 4;
    need(buffer, offset, PAINT_HEADER + pixelsLen, `${width}x${height} paint`);
    ops.push({ kind: 'paint', x, y, width, height, rgba: new Uint8ClampedArray(buffer, offset + PAINT_HEADER, pixelsLen) });
    offset += PAINT_HEADER + pixelsLen;
  }
  return ops;
}

/** Throws unless `len` bytes from `offset` are in the buffer. */
function need(buffer: ArrayBuffer, offset: number, len: number, what: string): void {
  const left = buffer.byteLength - offset;
  if (len > left) throw new Error(`frame operations truncated at offset ${offset}: the ${what} needs ${len} bytes, ${left} left`);
}
