// A desktop session page: address -> session -> screen, input and UI.
import { me } from '../api';
import { find, mount } from '../dom';
import { sessionLayout } from '../keyboard-layout';
import { socketUrl, type DesktopTarget } from '../route';
import { Screen } from '../screen';
import { Session, type SessionView } from '../session';
import { Alerts } from '../ui/alerts';
import { ClipboardPanel } from '../ui/clipboard-panel';
import { whileWaitingForKey } from '../ui/key-wait';
import { offerLogout } from '../ui/logout';
import { showXSessionPicker } from '../ui/picker';
import { ShareDirectoryButton } from '../ui/share-directory';
import { StatusBar } from '../ui/status';

declare global {
  interface Window {
    /** Test hook: lets end-to-end tests wait for paint without timing. */
    __oriel: { framesPainted: number };
  }
}

export function showSession(app: HTMLElement, target: DesktopTarget, xsession: string | null): void {
  document.title = `${target.login}@${target.name} · Oriel`;
  window.__oriel = { framesPainted: 0 };
  const page = mount(app, 'session-page');
  const status = new StatusBar(find(page, '#status', HTMLElement));
  const alerts = new Alerts(find(page, '#alerts', HTMLElement));
  const screen = new Screen(find(page, '#viewport', HTMLElement), find(page, '#screen', HTMLCanvasElement));
  let session: Session | null = null;
  const clipboard = new ClipboardPanel(page, () => screen.canvas.focus({ preventScroll: true }));
  const directories = new ShareDirectoryButton(page, (message) => alerts.toast('warning', message));
  const keyWait = find(page, '#session-key-wait', HTMLElement);

  const view: SessionView = {
    state: (state, text) => status.show(state, text),
    pickXSession: (names, pick) => showXSessionPicker(page, names, pick),
    waitForKey: (ask) => whileWaitingForKey(keyWait, ask),
    toast: (severity, message) => alerts.toast(severity, message),
    ended: (title, message) => {
      alerts.ended(title, message);
      status.offerReconnect(connect);
    },
    disconnected: () => {
      // A browser hides the HTTP status of a refused websocket upgrade, so
      // ask the API whether the cookie still holds: on 401 me() goes to the login page.
      void me().then(() => status.offerReconnect(connect), () => status.offerReconnect(connect));
    },
    latency: (stats) => status.latency(stats),
    framePainted: () => window.__oriel.framesPainted++,
    clipboard,
    directories,
  };

  async function connect(): Promise<void> {
    session?.close();
    alerts.clear();
    screen.clear();
    const spec = screen.latest() ?? (await screen.wanted());
    const keyboard = await sessionLayout();
    session = new Session({ url: socketUrl(location, target), xsession, screen, view, keyboard }, spec);
  }

  offerLogout(find(page, '#logout', HTMLButtonElement), () => session?.close());
  window.addEventListener('pagehide', () => session?.close());
  void connect();
}
