// One desktop session over one websocket:
//
//   connecting --Mfa challenge, the key answers--> connecting (the proxy dials now)
//   connecting --ServerHello, one xsession or a named one--> connected
//   connecting --ServerHello, several xsessions--> selecting --pick--> connected
//   connecting --ServerHello naming a resumed (or joined) xsession--> connected
//   any state --socket closed, ERROR alert, the decoder giving up, protocol error--> closed
//
// A socket that closes without the server saying why (no ERROR alert) is a
// drop: once the session has an id (or this connection resumes one), the
// view hears `dropped` and resumes it (or joins it again) over a new
// socket; the desktop service keeps it for its grace period. Only `end`
// ends it for good.
// Input is forwarded only while connected; frames are decoded in a worker
// and acknowledged once painted, which is the server's back-pressure signal.
// A frame that does not decode is not the session's end: the worker skips
// frames until a keyframe, which the session asks for, and each frame is
// still acknowledged when it ends, painted or not.
//
// A session may be shared: its owner invites users, who join it
// (`join=<session id>`) as peers (input too) or observers (no input at
// all, nor clipboard or shared directories). A joined connection that
// drops comes back by joining again; it never resumes or ends the session,
// and the owner's screen size is the one it shows.
import { ClipboardSync, type ClipboardView } from './clipboard';
import { cursorStyle } from './cursor';
import { FrameDecoder, type DecodedPiece } from './decoder';
import { Input } from './input';
import type { KeyboardLayout } from './keyboard-layout';
import {
  helloParticipation,
  inviteMode,
  ownerName,
  participationNote,
  readParticipants,
  type Participants,
  type Participation,
} from './participants';
import {
  AlertSeverity,
  Codec,
  ProtocolError,
  ProtocolVersion,
  decodeFrame,
  encodeFrame,
  type ClientMessage,
  type LatencyStats,
  type LinkEstimate,
  type Mfa,
  type ScreenSpec,
  type ServerHello,
  type ServerMessage,
  type SharedDirectoryRequest,
} from './protocol';
import type { Join, JoinMode } from './route';
import { monitorSpec, type Screen } from './screen';
import { signWithKey } from './security-key';
import { answerChallenge } from './session-mfa';
import { SharedDirectory } from './shared-directory';
import { decodesVp8 } from './video-support';
import type { AssertionAnswer } from './webauthn';

/** Also #status[data-state], which tests wait on; `reconnecting` is the page's, between sockets. */
export type SessionState = 'connecting' | 'selecting' | 'connected' | 'reconnecting' | 'closed';

/** The session the desktop runs, once connected. */
export interface RunningSession {
  /** Its id, to resume it with. */
  sessionId: string;
  /** The xsession it runs (the page's address follows it). */
  xsession: string;
  /** Whose connection this is: the owner's, or an invited user's. */
  participation: Participation;
}

/** Close code for errors on the client's side (4000-4999 is for applications). */
const CLIENT_ERROR_CLOSE = 4000;
/** The proxy's close code for a desktop it cannot reach now (RFC 6455's "try again later"). */
const TRY_AGAIN_CLOSE = 1013;
/** After an ERROR alert the server closes the socket; if it does not, the client does. */
const SERVER_CLOSE_GRACE_MS = 5000;
/** The title when the per-session MFA check did not pass. */
const KEY_CHECK_FAILED = 'Security key check failed';

/** What the session shows; main.ts backs it with the DOM. */
export interface SessionView {
  state(state: SessionState, text: string): void;
  /** Asks the user to choose; returns a function that withdraws the question. */
  pickXSession(names: readonly string[], pick: (name: string) => void): () => void;
  /**
   * The desktop asks for the user's security key before the session: shows
   * so, with Cancel (which aborts `signal`), while `ask` runs.
   */
  waitForKey(ask: (signal: AbortSignal) => Promise<AssertionAnswer>): Promise<AssertionAnswer>;
  toast(severity: 'info' | 'warning', message: string): void;
  /** The session is over for a reason the user must read. */
  ended(title: string, message: string): void;
  /** The connection dropped without the session saying why: offer to reconnect. */
  disconnected(reason: string): void;
  /** The connection dropped and the session can be resumed: resume it. */
  dropped(reason: string, sessionId: string): void;
  /** The desktop session runs and is shown. */
  started(session: RunningSession): void;
  /** Who is in the session and whom its owner invited, while connected: at first, then on each change. */
  participants(list: Participants): void;
  latency(stats: LatencyStats): void;
  /** The desktop's estimate of the link, each time it changes. */
  link(estimate: LinkEstimate): void;
  /** The clipboard panel and its button, used only while the session shares the clipboard. */
  readonly clipboard: ClipboardView;
  /** The Share directory button, offered only while the desktop takes shared directories. */
  readonly directories: DirectorySharingView;
  framePainted(): void;
}

/** What directory sharing shows; ui/share-directory.ts backs it with the DOM. */
export interface DirectorySharingView {
  /** Sharing is possible: `share` shares a picked directory. */
  start(share: (handle: FileSystemDirectoryHandle) => void): void;
  /** The session is over. */
  stop(): void;
}

export interface SessionOptions {
  url: string;
  /** An xsession to start without asking, if the desktop offers one by this name. */
  xsession: string | null;
  screen: Screen;
  view: SessionView;
  /** The desktop's keyboard layout (see keyboard-layout.ts). */
  keyboard: KeyboardLayout;
  /** The running session this socket resumes (`url` names it too), if any. */
  resume: string | null;
  /** Another user's session this socket joins (`url` names it too), if any. */
  join: SessionJoin | null;
}

/** Another user's session to join. */
export interface SessionJoin extends Join {
  /**
   * This page was in the session and its connection dropped: as a resume's,
   * a refusal the proxy says may pass is tried again.
   */
  again: boolean;
}

export class Session {
  readonly #screen: Screen;
  readonly #view: SessionView;
  readonly #xsessionHint: string | null;
  readonly #keyboard: KeyboardLayout;
  readonly #socket: WebSocket;
  readonly #decoder: FrameDecoder;
  readonly #input: Input;
  #state: SessionState = 'connecting';
  /** The screen last asked of the server; a resize is sent only when the wanted one differs. */
  #requested: ScreenSpec;
  #withdrawPicker: (() => void) | null = null;
  /** The proxy asked for the per-session MFA check (once at most, before ServerHello). */
  #challenged = false;
  /** Withdraws the browser's request for the key while it is open. */
  #keyRequest: AbortController | null = null;
  /** Set once the user has been told why the session ended; the close that follows says nothing new. */
  #explained = false;
  /** ServerHello.clipboardEnabled: the user's roles let the clipboard cross. */
  #clipboardEnabled = false;
  #clipboard: ClipboardSync | null = null;
  /** ServerHello.directorySharingEnabled. */
  #directorySharing = false;
  /** Shared directories by id, from the announce on (until refused). */
  readonly #directories = new Map<number, SharedDirectory>();
  #nextDirectoryId = 1;
  /** Requests are answered one after another, in the order they came. */
  #answering: Promise<void> = Promise.resolve();
  /** The session's id: known from ServerHello, or the one this socket resumes. */
  #sessionId: string | null;
  /** A drop can be resumed: this socket resumes, or its xsession runs (before, the service ends it). */
  #resumable: boolean;
  /** A resume's refusal, held until the close says whether trying again may help. */
  #heldRefusal: string | null = null;
  /** This socket joins another user's session. */
  readonly #joining: boolean;
  /** As the join asked until ServerHello says (an owner's connection unless joining). */
  #participation: Participation;
  /** The server's latest list, kept until connected. */
  #participants: Participants | null = null;
  /** A KeyframeRequest went out and no keyframe has come back from the decoder since: another would only repeat it. */
  #keyframeRequested = false;

  constructor(options: SessionOptions, spec: ScreenSpec) {
    this.#screen = options.screen;
    this.#view = options.view;
    this.#xsessionHint = options.xsession;
    this.#keyboard = options.keyboard;
    this.#requested = spec;
    this.#sessionId = options.resume ?? options.join?.sessionId ?? null;
    this.#resumable = options.resume !== null || options.join?.again === true;
    this.#joining = options.join !== null;
    this.#participation = options.join?.mode ?? 'owner';
    this.#view.state('connecting', connectingText(options));

    this.#decoder = new FrameDecoder({
      piece: (piece) => this.#paint(piece),
      error: (message) => this.#fail('Cannot show the desktop', message),
    });
    this.#input = new Input(this.#screen.canvas, (message) => this.#send(message));
    this.#screen.onResize((wanted) => this.#resize(wanted));

    this.#socket = new WebSocket(options.url);
    this.#socket.binaryType = 'arraybuffer';
    this.#socket.onopen = () => this.#hello(spec);
    this.#socket.onmessage = (event: MessageEvent<ArrayBuffer | string>) => this.#receive(event.data);
    this.#socket.onclose = (event) => this.#closed(event);
  }

  /** Leaves the session from this side (page teardown, reconnect): it stays resumable. */
  close(): void {
    this.#explained = true;
    this.#teardown();
    this.#socket.close(1000, 'client closed');
  }

  /** Ends the session for good: the desktop service stops it now. Only its owner may; anyone else just leaves. */
  end(): void {
    if (this.#participation === 'owner') this.#send({ endSession: {} });
    this.close();
  }

  /** Presses keys the browser would keep for itself (Ctrl+Alt+Del…), in order; an observer sends none. */
  sendKeys(presses: readonly { keyCode: number; pressed: boolean }[]): void {
    if (this.#state !== 'connected' || this.#participation === 'observer') return;
    for (const keyboardButton of presses) this.#send({ keyboardButton });
  }

  /** The owner lets `user` join the session as `mode`; null withdraws the invitation. */
  invite(user: string, mode: JoinMode | null): void {
    if (this.#state !== 'connected' || this.#participation !== 'owner') return;
    this.#send({ inviteParticipant: { user, mode: inviteMode(mode) } });
  }

  /** The owner sends the participant `viewer` away (their invitation goes with them). */
  remove(viewer: number): void {
    if (this.#state !== 'connected' || this.#participation !== 'owner') return;
    this.#send({ removeParticipant: { viewer } });
  }

  #hello(spec: ScreenSpec): void {
    // VP8 for regions in motion only where WebCodecs decodes it; the lossless codecs always.
    const video = decodesVp8() ? [Codec.VP8] : [];
    this.#send({
      clientHello: {
        username: '',
        screenSpec: spec,
        keyboardLayout: this.#keyboard.klid,
        protocolVersion: ProtocolVersion,
        codecs: [Codec.QOIZ_SESSION, ...video, Codec.QOIZ_STREAM, Codec.QOIZ],
        keyboardLayoutName: this.#keyboard.name,
        monitor: monitorSpec(),
      },
    });
  }

  #receive(data: ArrayBuffer | string): void {
    if (this.#state === 'closed') return;
    if (typeof data === 'string') {
      this.#fail('Protocol error', 'the server sent a text message');
      return;
    }
    let message: ServerMessage | null;
    try {
      message = decodeFrame(data);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#fail('Protocol error', error.message);
      return;
    }
    if (message !== null) this.#handle(message);
  }

  #handle(message: ServerMessage): void {
    switch (message.kind) {
      case 'serverHello':
        this.#serverHello(message.value);
        break;
      case 'frameRect':
        if (this.#state === 'connecting') {
          this.#fail('Protocol error', 'a frame arrived before ServerHello');
        } else {
          this.#decoder.decode(message.value);
        }
        break;
      case 'cursorImage':
        this.#screen.setCursor(cursorStyle(message.value));
        break;
      case 'mfa':
        this.#checkKey(message.value);
        break;
      case 'alert': {
        const { severity, message: text } = message.value;
        if (severity === AlertSeverity.ERROR && this.#state === 'connecting' && this.#resumable) {
          // A resume refused: the close that follows says whether to try again.
          this.#heldRefusal = text;
          setTimeout(() => this.#socket.close(1000, 'session refused'), SERVER_CLOSE_GRACE_MS);
        } else if (severity === AlertSeverity.ERROR) {
          // The server closes the socket next; input stops now.
          const title = this.#state === 'connecting' ? refusalTitle(text, this.#challenged, this.#joining) : endedTitle(text);
          this.#fail(title, text, false);
        } else {
          this.#view.toast(severity === AlertSeverity.WARNING ? 'warning' : 'info', text);
        }
        break;
      }
      case 'ping':
        this.#send({ ping: { id: message.value.id } });
        break;
      case 'latencyStats':
        this.#view.latency(message.value);
        break;
      case 'linkEstimate':
        this.#view.link(message.value);
        break;
      case 'clipboardData':
        // The server sends none unless the clipboard is shared.
        this.#clipboard?.fromDesktop(message.value.data);
        break;
      case 'sharedDirectoryAcknowledge': {
        const { directoryId, errorCode } = message.value;
        const directory = this.#directories.get(directoryId);
        if (directory === undefined) break;
        if (errorCode === 0) {
          this.#view.toast('info', `“${directory.root.name}” is shared: the desktop shows it in your home folder`);
        } else {
          // The server's WARNING alert says why.
          this.#directories.delete(directoryId);
        }
        break;
      }
      case 'sharedDirectoryRequest':
        this.#answer(message.value);
        break;
      case 'sessionParticipants':
        this.#participantsChanged(readParticipants(message.value));
        break;
      case 'clientScreenSpec':
        // The remote screen changed size, and a keyframe of the new size
        // follows: the owner's screen, for a participant; for the owner, a
        // size the host imposed (an RDP host sets its own).
        if (this.#state === 'connected') {
          this.#screen.setSize(message.value.width, message.value.height);
        }
        break;
    }
  }

  #participantsChanged(list: Participants): void {
    const before = ownerName(this.#participants);
    this.#participants = list;
    if (this.#state !== 'connected') return;
    this.#view.participants(list);
    // The status line names the owner once the list does.
    if (ownerName(list) !== before) this.#view.state('connected', this.#note());
  }

  /** The status line while connected. */
  #note(): string {
    return participationNote(this.#participation, ownerName(this.#participants));
  }

  /**
   * The per-session MFA check: the key's answer, or the empty one that
   * cancels (the proxy then says so, starts nothing and closes; the session
   * has ended by then, so that alert is not shown over the reason here).
   */
  #checkKey(challenge: Mfa): void {
    if (this.#state !== 'connecting') {
      this.#fail('Protocol error', 'an MFA challenge arrived after ServerHello');
      return;
    }
    if (this.#challenged) {
      this.#fail('Protocol error', 'a second MFA challenge arrived');
      return;
    }
    this.#challenged = true;
    this.#view.state('connecting', 'Waiting for your security key…');
    const request = new AbortController();
    this.#keyRequest = request;
    const sign = (publicKey: PublicKeyCredentialRequestOptions): Promise<AssertionAnswer> =>
      this.#view.waitForKey((cancel) => signWithKey(publicKey, AbortSignal.any([cancel, request.signal])));
    answerChallenge(challenge, sign).then(
      ({ answer, failure }) => {
        this.#keyRequest = null;
        // Ended meanwhile (an alert, a drop, the page left): the request was withdrawn.
        if (this.#state === 'closed') return;
        this.#send({ mfa: answer });
        if (failure === null) this.#view.state('connecting', 'Connecting…');
        else this.#fail(KEY_CHECK_FAILED, failure, false);
      },
      (error: unknown) => {
        this.#keyRequest = null;
        // A bug, not the key: closing the socket is enough for the proxy to start nothing.
        console.error('oriel: the security key check failed', error);
        this.#fail(KEY_CHECK_FAILED, error instanceof Error ? error.message : String(error));
      },
    );
  }

  #serverHello(hello: ServerHello): void {
    if (this.#state !== 'connecting') {
      this.#fail('Protocol error', 'a second ServerHello arrived');
      return;
    }
    // The server fits the screen to what it can do; its size stands until the next resize.
    this.#screen.setSize(hello.width, hello.height);
    this.#clipboardEnabled = hello.clipboardEnabled;
    this.#directorySharing = hello.directorySharingEnabled;
    this.#participation = helloParticipation(hello.participantMode);
    if (hello.sessionId !== '') this.#sessionId = hello.sessionId;
    const names = hello.xsessions.map((xsession) => xsession.name);
    if (hello.resumedXsession !== '') {
      // A running session (resumed, or joined): no choice to make, and a keyframe follows.
      this.#connected(hello.resumedXsession);
    } else if (names.length === 0) {
      this.#fail('No desktop session', 'this desktop offers no session to start');
    } else if (names.length === 1) {
      // The server starts the only session without waiting for a choice.
      this.#connected(names[0] ?? '');
    } else if (this.#xsessionHint !== null && names.includes(this.#xsessionHint)) {
      this.#select(this.#xsessionHint);
    } else {
      this.#state = 'selecting';
      this.#view.state('selecting', 'Choose a desktop session');
      this.#withdrawPicker = this.#view.pickXSession(names, (name) => this.#select(name));
    }
  }

  #select(xsession: string): void {
    this.#withdrawPicker = null;
    this.#send({ sessionSelection: { xsession } });
    this.#connected(xsession);
  }

  #connected(xsession: string): void {
    this.#state = 'connected';
    this.#resumable = true;
    const participation = this.#participation;
    this.#view.state('connected', this.#note());
    if (this.#sessionId !== null) this.#view.started({ sessionId: this.#sessionId, xsession, participation });
    if (this.#participants !== null) this.#view.participants(this.#participants);
    // An observer only watches: no input, no clipboard, no directories,
    // whatever the server would allow (it drops them too).
    const watching = participation === 'observer';
    if (!watching) this.#input.enable();
    // Only now: before the desktop runs, the server drops what the client sends.
    if (this.#clipboardEnabled && !watching) {
      const warn = (text: string): void => this.#view.toast('warning', text);
      this.#clipboard = new ClipboardSync(this.#screen.canvas, (message) => this.#send(message), this.#view.clipboard, warn);
    }
    if (this.#directorySharing && !watching) this.#view.directories.start((handle) => this.#share(handle));
    this.#screen.canvas.focus({ preventScroll: true });
    // The window may have changed while the handshake ran.
    const wanted = this.#screen.latest();
    if (wanted !== null) this.#resize(wanted);
  }

  /** Shares a picked directory: the desktop mounts it and asks for its files. */
  #share(handle: FileSystemDirectoryHandle): void {
    if (this.#state !== 'connected') return;
    const directoryId = this.#nextDirectoryId++;
    this.#directories.set(directoryId, new SharedDirectory(directoryId, handle));
    this.#send({ sharedDirectoryAnnounce: { directoryId, name: handle.name } });
  }

  #answer(request: SharedDirectoryRequest): void {
    const directory = this.#directories.get(request.directoryId);
    this.#answering = this.#answering.then(async () => {
      const response =
        directory === undefined ? { completionId: request.completionId, errorCode: 1 } : await directory.answer(request);
      this.#send({ sharedDirectoryResponse: response });
    });
  }

  /** The owner's window sets the desktop's size; a participant's shows what the owner's does. */
  #resize(wanted: ScreenSpec): void {
    if (this.#state !== 'connected' || this.#participation !== 'owner') return;
    const requested = this.#requested;
    if (wanted.width === requested.width && wanted.height === requested.height && wanted.scale === requested.scale) {
      return;
    }
    this.#requested = wanted;
    this.#screen.setSize(wanted.width, wanted.height);
    this.#send({ clientScreenSpec: wanted });
  }

  #paint(piece: DecodedPiece): void {
    if (this.#state === 'closed') return;
    // A keyframe's rect back from the decoder, decoded or not, answers the request for one.
    if (piece.kind !== 'skipped' && piece.kind !== 'video' && piece.resetContext) this.#keyframeRequested = false;
    if (piece.kind === 'corrupt') this.#askForKeyframe(piece.message);
    const frame = this.#screen.paint(piece);
    if (frame === 'pending') return;
    if (frame === 'painted') this.#view.framePainted();
    // A dropped frame is acknowledged too: the server paces itself by acks, and the keyframe comes after it.
    this.#send({ frameAck: { frameId: piece.frameId } });
  }

  /** A rect did not decode, so the worker skips to the next keyframe: asks for one, unless it is already asked for. */
  #askForKeyframe(message: string): void {
    console.warn(`oriel: a frame did not decode, skipping to a keyframe: ${message}`);
    if (this.#keyframeRequested) return;
    this.#keyframeRequested = true;
    this.#send({ keyframeRequest: {} });
  }

  #send(message: ClientMessage): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    try {
      this.#socket.send(encodeFrame(message));
    } catch (error) {
      // Only a message over the size limit gets here: a client bug, not the user's problem.
      console.error('oriel: message not sent', error);
    }
  }

  /**
   * Ends the session with a reason for the user. `closeSocket` is false when
   * the server has said it is ending the session and will close the socket itself.
   */
  #fail(title: string, message: string, closeSocket = true): void {
    if (this.#state === 'closed') return;
    this.#explained = true;
    this.#teardown();
    this.#view.ended(title, message);
    this.#view.state('closed', title);
    if (closeSocket) this.#socket.close(CLIENT_ERROR_CLOSE, truncate(message, 120));
    else setTimeout(() => this.#socket.close(1000, 'session ended'), SERVER_CLOSE_GRACE_MS);
  }

  #closed(event: CloseEvent): void {
    const explained = this.#explained;
    this.#teardown();
    if (explained) return;
    const refusal = this.#heldRefusal;
    if (refusal !== null && !(event.code === TRY_AGAIN_CLOSE && this.#sessionId !== null)) {
      const title = refusalTitle(refusal, this.#challenged, this.#joining);
      this.#view.ended(title, refusal);
      this.#view.state('closed', title);
      return;
    }
    const reason = refusal ?? (event.reason || describeClose(event.code));
    if (this.#resumable && this.#sessionId !== null) {
      this.#view.dropped(reason, this.#sessionId);
      return;
    }
    this.#view.state('closed', `Disconnected: ${reason}`);
    this.#view.disconnected(reason);
  }

  /** Idempotent: #fail or close() run it first, the socket's close event again. */
  #teardown(): void {
    this.#state = 'closed';
    this.#withdrawPicker?.();
    this.#withdrawPicker = null;
    this.#keyRequest?.abort();
    this.#keyRequest = null;
    this.#input.dispose();
    this.#clipboard?.dispose();
    this.#clipboard = null;
    this.#view.directories.stop();
    this.#directories.clear();
    this.#decoder.dispose();
    this.#screen.onResize(null);
  }
}

/** What the status line says while the socket opens. */
function connectingText({ resume, join }: SessionOptions): string {
  if (join !== null) return join.again ? 'Joining the session again…' : 'Joining the session…';
  return resume === null ? 'Connecting…' : 'Resuming the session…';
}

/**
 * The title for an ERROR alert before ServerHello: the desktop was never
 * reached, or the user may not reach it (or join the session: `joining`),
 * or not without a key's answer (`challenged`: the proxy asked for one, so
 * this is its refusal).
 */
function refusalTitle(message: string, challenged: boolean, joining: boolean): string {
  if (/^access denied\b/i.test(message)) return 'Access denied';
  // The proxy's own words; the message says why and, without a key, where to add one.
  if (/^per-session MFA \(required by\b/.test(message)) return challenged ? KEY_CHECK_FAILED : 'A security key check is required';
  return joining ? 'Cannot join the session' : 'Cannot connect to the desktop';
}

/** The title for an ERROR alert once connected. */
function endedTitle(message: string): string {
  // The desktop service's words to a participant the owner sent away.
  if (/\bremoved you from the session\b/.test(message)) return 'Removed from the session';
  return 'The session ended';
}

function describeClose(code: number): string {
  switch (code) {
    case 1000:
      return 'the session was closed';
    case 1001:
      return 'the server is going away';
    case 1006:
      return 'the connection was lost';
    case 1008:
      return 'the server refused the connection';
    case 1011:
      return 'the server hit an internal error';
    default:
      return `connection closed (code ${code})`;
  }
}

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
function truncate(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  let out = text;
  while (encoder.encode(out).length > maxBytes) out = out.slice(0, -1);
  return out;
}
