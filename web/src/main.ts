// Wires the page together: address -> session -> screen, input and UI.
import './style.css';
import { forgetToken, readRoute, socketUrl } from './route';
import { Screen } from './screen';
import { Session, type SessionView } from './session';
import { Alerts } from './ui/alerts';
import { showXSessionPicker } from './ui/picker';
import { StatusBar } from './ui/status';

declare global {
  interface Window {
    /** Test hook: lets end-to-end tests wait for paint without timing. */
    __oriel: { framesPainted: number };
  }
}

window.__oriel = { framesPainted: 0 };

const route = readRoute(location);
forgetToken();

const status = new StatusBar(element('status'));
const alerts = new Alerts(element('alerts'));
const screen = new Screen(element('viewport'), element('screen') as HTMLCanvasElement);
let session: Session | null = null;

const view: SessionView = {
  state: (state, text) => status.show(state, text),
  pickXSession: (names, pick) => showXSessionPicker(document.body, names, pick),
  toast: (severity, message) => alerts.toast(severity, message),
  ended: (title, message) => {
    alerts.ended(title, message);
    status.offerReconnect(connect);
  },
  disconnected: () => status.offerReconnect(connect),
  latency: (stats) => status.latency(stats),
  framePainted: () => window.__oriel.framesPainted++,
};

async function connect(): Promise<void> {
  const token = route.token;
  if (token === null) {
    status.show('closed', 'No session token');
    alerts.ended('No session token', 'Open this desktop again from the list of desktops.');
    return;
  }
  session?.close();
  alerts.clear();
  screen.clear();
  const spec = screen.latest() ?? (await screen.wanted());
  session = new Session({ url: socketUrl(location, token), xsession: route.xsession, screen, view }, spec);
}

window.addEventListener('pagehide', () => session?.close());
void connect();

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`index.html has no #${id}`);
  return found;
}
