// TDPB framing and messages. The codec is generated from ../proto/tdpb.proto
// (`npm run proto`, run before every build and type check), the file the
// Rust crates compile too, so the two can never disagree. It is static code:
// nothing is compiled at run time, so the page's CSP can forbid eval.
import { Codec } from './codec';
import { oriel } from './generated/tdpb.js';

export { Codec } from './codec';

/** Bytes in a frame's big-endian length prefix. */
const HEADER_LEN = 4;
/** The server never sends an envelope of 2^24 bytes or more. */
const MAX_SERVER_ENVELOPE = (1 << 24) - 1;
/** What the proxy accepts from a browser. */
const MAX_CLIENT_ENVELOPE = 2 << 20;
/** The most clipboard text either side sends: 1 MiB of UTF-8 (ClipboardData.data). */
export const MAX_CLIPBOARD_BYTES = 1 << 20;

export const ProtocolVersion = 1;
/** The most text one KeyboardText carries: 1024 bytes of UTF-8. */
export const MAX_KEYBOARD_TEXT_BYTES = 1024;

export const MouseButtonType = { LEFT: 1, MIDDLE: 2, RIGHT: 3, BACK: 4, FORWARD: 5 } as const;
export type MouseButtonType = (typeof MouseButtonType)[keyof typeof MouseButtonType];

export const MouseWheelAxis = { VERTICAL: 1, HORIZONTAL: 2 } as const;
export type MouseWheelAxis = (typeof MouseWheelAxis)[keyof typeof MouseWheelAxis];

export const AlertSeverity = { UNSPECIFIED: 0, INFO: 1, WARNING: 2, ERROR: 3 } as const;

/** SharedDirectoryErrorCode. */
export const SharedDirectoryErrorCode = { NONE: 0, FAILED: 1, DOES_NOT_EXIST: 2, ALREADY_EXISTS: 3, NOT_EMPTY: 4, REFUSED: 5 } as const;
/** FileSystemObject.file_type. */
export const FileType = { FILE: 0, DIRECTORY: 1 } as const;

/** How a connection takes part in a session (ServerHello, SessionParticipants); UNSPECIFIED withdraws an invitation. */
export const ParticipantMode = { UNSPECIFIED: 0, OWNER: 1, PEER: 2, OBSERVER: 3 } as const;
export type ParticipantMode = (typeof ParticipantMode)[keyof typeof ParticipantMode];

export interface ScreenSpec {
  width: number;
  height: number;
  /** devicePixelRatio in percent. */
  scale: number;
}

export interface ClientHello {
  username: string;
  screenSpec: ScreenSpec;
  keyboardLayout: number;
  protocolVersion: number;
  codecs: Codec[];
  keyboardLayoutName: string;
  /** The whole monitor in device pixels: an Xvfb session's largest screen is sized from it. */
  monitor?: ScreenSpec;
}

export interface ServerHello {
  width: number;
  height: number;
  clipboardEnabled: boolean;
  directoryRemoveSupported: boolean;
  xsessions: { name: string }[];
  hidpiSupported: boolean;
  protocolVersion: number;
  codec: number;
  /** The roles allow directory sharing and the desktop can mount it. */
  directorySharingEnabled: boolean;
  /** The session's id: a dropped connection resumes it with this. */
  sessionId: string;
  /** Set when this connection resumed a running session, or joined one: its xsession (no picker then). */
  resumedXsession: string;
  /** ParticipantMode; 0 from a server older than session sharing (the owner, then). */
  participantMode: number;
  /** The largest screen the session can take; 0 from a server that does not say. */
  maxWidth: number;
  maxHeight: number;
}

/** One connection in a session, as SessionParticipants lists it. */
export interface Participant {
  /** The connection's number in the session (RemoveParticipant names it). */
  viewer: number;
  /** The Oriel user. */
  user: string;
  /** ParticipantMode. */
  mode: number;
  /** The connection that received the message. */
  you: boolean;
}

/** Who is in a session, and whom its owner invited. */
export interface SessionParticipants {
  participants: Participant[];
  invited: { user: string; mode: number }[];
}

/** A uint64 as protobufjs decodes it. */
type Uint64 = number | { toNumber(): number };

/** One file or directory of a shared directory. */
export interface FileSystemObject {
  lastModified: Uint64;
  size: Uint64;
  fileType: number;
  isEmpty: boolean;
  path: string;
}

/** The desktop asks for one file operation; exactly one operation is set. */
export interface SharedDirectoryRequest {
  directoryId: number;
  completionId: number;
  info?: { path: string } | null;
  create?: { path: string; fileType?: number } | null;
  delete?: { path: string } | null;
  list?: { path: string } | null;
  read?: { path: string; offset: Uint64; length: number } | null;
  write?: { path: string; offset: Uint64; data: Uint8Array } | null;
  move?: { originalPath: string; newPath: string } | null;
  truncate?: { path: string; endOfFile: Uint64 } | null;
}

/** The answer to one SharedDirectoryRequest. */
export interface SharedDirectoryResponse {
  completionId: number;
  errorCode: number;
  info?: { fso: FileSystemObject };
  create?: { fso: FileSystemObject };
  delete?: object;
  list?: { fsoList: FileSystemObject[] };
  read?: { data: Uint8Array };
  write?: { bytesWritten: number };
  move?: object;
  truncate?: object;
}

export interface FrameRect {
  frameId: number;
  x: number;
  y: number;
  width: number;
  height: number;
  codec: number;
  /** A view into the websocket message the rect arrived in. */
  data: Uint8Array;
  resetContext: boolean;
  endOfFrame: boolean;
  /** This rectangle starts a keyframe: the frame repaints the whole screen. */
  keyframe: boolean;
}

export interface CursorImage {
  width: number;
  height: number;
  hotspotX: number;
  hotspotY: number;
  rgba: Uint8Array;
}

export interface Alert {
  message: string;
  severity: number;
}

export interface Ping {
  id: Uint8Array;
}

/** Clipboard text, UTF-8, either direction. */
export interface ClipboardData {
  data: Uint8Array;
}

/**
 * A per-session MFA check, only between the browser and the proxy, before
 * the desktop is dialled. The proxy's challenge holds the options for
 * navigator.credentials.get; the browser's one answer holds the key's
 * assertion (webauthn.ts's shapes, as JSON), or is empty to cancel.
 */
export interface Mfa {
  /** "webauthn": the only kind. */
  type: string;
  json: string;
}

export interface LatencyStats {
  clientMs: number;
  serverMs: number;
}

/** The desktop's estimate of the link to this browser (docs/protocol.md, "Link estimate"). */
export interface LinkEstimate {
  /** Best delivered lately; 0 while not known. */
  bandwidthKbps: number;
  /** From a frame leaving to its acknowledgement, smoothed. */
  delayMs: number;
  /** Frames wait for the link: the desktop keeps one in flight. */
  slow: boolean;
}

export interface SyncKeys {
  scrollLock: boolean;
  numLock: boolean;
  capsLock: boolean;
  kanaLock: boolean;
}

/** A message the client sends: exactly one payload field set. */
export type ClientMessage =
  | { clientHello: ClientHello }
  | { sessionSelection: { xsession: string } }
  | { clientScreenSpec: ScreenSpec }
  | { mouseMove: { x: number; y: number } }
  | { mouseButton: { button: MouseButtonType; pressed: boolean } }
  | { mouseWheel: { axis: MouseWheelAxis; delta: number } }
  | { keyboardButton: { keyCode: number; pressed: boolean } }
  | { keyboardText: { text: string } }
  | { syncKeys: SyncKeys }
  | { ping: Ping }
  | { clipboardData: ClipboardData }
  | { sharedDirectoryAnnounce: { directoryId: number; name: string } }
  | { sharedDirectoryResponse: SharedDirectoryResponse }
  | { sharedDirectoryRemove: { directoryId: number } }
  | { frameAck: { frameId: number } }
  /** A frame did not decode: the client skips frames until a keyframe, which this asks for. */
  | { keyframeRequest: Record<string, never> }
  | { mfa: Mfa }
  /** End the session now, rather than leave it to be resumed. */
  | { endSession: Record<string, never> }
  /** The owner lets `user` join as `mode` (PEER or OBSERVER); UNSPECIFIED withdraws the invitation. */
  | { inviteParticipant: { user: string; mode: ParticipantMode } }
  /** The owner sends a participant away. */
  | { removeParticipant: { viewer: number } };

/** A message the client acts on; everything else is skipped. */
export type ServerMessage =
  | { kind: 'serverHello'; value: ServerHello }
  | { kind: 'frameRect'; value: FrameRect }
  | { kind: 'cursorImage'; value: CursorImage }
  | { kind: 'alert'; value: Alert }
  | { kind: 'ping'; value: Ping }
  | { kind: 'clipboardData'; value: ClipboardData }
  | { kind: 'latencyStats'; value: LatencyStats }
  | { kind: 'linkEstimate'; value: LinkEstimate }
  | { kind: 'sharedDirectoryAcknowledge'; value: { directoryId: number; errorCode: number } }
  | { kind: 'sharedDirectoryRequest'; value: SharedDirectoryRequest }
  | { kind: 'mfa'; value: Mfa }
  | { kind: 'sessionParticipants'; value: SessionParticipants }
  /** To a participant who joined: the owner's screen changed size. */
  | { kind: 'clientScreenSpec'; value: ScreenSpec };

const SERVER_KINDS: ReadonlySet<string> = new Set<ServerMessage['kind']>([
  'serverHello',
  'frameRect',
  'cursorImage',
  'alert',
  'ping',
  'clipboardData',
  'latencyStats',
  'linkEstimate',
  'sharedDirectoryAcknowledge',
  'sharedDirectoryRequest',
  'mfa',
  'sessionParticipants',
  'clientScreenSpec',
]);

/**
 * A recorded message the player acts on (docs/recording.md, "What is
 * recorded"): what the desktop showed, and where the user pointed.
 */
export type RecordedMessage =
  | { kind: 'serverHello'; value: ServerHello }
  | { kind: 'frameRect'; value: FrameRect }
  | { kind: 'cursorImage'; value: CursorImage }
  | { kind: 'alert'; value: Alert }
  | { kind: 'clientScreenSpec'; value: ScreenSpec }
  | { kind: 'mouseMove'; value: { x: number; y: number } }
  | { kind: 'mouseButton'; value: { button: number; pressed: boolean } };

const RECORDED_KINDS: ReadonlySet<string> = new Set<RecordedMessage['kind']>([
  'serverHello',
  'frameRect',
  'cursorImage',
  'alert',
  'clientScreenSpec',
  'mouseMove',
  'mouseButton',
]);

/** The peer broke framing or sent bytes protobuf cannot parse; the session cannot go on. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const Envelope = oriel.tdpb.v1.Envelope;
checkEnums();

/** Encodes one message as one frame (one websocket message). */
export function encodeFrame(message: ClientMessage): Uint8Array<ArrayBuffer> {
  const envelope = Envelope.encode(Envelope.fromObject(message)).finish();
  if (envelope.length > MAX_CLIENT_ENVELOPE) {
    throw new ProtocolError(`envelope of ${envelope.length} bytes exceeds the client limit of ${MAX_CLIENT_ENVELOPE}`);
  }
  const frame = new Uint8Array(HEADER_LEN + envelope.length);
  new DataView(frame.buffer).setUint32(0, envelope.length);
  frame.set(envelope, HEADER_LEN);
  return frame;
}

/**
 * Decodes one frame. Returns null for an envelope whose payload this client
 * does not use. Bytes fields are views into `frame`, not copies.
 */
export function decodeFrame(frame: ArrayBuffer): ServerMessage | null {
  if (frame.byteLength < HEADER_LEN) {
    throw new ProtocolError(`frame of ${frame.byteLength} bytes has no length prefix`);
  }
  const len = new DataView(frame).getUint32(0);
  if (len > MAX_SERVER_ENVELOPE) {
    throw new ProtocolError(`frame of ${len} bytes exceeds the limit of ${MAX_SERVER_ENVELOPE}`);
  }
  if (HEADER_LEN + len !== frame.byteLength) {
    throw new ProtocolError(`frame header says ${len} bytes, message holds ${frame.byteLength - HEADER_LEN}`);
  }
  return decodeEnvelope(new Uint8Array(frame, HEADER_LEN, len), SERVER_KINDS) as ServerMessage | null;
}

/**
 * Decodes a recorded envelope (no length prefix). Returns null for a message
 * the player does not use. Bytes fields are views into `envelope`, not copies.
 */
export function decodeRecordedEnvelope(envelope: Uint8Array): RecordedMessage | null {
  return decodeEnvelope(envelope, RECORDED_KINDS) as RecordedMessage | null;
}

/** The envelope's payload as { kind, value } when its kind is one of `kinds`. */
function decodeEnvelope(bytes: Uint8Array, kinds: ReadonlySet<string>): { kind: string; value: unknown } | null {
  let envelope: oriel.tdpb.v1.Envelope;
  try {
    envelope = Envelope.decode(bytes);
  } catch (error) {
    throw new ProtocolError(`bad envelope: ${(error as Error).message}`);
  }
  const kind = envelope.payload;
  if (kind === undefined || !kinds.has(kind)) return null;
  return { kind, value: (envelope as unknown as Record<string, unknown>)[kind] };
}

/** The numbers above are written out for the type checker; fail loudly if the schema moved. */
function checkEnums(): void {
  const expect = (name: string, values: Record<string, number>, prefix: string): void => {
    const actual = (oriel.tdpb.v1 as unknown as Record<string, Record<string, number>>)[name] ?? {};
    for (const [key, value] of Object.entries(values)) {
      if (actual[prefix + key] !== value) throw new Error(`tdpb.proto: ${name}.${prefix}${key} is not ${value}`);
    }
  };
  expect('Codec', Codec, 'CODEC_');
  expect('MouseButtonType', MouseButtonType, 'MOUSE_BUTTON_');
  expect('MouseWheelAxis', MouseWheelAxis, 'MOUSE_WHEEL_AXIS_');
  expect('AlertSeverity', AlertSeverity, 'ALERT_SEVERITY_');
  expect('SharedDirectoryErrorCode', SharedDirectoryErrorCode, 'SHARED_DIRECTORY_ERROR_CODE_');
  expect('FileType', FileType, 'FILE_TYPE_');
  expect('ParticipantMode', ParticipantMode, 'PARTICIPANT_MODE_');
}
