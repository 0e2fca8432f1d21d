// The message a record holds, checked against the side that sent it: a
// recording that says the browser sent a frame is damaged, and whoever
// replays it (the player, the export) says so rather than show it.
import { decodeRecordedEnvelope, ProtocolError, type RecordedMessage } from './protocol';
import { RecordingFormatError, Source, type RecordBytes } from './recording-format';

/** Messages only the browser sends; the rest come from the desktop. */
const FROM_BROWSER: ReadonlySet<RecordedMessage['kind']> = new Set(['clientScreenSpec', 'mouseMove', 'mouseButton']);

/** The record's message, or null for one this reader does not know. */
export function readRecordedMessage(record: RecordBytes): RecordedMessage | null {
  let message: RecordedMessage | null;
  try {
    // A copy: the decoder takes a FrameRect's whole buffer (it is transferred
    // to the worker), which must not be the piece of file the next records are in.
    message = decodeRecordedEnvelope(record.envelope.slice());
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new RecordingFormatError(`the record at offset ${record.offset} holds a ${error.message}`);
  }
  if (message === null) return null;
  const source = FROM_BROWSER.has(message.kind) ? Source.BROWSER : Source.DESKTOP;
  if (record.source !== source) {
    const from = record.source === Source.BROWSER ? 'the browser' : 'the desktop';
    throw new RecordingFormatError(`the record at offset ${record.offset} holds a ${message.kind} from ${from}, which never sends one`);
  }
  return message;
}
