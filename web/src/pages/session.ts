// A desktop session page: address -> session -> screen, input and UI.
//
// The page outlives its sockets: a dropped connection is resumed by itself
// (with backoff, `reconnect.ts`), a reloaded tab resumes the session it
// showed (its id is kept in sessionStorage), and a new tab offers the
// user's running sessions next to a new one.
import { listRunningSessions, me } from '../api';
import { find, mount } from '../dom';
import { comboPresses } from '../key-combos';
import { sessionLayout } from '../keyboard-layout';
import { Reconnect } from '../reconnect';
import { sessionPath, socketUrl, type DesktopTarget } from '../route';
import { Screen } from '../screen';
import { Session, type SessionView } from '../session';
import { Alerts } from '../ui/alerts';
import { ClipboardPanel } from '../ui/clipboard-panel';
import { whileWaitingForKey } from '../ui/key-wait';
import { offerLogout } from '../ui/logout';
import { showXSessionPicker } from '../ui/picker';
import { showResumeChoice } from '../ui/resume-picker';
import { ShareDirectoryButton } from '../ui/share-directory';
import { Toolbar } from '../ui/toolbar';

declare global {
  interface Window {
    /** Test hook: lets end-to-end tests wait for paint without timing. */
    __oriel: { framesPainted: number };
  }
}

/** The desktop service's words for a session that is no longer there to resume. */
const GONE = /^there is no session \S+ of yours on this desktop to resume/;

export function showSession(app: HTMLElement, target: DesktopTarget, xsession: string | null): void {
  document.title = `${target.login}@${target.name} · Oriel`;
  window.__oriel = { framesPainted: 0 };
  const page = mount(app, 'session-page');
  const toolbar = new Toolbar(page);
  const status = toolbar.status;
  const alerts = new Alerts(find(page, '#alerts', HTMLElement));
  const screen = new Screen(find(page, '#viewport', HTMLElement), find(page, '#screen', HTMLCanvasElement));
  let session: Session | null = null;
  const clipboard = new ClipboardPanel(page, () => screen.canvas.focus({ preventScroll: true }));
  const directories = new ShareDirectoryButton(page, (message) => alerts.toast('warning', message));
  const keyWait = find(page, '#session-key-wait', HTMLElement);
  // This tab's session, so a reload resumes it.
  const remembered = `oriel-session:${sessionPath(target)}`;
  const reconnect = new Reconnect();
  let retry: ReturnType<typeof setTimeout> | null = null;
  let retryNow: (() => void) | null = null;
  /** This socket resumes the session this tab remembered (a reload), which may have ended since. */
  let resumingRemembered = false;

  const view: SessionView = {
    state: (state, text) => status.show(state, text),
    pickXSession: (names, pick) => showXSessionPicker(page, names, pick),
    waitForKey: (ask) => whileWaitingForKey(keyWait, ask),
    toast: (severity, message) => alerts.toast(severity, message),
    ended: (title, message) => {
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
    started: ({ sessionId, xsession: running }) => {
      reconnect.reset();
      resumingRemembered = false;
      sessionStorage.setItem(remembered, sessionId);
      // The address names the xsession, so a bookmark opens it directly.
      history.replaceState(null, '', sessionPath(target, running));
    },
    latency: (stats) => status.latency(stats),
    framePainted: () => window.__oriel.framesPainted++,
    clipboard,
    directories,
  };

  /** Opens a socket: a new session, or a resume of `resume`. */
  async function connect(resume: string | null): Promise<void> {
    session?.close();
    alerts.clear();
    if (resume === null) screen.clear();
    const spec = screen.latest() ?? (await screen.wanted());
    const keyboard = await sessionLayout();
    toolbar.setKeyboardLayout(keyboard.name);
    session = new Session({ url: socketUrl(location, target, resume), xsession, screen, view, keyboard, resume }, spec);
  }

  /** Resumes this tab's session, else offers the user's running ones, else starts one. */
  async function start(): Promise<void> {
    const mine = sessionStorage.getItem(remembered);
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
    if (running.length === 0) return connect(null);
    status.show('selecting', 'Resume a session, or start a new one');
    showResumeChoice(page, running, (sessionId) => void connect(sessionId));
  }

  toolbar.onKeys((combo) => session?.sendKeys(comboPresses(combo)));
  toolbar.onEndSession(() => {
    sessionStorage.removeItem(remembered);
    session?.end();
    status.show('closed', 'Session ended');
    status.offerReconnect(() => void start());
  });
  // Back online: try at once rather than at the end of the wait.
  window.addEventListener('online', () => retryNow?.());
  offerLogout(find(page, '#logout', HTMLButtonElement), () => {
    sessionStorage.removeItem(remembered);
    session?.close();
  });
  // Leaving the page leaves the session running, to be resumed.
  window.addEventListener('pagehide', () => {
    session?.close();
    toolbar.dispose();
  });
  void start();
}
