// A desktop session page: address -> session -> screen, input and UI.
//
// The page outlives its sockets: a dropped connection is resumed by itself
// (with backoff, `reconnect.ts`), a reloaded tab resumes the session it
// showed (its id is kept in sessionStorage), and a new tab offers the
// user's running sessions next to a new one.
//
// A join link (`?join=<session id>&mode=…`) opens another user's session
// instead: the page joins it, joins it again after a drop (the address
// keeps the join, so a reload does too), and never resumes or ends it nor
// remembers it as this tab's own. A refused join, a removal or the end of
// the session is final: the page shows why and tries no more.
import { listRunningSessions, me } from '../api';
import { find, mount } from '../dom';
import { comboPresses } from '../key-combos';
import { sessionLayout } from '../keyboard-layout';
import type { Participation } from '../participants';
import { Reconnect } from '../reconnect';
import { joinLink, sessionPath, socketUrl, type DesktopTarget, type Join, type JoinMode } from '../route';
import { Screen } from '../screen';
import { Session, type RunningSession, type SessionView } from '../session';
import { Alerts } from '../ui/alerts';
import { ClipboardPanel } from '../ui/clipboard-panel';
import { whileWaitingForKey } from '../ui/key-wait';
import { offerLogout } from '../ui/logout';
import { ParticipantsPanel, type Sharing } from '../ui/participants-panel';
import { showXSessionPicker } from '../ui/picker';
import { showResumeChoice } from '../ui/resume-picker';
import { ShareDirectoryButton } from '../ui/share-directory';
import { Toolbar } from '../ui/toolbar';

declare global {
  interface Window {
    /** Test hook: lets end-to-end tests wait for paint without timing. */
    __oriel: { framesPainted: number; regionsCopied: number; videoFrames: number };
  }
}

/** Whether this page was loaded by a reload (F5, the browser's button). */
function reloaded(): boolean {
  const [navigation] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
  return navigation?.type === 'reload';
}

/** The desktop service's words for a session that is no longer there to resume. */
const GONE = /^there is no session \S+ of yours on this desktop to resume/;

/** `join`: the page's address is a join link to another user's session. */
export function showSession(app: HTMLElement, target: DesktopTarget, xsession: string | null, join: Join | null): void {
  document.title = `${target.login}@${target.name} · Oriel`;
  window.__oriel = { framesPainted: 0, regionsCopied: 0, videoFrames: 0 };
  const page = mount(app, 'session-page');
  const toolbar = new Toolbar(page);
  toolbar.setDesktopKind(target.kind);
  const status = toolbar.status;
  const alerts = new Alerts(find(page, '#alerts', HTMLElement));
  const screen = new Screen(find(page, '#viewport', HTMLElement), find(page, '#screen', HTMLCanvasElement));
  let session: Session | null = null;
  const clipboard = new ClipboardPanel(page, () => screen.canvas.focus({ preventScroll: true }));
  const directories = new ShareDirectoryButton(page, (message) => alerts.toast('warning', message));
  const people = new ParticipantsPanel(page, () => screen.canvas.focus({ preventScroll: true }));
  const keyWait = find(page, '#session-key-wait', HTMLElement);
  // This tab's session, so a reload resumes it.
  const remembered = `oriel-session:${sessionPath(target)}`;
  const reconnect = new Reconnect();
  let retry: ReturnType<typeof setTimeout> | null = null;
  let retryNow: (() => void) | null = null;
  /** This socket resumes the session this tab remembered (a reload), which may have ended since. */
  let resumingRemembered = false;
  /** Another user's session this page joins; null once the server made the session this user's own. */
  let joining = join;
  /** The session shown, once it runs. */
  let current: RunningSession | null = null;
  /** How this page takes part, as the server last said. */
  let participation: Participation = joining?.mode ?? 'owner';

  /** The link a user invited as `mode` opens, as a whole address. */
  const link = (mode: JoinMode): string | null =>
    current === null ? null : new URL(joinLink(target, current.xsession, current.sessionId, mode), location.origin).href;
  /** The owner's side of the participants panel. */
  const sharing: Sharing = {
    invite: (user, mode) => {
      if (session === null) return null;
      session.invite(user, mode);
      return link(mode);
    },
    withdraw: (user) => session?.invite(user, null),
    remove: (viewer) => session?.remove(viewer),
    link,
  };

  const view: SessionView = {
    state: (state, text) => {
      status.show(state, text);
      if (state !== 'connected') people.stop();
    },
    pickXSession: (names, pick) => showXSessionPicker(page, names, pick),
    waitForKey: (ask) => whileWaitingForKey(keyWait, ask),
    toast: (severity, message) => alerts.toast(severity, message),
    ended: (title, message) => {
      if (joining !== null) {
        // Refused, removed, or the owner ended it: joining again would not help.
        alerts.ended(title, message);
        return;
      }
      // Ended for good (or refused): there is nothing of it to resume.
      sessionStorage.removeItem(remembered);
      if (resumingRemembered && GONE.test(message)) {
        // The session this tab showed ended while the page was away: start afresh.
        resumingRemembered = false;
        void start();
        return;
      }
      alerts.ended(title, message);
      status.offerReconnect(() => void start());
    },
    disconnected: () => {
      // A browser hides the HTTP status of a refused websocket upgrade, so
      // ask the API whether the cookie still holds: on 401 me() goes to the login page.
      void me().then(
        () => status.offerReconnect(() => void start()),
        () => status.offerReconnect(() => void start()),
      );
    },
    dropped: (reason, sessionId) => {
      const wait = reconnect.next(Date.now());
      if (wait === null) {
        status.show('closed', `Disconnected: ${reason}`);
        status.offerReconnect(() => void connect(sessionId));
        return;
      }
      status.show('reconnecting', `Reconnecting… (${reason})`);
      // A logout elsewhere sends this page to the login page instead.
      void me().catch(() => {});
      retryNow = () => {
        retryNow = null;
        if (retry !== null) clearTimeout(retry);
        retry = null;
        void connect(sessionId);
      };
      retry = setTimeout(retryNow, wait);
    },
    started: (started) => {
      reconnect.reset();
      current = started;
      participation = started.participation;
      toolbar.setParticipation(participation);
      people.start(participation, sharing);
      // A server from before session sharing ignores the join and starts a session of this user's own.
      if (participation === 'owner') joining = null;
      if (joining !== null) {
        // The address stays a join link (naming the xsession): a reload joins again.
        history.replaceState(null, '', joinLink(target, started.xsession, joining.sessionId, joining.mode));
        return;
      }
      resumingRemembered = false;
      sessionStorage.setItem(remembered, started.sessionId);
      // The address names the xsession, so a bookmark opens it directly.
      history.replaceState(null, '', sessionPath(target, started.xsession));
    },
    participants: (list) => {
      toolbar.setParticipants(list.participants.length);
      people.show(list);
    },
    latency: (stats) => status.latency(stats),
    link: (estimate) => status.link(estimate),
    framePainted: () => {
      window.__oriel.framesPainted++;
      window.__oriel.regionsCopied = screen.copies;
      window.__oriel.videoFrames = screen.videoFrames;
    },
    clipboard,
    directories,
  };

  /**
   * Opens a socket: a new session, or a resume of `resume`. A join page
   * joins instead; with `resume` (the drop's session), it joins again.
   */
  async function connect(resume: string | null): Promise<void> {
    session?.close();
    alerts.clear();
    if (resume === null) screen.clear();
    const spec = screen.latest() ?? (await screen.wanted());
    const keyboard = await sessionLayout();
    toolbar.setKeyboardLayout(keyboard.name);
    const options = { xsession, screen, view, keyboard };
    session =
      joining === null
        ? new Session({ ...options, url: socketUrl(location, target, resume), resume, join: null }, spec)
        : new Session(
            { ...options, url: socketUrl(location, target, null, joining), resume: null, join: { ...joining, again: resume !== null } },
            spec,
          );
  }

  /** Resumes this tab's session, else offers the user's running ones, else starts one. */
  async function start(): Promise<void> {
    if (joining !== null) return connect(null);
    // Only a reload goes straight back: coming here from the desktop list
    // (or a link) is a choice, offered below when there is one to make.
    const mine = reloaded() ? sessionStorage.getItem(remembered) : null;
    if (mine !== null) {
      resumingRemembered = true;
      return connect(mine);
    }
    let running: Awaited<ReturnType<typeof listRunningSessions>> = [];
    try {
      running = await listRunningSessions(target.kind, target.name, target.login);
    } catch (error) {
      // Nothing to resume is no reason to keep the user from a new session.
      console.warn('oriel: running sessions not listed', error);
    }
    // Only a session nobody watches calls for the choice: one open in
    // another window stays there unless the person moves it (listed too).
    if (!running.some((session) => !session.attached)) return connect(null);
    status.show('selecting', 'Resume a session, or start a new one');
    showResumeChoice(page, running, (sessionId) => void connect(sessionId));
  }

  toolbar.onKeys((combo) => session?.sendKeys(comboPresses(combo)));
  toolbar.onEndSession(() => {
    people.stop();
    if (participation !== 'owner') {
      // Another user's session goes on without this page.
      session?.close();
      status.show('closed', 'You left the session');
      status.offerReconnect(() => void start());
      return;
    }
    sessionStorage.removeItem(remembered);
    session?.end();
    status.show('closed', 'Session ended');
    status.offerReconnect(() => void start());
  });
  // Back online: try at once rather than at the end of the wait.
  window.addEventListener('online', () => retryNow?.());
  offerLogout(find(page, '#logout', HTMLButtonElement), () => {
    if (joining === null) sessionStorage.removeItem(remembered);
    session?.close();
  });
  // Leaving the page leaves the session running, to be resumed.
  window.addEventListener('pagehide', () => {
    session?.close();
    toolbar.dispose();
  });
  void start();
}
