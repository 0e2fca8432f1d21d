// A recording's file on the server, read a piece at a time with Range
// requests (GET /api/recordings/<id>/data): the header, a record at an
// offset, the records from an offset on, the trailer. The bytes are checked
// by recording-format.ts; this file only moves them.
import { readRecordingBytes } from './api';
import {
  MAX_HEADER_LEN,
  readHeader,
  readRecord,
  readTrailer,
  RecordingFormatError,
  RecordParser,
  type RecordBytes,
  type RecordingHeader,
  type RecordingIndex,
} from './recording-format';

/**
 * Bytes asked for at once while playing. With one piece played and the next
 * in flight, playback holds at most two (and one record over that size).
 */
const CHUNK_LEN = 1 << 20;
/**
 * What is asked for a context record: a screen size or a mouse position
 * takes a few bytes, a cursor up to 64x64 fits; a larger cursor takes a
 * second request for the rest.
 */
const RECORD_PROBE_LEN = 16 * 1024 + 64;

export class RecordingFile {
  readonly #id: string;
  /** The file's size: what the list said, until a response says. */
  #size: number;

  constructor(id: string, size: number) {
    this.#id = id;
    this.#size = size;
  }

  async header(signal: AbortSignal): Promise<RecordingHeader> {
    const bytes = await this.#read(0, MAX_HEADER_LEN, signal);
    const header = readHeader(bytes);
    if ('needed' in header) throw new RecordingFormatError(`the recording ends at offset ${bytes.length}, inside its header`);
    return header;
  }

  /** The trailer, checked: the file is whole and its records end where the index says. */
  async trailer(recordsEnd: number, signal: AbortSignal): Promise<RecordingIndex> {
    if (this.#size <= recordsEnd) {
      throw new RecordingFormatError(`the recording has no trailer after offset ${recordsEnd}: it was cut short`);
    }
    return readTrailer(await this.#read(recordsEnd, this.#size, signal), recordsEnd);
  }

  /** The one record at `offset` (records say their own length). */
  async recordAt(offset: number, signal: AbortSignal): Promise<RecordBytes> {
    let bytes = await this.#read(offset, offset + RECORD_PROBE_LEN, signal);
    let read = readRecord(bytes, offset);
    if ('needed' in read && bytes.length === RECORD_PROBE_LEN) {
      const rest = await this.#read(offset + bytes.length, offset + read.needed, signal);
      const whole = new Uint8Array(bytes.length + rest.length);
      whole.set(bytes);
      whole.set(rest, bytes.length);
      bytes = whole;
      read = readRecord(bytes, offset);
    }
    if ('needed' in read) {
      throw new RecordingFormatError(`the recording ends at offset ${offset + bytes.length}, inside the record at offset ${offset}`);
    }
    return read;
  }

  /**
   * The records from `from` to `end` (the index's records_end), in order.
   * The next piece is fetched while the records of this one are played.
   */
  async *records(from: number, end: number, signal: AbortSignal): AsyncGenerator<RecordBytes> {
    const parser = new RecordParser(from, end);
    let piece = from < end ? this.#piece(from, Math.min(from + CHUNK_LEN, end), signal) : null;
    while (piece !== null) {
      const bytes = await piece.bytes;
      const records = parser.push(bytes);
      const at = parser.position;
      // A short answer is the end of the file; finish() tells whether it came too soon.
      const more = bytes.length === piece.length && at < end;
      piece = more ? this.#piece(at, Math.min(at + Math.max(CHUNK_LEN, parser.missing), end), signal) : null;
      yield* records;
    }
    parser.finish();
  }

  /** A fetch started ahead of its use; if it is never awaited (a seek dropped it), its failure is not reported. */
  #piece(start: number, end: number, signal: AbortSignal): { bytes: Promise<Uint8Array>; length: number } {
    const bytes = this.#read(start, end, signal);
    bytes.catch(() => {});
    return { bytes, length: end - start };
  }

  async #read(start: number, end: number, signal: AbortSignal): Promise<Uint8Array> {
    const { bytes, total } = await readRecordingBytes(this.#id, start, end, signal);
    if (total !== null) this.#size = total;
    return bytes;
  }
}
