// The session's state machine (src/session.ts) around per-session MFA,
// resuming and session sharing, through its public face: a fake websocket carries real TDPB frames, a
// fake view records what the person is shown, and a fake authenticator
// stands behind navigator.credentials. The session's screen, input and
// decoder worker get the least that lets them be built; the worker answers
// when a test plays its part, and frames go to a real Picture.
import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const src = join(import.meta.dirname, '../src');
assert.ok(existsSync(join(src, 'generated/tdpb.js')), 'src/generated/tdpb.js is missing: run `npm run proto` first');
// Bundled together, so the codec is one module for the session and for the test.
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
const { output } = await build({
  input: { session: join(src, 'session.ts'), protocol: join(src, 'protocol.ts'), tdpb: join(src, 'generated/tdpb.js'), picture: join(src, 'picture.ts') },
  write: false,
  logLevel: 'silent',
});
for (const chunk of output) writeFileSync(join(dir, chunk.fileName), chunk.type === 'chunk' ? chunk.code : chunk.source);
const { Session } = await import(pathToFileURL(join(dir, 'session.js')));
const { encodeFrame, AlertSeverity, ParticipantMode, Codec } = await import(pathToFileURL(join(dir, 'protocol.js')));
const { Picture } = await import(pathToFileURL(join(dir, 'picture.js')));
const { oriel } = await import(pathToFileURL(join(dir, 'tdpb.js')));
rmSync(dir, { recursive: true });

const NO_KEY =
  'per-session MFA (required by role "mfa"): this desktop asks for your security key or passkey before each session, and you have none: add one on your Account page (/web/account), then connect again';
const CANCELLED = 'per-session MFA was cancelled; nothing was started';
const CHALLENGE = { type: 'webauthn', json: JSON.stringify({ publicKey: { challenge: 'AQID', rpId: 'localhost', allowCredentials: [{ type: 'public-key', id: 'BAUG' }] } }) };
const HELLO = { width: 800, height: 600, xsessions: [{ name: 'Idle' }], protocolVersion: 1, codec: 2 };

/** The socket the session opened: what it sent, decoded, and how it was closed. */
class FakeSocket {
  static OPEN = 1;
  static last = null;
  readyState = 0;
  sent = [];
  closed = null;

  constructor(url) {
    this.url = url;
    FakeSocket.last = this;
  }

  send(frame) {
    const envelope = oriel.tdpb.v1.Envelope.decode(frame.subarray(4));
    this.sent.push({ [envelope.payload]: envelope[envelope.payload] });
  }

  close(code, reason) {
    this.closed ??= { code, reason };
    this.readyState = 3;
  }

  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen();
  }

  /** The server sends `message` (an Envelope's payload as an object). */
  receive(message) {
    const frame = encodeFrame(message);
    this.onmessage({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
  }

  mfaSent() {
    return this.sent.filter((message) => 'mfa' in message).map(({ mfa }) => ({ type: mfa.type, json: mfa.json }));
  }
}

/** The decoder worker: takes rects, and answers only when a test plays its part. */
class FakeWorker {
  static last = null;

  constructor() {
    FakeWorker.last = this;
  }

  postMessage() {}
  terminate() {}

  /** The worker says what became of a rect (decoder-messages.ts's DecodedPiece). */
  answer(piece) {
    this.onmessage({ data: piece });
  }
}

/** The authenticator behind navigator.credentials.get: answers, or waits for the page to withdraw. */
let key;
const keys = {
  answers: { asked: 0, get: async () => (keys.answers.asked++, assertion()) },
  absent: {
    asked: 0,
    get: ({ signal }) =>
      new Promise((_, fail) => {
        keys.absent.asked++;
        signal.addEventListener('abort', () => fail(new DOMException('withdrawn', 'AbortError')));
      }),
  },
};

class PublicKeyCredential {}
class AuthenticatorAssertionResponse {}
function assertion() {
  const credential = new PublicKeyCredential();
  const response = new AuthenticatorAssertionResponse();
  Object.assign(response, { authenticatorData: new Uint8Array([1]).buffer, clientDataJSON: new Uint8Array([0x7b, 0x7d]).buffer, signature: new Uint8Array([2]).buffer, userHandle: null });
  Object.assign(credential, { id: 'BAUG', rawId: new Uint8Array([4, 5, 6]).buffer, type: 'public-key', response, getClientExtensionResults: () => ({}) });
  return credential;
}

// Input hangs all its listeners on one AbortSignal, which Node (not a browser) warns about.
EventEmitter.defaultMaxListeners = 50;
Object.assign(globalThis, {
  WebSocket: FakeSocket,
  Worker: FakeWorker,
  window: Object.assign(new EventTarget(), { devicePixelRatio: 1 }),
  document: Object.assign(new EventTarget(), { visibilityState: 'visible' }),
  cancelAnimationFrame: () => {},
  PublicKeyCredential,
  AuthenticatorAssertionResponse,
});
Object.defineProperty(globalThis, 'navigator', { value: { credentials: { get: (options) => key.get(options) } }, configurable: true });

/** What the person sees: status texts, the key prompt, the reason the session ended. */
function fakeView() {
  const view = {
    states: [],
    endings: [],
    disconnects: [],
    drops: [],
    running: [],
    lists: [],
    prompt: null,
    prompts: 0,
    state: (state, text) => view.states.push([state, text]),
    pickXSession: () => () => {},
    waitForKey: async (ask) => {
      const cancel = new AbortController();
      view.prompt = { cancel: () => cancel.abort() };
      view.prompts++;
      try {
        return await ask(cancel.signal);
      } finally {
        view.prompt = null;
      }
    },
    toast: () => {},
    ended: (title, message) => view.endings.push([title, message]),
    disconnected: (reason) => view.disconnects.push(reason),
    dropped: (reason, sessionId) => view.drops.push([reason, sessionId]),
    started: (running) => view.running.push(running),
    participants: (list) => view.lists.push(list),
    latency: () => {},
    link: () => {},
    framePainted: () => {},
    clipboard: {},
    directories: { start: () => {}, stop: () => {} },
  };
  return view;
}

/**
 * The canvas, and the sizes it was given; `resized` plays the window
 * changing size. Pieces of frames go to a real Picture, on a canvas that
 * draws nothing.
 */
function fakeScreen() {
  const canvas = Object.assign(new EventTarget(), { focus: () => {} });
  const context = { putImageData: () => {}, drawImage: () => {}, fillRect: () => {} };
  const picture = new Picture({ getContext: () => context });
  const screen = {
    canvas,
    sizes: [],
    listener: null,
    setSize: (width, height) => screen.sizes.push([width, height]),
    setCursor: () => {},
    paint: (piece) => picture.paint(piece),
    onResize: (listener) => (screen.listener = listener),
    latest: () => null,
    resized: (spec) => screen.listener?.(spec),
  };
  return screen;
}

/**
 * A session whose socket is open and whose ClientHello went out; `resume`
 * names a running session to resume, `join` another user's session to join.
 */
function start(resume = null, join = null) {
  const view = fakeView();
  const screen = fakeScreen();
  const session = new Session(
    { url: 'wss://localhost/api/desktop/ws', xsession: null, screen, view, keyboard: { name: 'us', klid: 0x409 }, resume, join },
    { width: 800, height: 600, scale: 100 },
  );
  const socket = FakeSocket.last;
  socket.open();
  assert.deepEqual(Object.keys(socket.sent[0]), ['clientHello']);
  return { session, socket, view, screen };
}

/** Lets the key's promise chain run. */
const settle = () => new Promise((done) => setImmediate(done));
const lastState = (view) => view.states.at(-1)[0];

beforeEach(() => {
  // The grace before the client closes after an ERROR alert: not waited for here.
  mock.timers.enable({ apis: ['setTimeout'] });
  keys.answers.asked = 0;
  keys.absent.asked = 0;
});
afterEach(() => mock.timers.reset());

test('the proxy asks for the key: the prompt shows, the answer goes back, the session goes on', async () => {
  key = keys.answers;
  const { socket, view } = start();
  socket.receive({ mfa: CHALLENGE });
  assert.equal(view.prompts, 1);
  assert.deepEqual(view.states.at(-1), ['connecting', 'Waiting for your security key…']);
  await settle();
  assert.equal(view.prompt, null, 'the prompt is gone');
  const [answer, ...more] = socket.mfaSent();
  assert.equal(more.length, 0, 'one answer');
  assert.equal(answer.type, 'webauthn');
  assert.deepEqual(JSON.parse(answer.json), {
    id: 'BAUG',
    rawId: 'BAUG',
    type: 'public-key',
    response: { authenticatorData: 'AQ', clientDataJSON: 'e30', signature: 'Ag', userHandle: null },
    extensions: {},
  });
  socket.receive({ serverHello: HELLO });
  assert.equal(lastState(view), 'connected');
  assert.deepEqual(view.endings, []);
});

test('Cancel: the empty answer goes back and the session ends with the reason; the proxy’s alert after it is not shown', async () => {
  key = keys.absent;
  const { socket, view } = start();
  socket.receive({ mfa: CHALLENGE });
  await settle();
  assert.equal(keys.absent.asked, 1, 'the browser was asked');
  view.prompt.cancel();
  await settle();
  assert.equal(view.prompt, null);
  assert.deepEqual(socket.mfaSent(), [{ type: 'webauthn', json: '' }]);
  assert.deepEqual(view.endings, [['Security key check failed', 'the security key did not answer']]);
  assert.equal(lastState(view), 'closed');
  assert.equal(socket.closed, null, 'the proxy closes, after its alert');
  socket.receive({ alert: { message: CANCELLED, severity: AlertSeverity.ERROR } });
  assert.equal(view.endings.length, 1, 'the alert after the end is not shown');
});

test('no key at all: the proxy’s alert says where to add one, under its own title', () => {
  const { socket, view } = start();
  socket.receive({ alert: { message: NO_KEY, severity: AlertSeverity.ERROR } });
  assert.deepEqual(view.endings, [['A security key check is required', NO_KEY]]);
  assert.equal(view.prompts, 0);
  assert.deepEqual(socket.mfaSent(), []);
});

test('an answer the proxy refuses ends the session as a failed check', async () => {
  key = keys.answers;
  const { socket, view } = start();
  socket.receive({ mfa: CHALLENGE });
  await settle();
  const refused = 'per-session MFA (required by role "mfa"): the security key\'s answer was refused';
  socket.receive({ alert: { message: refused, severity: AlertSeverity.ERROR } });
  assert.deepEqual(view.endings, [['Security key check failed', refused]]);
  // Other refusals keep their titles.
  const denied = start();
  denied.socket.receive({ alert: { message: 'access denied: no role allows login "nobody"', severity: AlertSeverity.ERROR } });
  assert.deepEqual(denied.view.endings.map(([title]) => title), ['Access denied']);
});

test('the session ending while the prompt shows withdraws the request and sends nothing', async () => {
  key = keys.absent;
  const { socket, view } = start();
  socket.receive({ mfa: CHALLENGE });
  await settle();
  const late = 'per-session MFA (required by role "mfa"): no answer from your security key within two minutes';
  socket.receive({ alert: { message: late, severity: AlertSeverity.ERROR } });
  await settle();
  assert.equal(view.prompt, null, 'the prompt is gone');
  assert.deepEqual(socket.mfaSent(), [], 'no answer after the end');
  assert.deepEqual(view.endings, [['Security key check failed', late]]);

  const left = start();
  left.socket.receive({ mfa: CHALLENGE });
  await settle();
  left.session.close();
  await settle();
  assert.equal(left.view.prompt, null);
  assert.deepEqual(left.socket.mfaSent(), []);
  assert.deepEqual(left.view.endings, []);
});

test('a challenge after ServerHello, or a second one, is a protocol error', async () => {
  key = keys.answers;
  const after = start();
  after.socket.receive({ serverHello: HELLO });
  after.socket.receive({ mfa: CHALLENGE });
  assert.deepEqual(after.view.endings, [['Protocol error', 'an MFA challenge arrived after ServerHello']]);
  assert.equal(after.view.prompts, 0);
  assert.equal(after.socket.closed.code, 4000);

  key = keys.absent;
  const twice = start();
  twice.socket.receive({ mfa: CHALLENGE });
  twice.socket.receive({ mfa: CHALLENGE });
  await settle();
  assert.deepEqual(twice.view.endings, [['Protocol error', 'a second MFA challenge arrived']]);
  assert.equal(twice.view.prompt, null, 'the first prompt is withdrawn');
  assert.deepEqual(twice.socket.mfaSent(), []);
});

test('a challenge this page cannot use is cancelled without asking the key', async () => {
  key = keys.answers;
  const { socket, view } = start();
  socket.receive({ mfa: { type: 'webauthn', json: '{"publicKey":{}}' } });
  await settle();
  assert.equal(keys.answers.asked, 0);
  assert.deepEqual(socket.mfaSent(), [{ type: 'webauthn', json: '' }]);
  assert.deepEqual(view.endings, [['Security key check failed', 'the server sent security key options this page cannot use: publicKey.challenge is not a string']]);
});

const SID = '0190f0a0-1234-7000-8000-00000000abcd';

test('a connection that drops once the xsession runs is resumable; one that drops before is not', () => {
  const { socket, view } = start();
  socket.receive({ serverHello: { ...HELLO, sessionId: SID } });
  assert.deepEqual(view.running, [{ sessionId: SID, xsession: 'Idle', participation: 'owner' }]);
  socket.onclose({ code: 1006, reason: '' });
  assert.deepEqual(view.drops, [['the connection was lost', SID]]);
  assert.deepEqual(view.disconnects, []);

  const picking = start();
  picking.socket.receive({ serverHello: { ...HELLO, sessionId: SID, xsessions: [{ name: 'A' }, { name: 'B' }] } });
  assert.equal(lastState(picking.view), 'selecting');
  picking.socket.onclose({ code: 1006, reason: '' });
  assert.deepEqual(picking.view.drops, [], 'nothing ran yet: the service ended it');
  assert.deepEqual(picking.view.disconnects, ['the connection was lost']);
});

test('a resumed session shows at once, without a picker, and a drop while resuming tries again', () => {
  const { socket, view } = start(SID);
  assert.deepEqual(view.states[0], ['connecting', 'Resuming the session…']);
  socket.receive({ serverHello: { ...HELLO, xsessions: [{ name: 'A' }, { name: 'B' }], sessionId: SID, resumedXsession: 'B' } });
  assert.equal(lastState(view), 'connected');
  assert.deepEqual(view.running, [{ sessionId: SID, xsession: 'B', participation: 'owner' }]);
  assert.equal(socket.sent.some((message) => 'sessionSelection' in message), false, 'nothing to choose');

  // The proxy is down: the socket closes before any answer, and the page tries again.
  const again = start(SID);
  again.socket.onclose({ code: 1006, reason: '' });
  assert.deepEqual(again.view.drops, [['the connection was lost', SID]]);
});

test('ending the session says so to the desktop; keys a browser keeps go as presses', () => {
  const { session, socket } = start();
  socket.receive({ serverHello: { ...HELLO, sessionId: SID } });
  session.sendKeys([
    { keyCode: 0x1d, pressed: true },
    { keyCode: 0x1d, pressed: false },
  ]);
  session.end();
  const sent = socket.sent.filter((message) => 'keyboardButton' in message || 'endSession' in message);
  assert.deepEqual(sent.map((message) => Object.keys(message)[0]), ['keyboardButton', 'keyboardButton', 'endSession']);
  assert.equal(socket.closed.code, 1000);
});

test('a resume the proxy cannot pass on yet is tried again; one the desktop refuses ends with its reason', () => {
  const unreachable = start(SID);
  unreachable.socket.receive({ alert: { message: 'the desktop service is unreachable: no tunnel', severity: AlertSeverity.ERROR } });
  assert.deepEqual(unreachable.view.endings, [], 'not yet: the close decides');
  unreachable.socket.onclose({ code: 1013, reason: 'desktop unavailable' });
  assert.deepEqual(unreachable.view.drops, [['the desktop service is unreachable: no tunnel', SID]]);
  assert.deepEqual(unreachable.view.endings, []);

  const gone = start(SID);
  const why = `there is no session ${SID} of yours on this desktop to resume: it ended, or it never existed; start a new one`;
  gone.socket.receive({ alert: { message: why, severity: AlertSeverity.ERROR } });
  gone.socket.onclose({ code: 1000, reason: '' });
  assert.deepEqual(gone.view.endings, [['Cannot connect to the desktop', why]]);
  assert.deepEqual(gone.view.drops, []);
  assert.equal(lastState(gone.view), 'closed');
});

// Session sharing: the owner invites, a user joins as a peer or an observer.

/** A joiner's ServerHello: the owner's session runs, so no choice to make. */
const JOINED = { ...HELLO, xsessions: [{ name: 'A' }, { name: 'B' }], sessionId: SID, resumedXsession: 'B' };
const ALICE_AND_BOB = {
  participants: [
    { viewer: 1, user: 'alice', mode: ParticipantMode.OWNER },
    { viewer: 2, user: 'bob', mode: ParticipantMode.OBSERVER, you: true },
  ],
  invited: [
    { user: 'bob', mode: ParticipantMode.OBSERVER },
    { user: 'carol', mode: ParticipantMode.PEER },
    { user: 'nobody', mode: ParticipantMode.UNSPECIFIED },
  ],
};

/** A joiner's session, connected as `mode`. */
function joined(mode, again = false) {
  const started = start(null, { sessionId: SID, mode, again });
  const participantMode = mode === 'peer' ? ParticipantMode.PEER : ParticipantMode.OBSERVER;
  started.socket.receive({ serverHello: { ...JOINED, participantMode } });
  return started;
}

/** Plays a key press on the canvas, as the browser would deliver it. */
function pressKey(canvas, code) {
  const event = Object.assign(new Event('keydown', { cancelable: true }), { code, key: 'a', keyCode: 65, isComposing: false, getModifierState: () => false });
  canvas.dispatchEvent(event);
}

/** The kinds of what the client sent after its ClientHello. */
const sentKinds = (socket) => socket.sent.slice(1).map((message) => Object.keys(message)[0]);
/** What an InviteParticipant or RemoveParticipant said, as plain data. */
const sharingSent = (socket) =>
  socket.sent.flatMap((message) =>
    'inviteParticipant' in message ? [{ invite: { user: message.inviteParticipant.user, mode: message.inviteParticipant.mode } }]
    : 'removeParticipant' in message ? [{ remove: message.removeParticipant.viewer }]
    : [],
  );

test('an observer joins without a picker and sends no input: no keys, no clipboard, no directories, no End', () => {
  const { session, socket, view, screen } = start(null, { sessionId: SID, mode: 'observer', again: false });
  assert.deepEqual(view.states[0], ['connecting', 'Joining the session…']);
  socket.receive({ serverHello: { ...JOINED, participantMode: ParticipantMode.OBSERVER, clipboardEnabled: true, directorySharingEnabled: true } });
  assert.equal(lastState(view), 'connected');
  assert.deepEqual(view.running, [{ sessionId: SID, xsession: 'B', participation: 'observer' }]);
  assert.deepEqual(view.states.at(-1), ['connected', 'Watching a shared session']);

  pressKey(screen.canvas, 'KeyA');
  session.sendKeys([
    { keyCode: 0x1d, pressed: true },
    { keyCode: 0x1d, pressed: false },
  ]);
  screen.resized({ width: 640, height: 480, scale: 100 });
  session.end();
  assert.deepEqual(sentKinds(socket), [], 'nothing: no selection, keys, sync, resize or EndSession');
  assert.equal(socket.closed.code, 1000, 'it leaves');
});

test('a peer joins and types; it neither resizes the owner’s screen nor ends the session', () => {
  const { session, socket, view, screen } = joined('peer');
  assert.deepEqual(view.running, [{ sessionId: SID, xsession: 'B', participation: 'peer' }]);
  assert.deepEqual(view.states.at(-1), ['connected', 'Working in a shared session']);
  pressKey(screen.canvas, 'KeyA');
  session.sendKeys([{ keyCode: 0x1d, pressed: true }]);
  screen.resized({ width: 640, height: 480, scale: 100 });
  assert.deepEqual(sentKinds(socket), ['syncKeys', 'keyboardButton', 'keyboardButton']);
  session.end();
  assert.deepEqual(sentKinds(socket).slice(3), ['keyboardButton'], 'only the release of the key still down, no EndSession');
});

test('the remote screen changes size: a participant’s follows the owner’s, an owner’s follows a size the host imposed, once connected', () => {
  const early = start(null, { sessionId: SID, mode: 'peer', again: false });
  early.socket.receive({ clientScreenSpec: { width: 1024, height: 768, scale: 100 } });
  assert.deepEqual(early.screen.sizes, [], 'not before ServerHello');

  const { socket, screen } = joined('observer');
  assert.deepEqual(screen.sizes, [[800, 600]], 'ServerHello’s size');
  socket.receive({ clientScreenSpec: { width: 1024, height: 768, scale: 100 } });
  assert.deepEqual(screen.sizes, [[800, 600], [1024, 768]]);

  const owner = start();
  owner.socket.receive({ serverHello: { ...HELLO, sessionId: SID, participantMode: ParticipantMode.OWNER } });
  owner.socket.receive({ clientScreenSpec: { width: 1024, height: 768, scale: 100 } });
  assert.deepEqual(owner.screen.sizes, [[800, 600], [1024, 768]], 'an RDP host sets its own size');
  owner.screen.resized({ width: 640, height: 480, scale: 100 });
  assert.deepEqual(sentKinds(owner.socket), ['clientScreenSpec'], 'the owner’s window sets the size');
});

test('who is in the session reaches the view while connected, and the status names the owner', () => {
  const { socket, view } = start(null, { sessionId: SID, mode: 'observer', again: false });
  socket.receive({ sessionParticipants: ALICE_AND_BOB });
  assert.deepEqual(view.lists, [], 'held until connected');
  socket.receive({ serverHello: { ...JOINED, participantMode: ParticipantMode.OBSERVER } });
  const people = {
    participants: [
      { viewer: 1, user: 'alice', mode: 'owner', you: false },
      { viewer: 2, user: 'bob', mode: 'observer', you: true },
    ],
    invited: [
      { user: 'bob', mode: 'observer' },
      { user: 'carol', mode: 'peer' },
    ],
  };
  assert.deepEqual(view.lists, [people]);
  assert.deepEqual(view.states.at(-1), ['connected', "Watching alice's session"]);

  socket.receive({ sessionParticipants: { ...ALICE_AND_BOB, invited: [] } });
  assert.deepEqual(view.lists.at(-1), { ...people, invited: [] });
  assert.equal(view.states.filter(([state]) => state === 'connected').length, 1, 'the same owner: the status is not said again');

  const peer = joined('peer');
  peer.socket.receive({ sessionParticipants: ALICE_AND_BOB });
  assert.deepEqual(peer.view.states.at(-1), ['connected', 'Working with alice']);
});

test('the owner invites, withdraws and removes; nobody else can, nor before the session runs', () => {
  const { session, socket, view } = start();
  session.invite('early', 'peer');
  socket.receive({ serverHello: { ...HELLO, sessionId: SID, participantMode: ParticipantMode.OWNER } });
  assert.deepEqual(view.running, [{ sessionId: SID, xsession: 'Idle', participation: 'owner' }]);
  assert.deepEqual(view.states.at(-1), ['connected', 'Connected']);
  session.invite('bob', 'observer');
  session.invite('carol', 'peer');
  session.invite('bob', null);
  session.remove(2);
  assert.deepEqual(sharingSent(socket), [
    { invite: { user: 'bob', mode: ParticipantMode.OBSERVER } },
    { invite: { user: 'carol', mode: ParticipantMode.PEER } },
    { invite: { user: 'bob', mode: ParticipantMode.UNSPECIFIED } },
    { remove: 2 },
  ]);

  for (const mode of ['peer', 'observer']) {
    const participant = joined(mode);
    participant.session.invite('mallory', 'peer');
    participant.session.remove(1);
    assert.deepEqual(sharingSent(participant.socket), [], mode);
  }
});

test('a server from before session sharing says no mode: the connection is the owner’s', () => {
  const { session, socket, view } = start();
  socket.receive({ serverHello: { ...HELLO, sessionId: SID } });
  assert.deepEqual(view.running, [{ sessionId: SID, xsession: 'Idle', participation: 'owner' }]);
  session.invite('bob', 'peer');
  assert.deepEqual(sharingSent(socket), [{ invite: { user: 'bob', mode: ParticipantMode.PEER } }]);
});

test('a refused join ends with the reason; a joined connection that drops joins again', () => {
  const refused = start(null, { sessionId: SID, mode: 'peer', again: false });
  const why = `you are not invited to session ${SID}`;
  refused.socket.receive({ alert: { message: why, severity: AlertSeverity.ERROR } });
  assert.deepEqual(refused.view.endings, [['Cannot join the session', why]]);
  refused.socket.onclose({ code: 1000, reason: '' });
  assert.deepEqual(refused.view.drops, []);

  const { socket, view } = joined('observer');
  socket.onclose({ code: 1006, reason: '' });
  assert.deepEqual(view.drops, [['the connection was lost', SID]], 'the page joins again');

  // Joining again while the proxy cannot reach the desktop: tried again, as a resume is.
  const again = start(null, { sessionId: SID, mode: 'observer', again: true });
  assert.deepEqual(again.view.states[0], ['connecting', 'Joining the session again…']);
  again.socket.receive({ alert: { message: 'the desktop service is unreachable: no tunnel', severity: AlertSeverity.ERROR } });
  again.socket.onclose({ code: 1013, reason: 'desktop unavailable' });
  assert.deepEqual(again.view.drops, [['the desktop service is unreachable: no tunnel', SID]]);
  assert.deepEqual(again.view.endings, []);
});

test('removed by the owner: the session ends for this participant, with no drop to come back from', () => {
  const { socket, view } = joined('peer');
  const why = "the session's owner removed you from the session";
  socket.receive({ alert: { message: why, severity: AlertSeverity.ERROR } });
  assert.deepEqual(view.endings, [['Removed from the session', why]]);
  socket.onclose({ code: 1000, reason: '' });
  assert.deepEqual(view.drops, []);
  assert.deepEqual(view.disconnects, []);
});

// Frames that do not decode.

/** What the worker answers for a CODEC_QOIZ_SESSION rect: an empty frame, or a part of one. */
const decoded = (frameId, { endOfFrame = true, resetContext = false } = {}) => ({ kind: 'ops', frameId, endOfFrame, resetContext, ops: new ArrayBuffer(0) });
const corrupt = (frameId, { endOfFrame = true, resetContext = false } = {}) => ({ kind: 'corrupt', frameId, endOfFrame, resetContext, message: `frame ${frameId}: bad zstd` });
const skipped = (frameId, endOfFrame = true) => ({ kind: 'skipped', frameId, endOfFrame });
/** KeyframeRequests and acks, in the order they went out. */
const frameTraffic = (socket) =>
  socket.sent.flatMap((message) => ('keyframeRequest' in message ? ['keyframe?'] : 'frameAck' in message ? [message.frameAck.frameId] : []));

test('ClientHello offers the session stream first, then the older codecs', () => {
  const { socket } = start();
  assert.deepEqual(socket.sent[0].clientHello.codecs, [Codec.QOIZ_SESSION, Codec.QOIZ_STREAM, Codec.QOIZ]);
});

test('ClientHello names the whole monitor in device pixels, so the session pays for no larger a screen', (t) => {
  t.after(() => Object.assign(window, { screen: undefined, devicePixelRatio: 1 }));
  Object.assign(window, { screen: { width: 1440, height: 900 }, devicePixelRatio: 2 });
  const { width, height, scale } = start().socket.sent[0].clientHello.monitor;
  assert.deepEqual({ width, height, scale }, { width: 2880, height: 1800, scale: 200 });
  // Where the page cannot tell (no screen), the hello leaves it out and the host's cap applies.
  Object.assign(window, { screen: undefined, devicePixelRatio: 1 });
  assert.equal(start().socket.sent[0].clientHello.monitor ?? null, null);
});

test('a frame that does not decode asks once for a keyframe; every frame is acknowledged, painted or not', (t) => {
  const warn = t.mock.method(console, 'warn', () => {});
  let painted = 0;
  const { socket, view } = start();
  view.framePainted = () => painted++;
  socket.receive({ serverHello: HELLO });
  const worker = FakeWorker.last;

  worker.answer(decoded(1));
  assert.equal(painted, 1);
  // Frame 2 breaks in its first part; its second is skipped, and so is frame 3.
  worker.answer(corrupt(2, { endOfFrame: false }));
  worker.answer(skipped(2));
  worker.answer(skipped(3));
  assert.deepEqual(frameTraffic(socket), [1, 'keyframe?', 2, 3]);
  assert.equal(painted, 1, 'the dropped frames are not painted');
  assert.equal(warn.mock.callCount(), 1);
  assert.match(warn.mock.calls[0].arguments[0], /frame 2: bad zstd/);

  // The keyframe asked for decodes: it is painted, and a later failure asks again.
  worker.answer(decoded(4, { resetContext: true }));
  worker.answer(decoded(5));
  assert.equal(painted, 3);
  worker.answer(corrupt(6));
  assert.deepEqual(frameTraffic(socket), [1, 'keyframe?', 2, 3, 4, 5, 'keyframe?', 6]);
  assert.equal(lastState(view), 'connected', 'the session goes on');
  assert.deepEqual(view.endings, []);
});

test('a keyframe that does not decode either is asked for again', (t) => {
  t.mock.method(console, 'warn', () => {});
  const { socket } = start();
  socket.receive({ serverHello: HELLO });
  const worker = FakeWorker.last;
  worker.answer(corrupt(1));
  worker.answer(skipped(2));
  worker.answer(corrupt(3, { resetContext: true }));
  worker.answer(decoded(4, { resetContext: true }));
  assert.deepEqual(frameTraffic(socket), ['keyframe?', 1, 2, 'keyframe?', 3, 4]);
});

test('the decoder giving up ends the session', () => {
  const { socket, view } = start();
  socket.receive({ serverHello: HELLO });
  FakeWorker.last.onmessage({ data: { kind: 'error', message: 'cannot decode frame 9: 3 keyframes in a row did not decode' } });
  assert.deepEqual(view.endings, [['Cannot show the desktop', 'cannot decode frame 9: 3 keyframes in a row did not decode']]);
  assert.equal(socket.closed.code, 4000);
});
