// The session recording file, version 1 (docs/recording.md): a header,
// records, a trailer, all integers big-endian. Pure: bytes in, values or a
// RecordingFormatError out, so the player's checks run in unit tests.
//
// A reader never guesses past damage: a bad magic, version, length or
// checksum is an error that names its offset, because a player that went
// on would paint a wrong picture and call it the session.

const HEADER_MAGIC = 'ORIELREC';
const TRAILER_MAGIC = 'ORIELEND';
const FORMAT_VERSION = 1;
/** magic, version u16, flags u16, meta_len u32. */
const HEADER_FIXED_LEN = 16;
const MAX_META_LEN = 64 * 1024;
/** The longest header: what to fetch to be sure to hold it whole. */
export const MAX_HEADER_LEN = HEADER_FIXED_LEN + MAX_META_LEN;
/** body_len u32 before the body, crc32 u32 after it. */
const RECORD_FRAMING_LEN = 8;
/** delay_ms u32 and source u8: what body_len counts besides the envelope. */
const BODY_PREFIX_LEN = 5;
/** A TDPB envelope is below 2^24 bytes (the frame length limit), so a body is at most a little over 16 MiB. */
export const MAX_BODY_LEN = BODY_PREFIX_LEN + (1 << 24) - 1;
/** index_len u32, index_crc32 u32, the magic. */
const TRAILER_FIXED_LEN = 16;

/** Which way a recorded message went. */
export const Source = { DESKTOP: 0, BROWSER: 1 } as const;
export type Source = (typeof Source)[keyof typeof Source];

export class RecordingFormatError extends Error {
  override name = 'RecordingFormatError';
}

/** What the header says; `meta` is the writer's JSON object as is. */
export interface RecordingHeader {
  version: number;
  meta: Record<string, unknown>;
  /** The file offset of the first record. */
  recordsStart: number;
}

/** One record, its envelope a view into the bytes it was read from. */
export interface RecordBytes {
  /** The file offset of its body_len. */
  offset: number;
  /** The file offset just after its crc32: where the next record starts. */
  end: number;
  delayMs: number;
  source: Source;
  /** One TDPB Envelope, protobuf without a length prefix. */
  envelope: Uint8Array;
}

/** `bytes` end before the item does: it takes `needed` bytes in all, counted from its start. */
export interface Incomplete {
  needed: number;
}

export interface Keyframe {
  /** delay_ms of the keyframe's first record. */
  t: number;
  /** The file offset of the keyframe's first record. */
  offset: number;
  /** Records to apply before it, in order (screen size, cursor). */
  context: number[];
}

export interface RecordingIndex {
  durationMs: number;
  records: number;
  /** The file offset where the trailer starts. */
  recordsEnd: number;
  /** By time, earliest first. */
  keyframes: Keyframe[];
}

/** Reads the header from the file's first bytes. */
export function readHeader(bytes: Uint8Array): RecordingHeader | Incomplete {
  if (bytes.length < HEADER_FIXED_LEN) {
    // Checking what is there first calls a short file that is not a recording by its name.
    if (!startsWith(bytes, HEADER_MAGIC, 0, Math.min(bytes.length, HEADER_MAGIC.length))) notARecording();
    return { needed: HEADER_FIXED_LEN };
  }
  if (!startsWith(bytes, HEADER_MAGIC, 0, HEADER_MAGIC.length)) notARecording();
  const view = viewOf(bytes);
  const version = view.getUint16(8);
  if (version !== FORMAT_VERSION) {
    throw new RecordingFormatError(`the recording is in format version ${version}; this player reads version ${FORMAT_VERSION}`);
  }
  // flags (offset 10) are reserved: a version 1 reader has nothing to do with them.
  const metaLen = view.getUint32(12);
  if (metaLen > MAX_META_LEN) {
    throw new RecordingFormatError(`the header’s meta is ${metaLen} bytes, over the limit of ${MAX_META_LEN}`);
  }
  const recordsStart = HEADER_FIXED_LEN + metaLen;
  if (bytes.length < recordsStart) return { needed: recordsStart };
  const meta = parseJson(bytes.subarray(HEADER_FIXED_LEN, recordsStart), 'the header’s meta');
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new RecordingFormatError('the header’s meta is not a JSON object');
  }
  return { version, meta: meta as Record<string, unknown>, recordsStart };
}

/** The file names the session it records; another session's file would be a wrong answer. */
export function checkSessionId(meta: RecordingHeader['meta'], sessionId: string): void {
  const recorded = meta['session_id'];
  if (typeof recorded === 'string' && recorded.toLowerCase() !== sessionId.toLowerCase()) {
    throw new RecordingFormatError(`the file is the recording of session ${recorded}, not of ${sessionId}`);
  }
}

/**
 * Reads the record at the start of `bytes`, which begin at file offset
 * `offset`. Its checksum is checked before anything in it is believed.
 */
export function readRecord(bytes: Uint8Array, offset: number): RecordBytes | Incomplete {
  if (bytes.length < 4) return { needed: 4 };
  const view = viewOf(bytes);
  const bodyLen = view.getUint32(0);
  if (bodyLen < BODY_PREFIX_LEN || bodyLen > MAX_BODY_LEN) {
    throw new RecordingFormatError(
      `the record at offset ${offset} says its body is ${bodyLen} bytes (from ${BODY_PREFIX_LEN} to ${MAX_BODY_LEN})`,
    );
  }
  const length = RECORD_FRAMING_LEN + bodyLen;
  if (bytes.length < length) return { needed: length };
  const body = bytes.subarray(4, 4 + bodyLen);
  const stored = view.getUint32(4 + bodyLen);
  const computed = crc32(body);
  if (stored !== computed) {
    throw new RecordingFormatError(
      `the record at offset ${offset} is damaged: its CRC-32 is ${hex(stored)}, its bytes give ${hex(computed)}`,
    );
  }
  const source = view.getUint8(8);
  if (source !== Source.DESKTOP && source !== Source.BROWSER) {
    throw new RecordingFormatError(`the record at offset ${offset} has source ${source} (0 or 1)`);
  }
  return {
    offset,
    end: offset + length,
    delayMs: view.getUint32(4),
    source,
    envelope: body.subarray(BODY_PREFIX_LEN),
  };
}

/**
 * Records from a stream of bytes that arrive in pieces (Range requests),
 * from `offset` up to `end` (the index's records_end). A record split
 * between two pieces is kept until the rest arrives.
 */
export class RecordParser {
  /** The file offset of the first byte not yet part of a returned record. */
  #offset: number;
  readonly #end: number;
  #buffered: Uint8Array = new Uint8Array(0);
  /** What the record at #offset takes in all, once its length is known. */
  #needed = 4;

  constructor(offset: number, end: number) {
    this.#offset = offset;
    this.#end = end;
  }

  /** True once every record up to the end has been returned. */
  get done(): boolean {
    return this.#offset === this.#end;
  }

  /** The file offset of the next byte to push. */
  get position(): number {
    return this.#offset + this.#buffered.length;
  }

  /** Bytes still to push before the next record is whole (0 when done). */
  get missing(): number {
    return this.done ? 0 : Math.max(this.#needed - this.#buffered.length, 1);
  }

  /** Takes the next bytes of the file; returns the records they complete. */
  push(bytes: Uint8Array): RecordBytes[] {
    if (this.position + bytes.length > this.#end) {
      throw new RecordingFormatError(`bytes past the end of the records (offset ${this.#end}) were read as records`);
    }
    let rest = this.#buffered.length === 0 ? bytes : concat(this.#buffered, bytes);
    const records: RecordBytes[] = [];
    for (;;) {
      if (rest.length === 0) break;
      const read = readRecord(rest, this.#offset);
      if ('needed' in read) {
        if (this.#offset + read.needed > this.#end) this.#pastTheEnd(read.needed);
        this.#needed = read.needed;
        break;
      }
      records.push(read);
      rest = rest.subarray(read.end - read.offset);
      this.#offset = read.end;
      this.#needed = 4;
    }
    // A copy, so a held piece does not pin the whole chunk it came in.
    this.#buffered = rest.length === 0 ? new Uint8Array(0) : rest.slice();
    return records;
  }

  /** The bytes ran out: anything but a clean end is a file cut short. */
  finish(): void {
    if (!this.done) {
      throw new RecordingFormatError(
        `the recording ends at offset ${this.position}, inside the record at offset ${this.#offset} (records end at ${this.#end})`,
      );
    }
  }

  #pastTheEnd(needed: number): never {
    throw new RecordingFormatError(
      `the record at offset ${this.#offset} (${needed} bytes) runs past the end of the records at offset ${this.#end}`,
    );
  }
}

/**
 * Checks the trailer, `bytes` being the file from `recordsEnd` to its last
 * byte, and returns the index it holds.
 */
export function readTrailer(bytes: Uint8Array, recordsEnd: number): RecordingIndex {
  if (bytes.length < TRAILER_FIXED_LEN || !startsWith(bytes, TRAILER_MAGIC, bytes.length - TRAILER_MAGIC.length, TRAILER_MAGIC.length)) {
    throw new RecordingFormatError(`the recording has no trailer after offset ${recordsEnd}: it was cut short`);
  }
  const view = viewOf(bytes);
  const indexLen = view.getUint32(bytes.length - 16);
  const indexCrc = view.getUint32(bytes.length - 12);
  if (indexLen !== bytes.length - TRAILER_FIXED_LEN) {
    throw new RecordingFormatError(
      `the trailer says the index is ${indexLen} bytes, but ${bytes.length - TRAILER_FIXED_LEN} lie between the records and the trailer`,
    );
  }
  const indexBytes = bytes.subarray(0, indexLen);
  const computed = crc32(indexBytes);
  if (computed !== indexCrc) {
    throw new RecordingFormatError(`the index is damaged: its CRC-32 is ${hex(indexCrc)}, its bytes give ${hex(computed)}`);
  }
  const index = readIndex(parseJson(indexBytes, 'the index'));
  if (index.recordsEnd !== recordsEnd) {
    throw new RecordingFormatError(`the index says the records end at offset ${index.recordsEnd}, the trailer starts at ${recordsEnd}`);
  }
  return index;
}

/** The index as JSON (in the trailer, and in GET /api/recordings/<id>), checked. */
export function readIndex(json: unknown): RecordingIndex {
  const body = object(json, 'the index');
  const recordsEnd = count(body['records_end'], 'the index’s records_end');
  const keyframes = list(body['keyframes'], 'the index’s keyframes').map((value, i): Keyframe => {
    const keyframe = object(value, `the index’s keyframe ${i}`);
    const offset = count(keyframe['offset'], `the offset of the index’s keyframe ${i}`);
    const context = list(keyframe['context'], `the context of the index’s keyframe ${i}`).map((at) =>
      count(at, `an offset in the context of the index’s keyframe ${i}`),
    );
    if (offset >= recordsEnd || context.some((at) => at >= offset)) {
      throw new RecordingFormatError(`the index’s keyframe ${i} points past its records`);
    }
    return { t: count(keyframe['t'], `the time of the index’s keyframe ${i}`), offset, context };
  });
  for (let i = 1; i < keyframes.length; i++) {
    const [before, after] = [keyframes[i - 1]!, keyframes[i]!];
    if (after.t < before.t || after.offset <= before.offset) {
      throw new RecordingFormatError(`the index’s keyframes are out of order at keyframe ${i}`);
    }
  }
  return {
    durationMs: count(body['duration_ms'], 'the index’s duration_ms'),
    records: count(body['records'], 'the index’s records'),
    recordsEnd,
    keyframes,
  };
}

/** CRC-32 (IEEE 802.3, as zlib and Rust's crc32fast compute it). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function notARecording(): never {
  throw new RecordingFormatError(`the file is not an Oriel recording: it does not start with ${HEADER_MAGIC}`);
}

/** Whether `bytes` hold the first `length` characters of `magic` at `at`. */
function startsWith(bytes: Uint8Array, magic: string, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[at + i] !== magic.charCodeAt(i)) return false;
  return true;
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new RecordingFormatError(`${what} is not JSON`);
  }
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RecordingFormatError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new RecordingFormatError(`${what} is not a list`);
  return value;
}

function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RecordingFormatError(`${what} is not a whole number`);
  }
  return value;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
