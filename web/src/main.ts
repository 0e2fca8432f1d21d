// Wiring: the address names a page; each page is loaded on demand, so the
// login page does not fetch the desktop session's protocol code.
import './style.css';
import { DESKTOPS_PATH, LOGIN_PATH, readRoute, type Route } from './route';

const app = document.getElementById('app');
if (app === null) throw new Error('index.html has no #app');

void show(readRoute(location), app);

async function show(route: Route, app: HTMLElement): Promise<void> {
  document.body.dataset['page'] = route.page;
  switch (route.page) {
    case 'home':
      return home(app);
    case 'login':
      return (await import('./pages/login')).showLogin(app, route.redirect);
    case 'invite':
      return (await import('./pages/invite')).showInvite(app, route.secret);
    case 'desktops':
      return (await import('./pages/desktops')).showDesktops(app);
    case 'audit':
      return (await import('./pages/audit')).showAudit(app);
    case 'recordings':
      return (await import('./pages/recordings')).showRecordings(app);
    case 'player':
      return (await import('./pages/player')).showPlayer(app, route.recording);
    case 'account':
      return (await import('./pages/account')).showAccount(app);
    case 'session':
      return (await import('./pages/session')).showSession(app, route.target, route.xsession, route.join);
    case 'unknown':
      return (await import('./pages/unknown')).showUnknown(app);
  }
}

/** `/` is the desktop list when logged in and the login page otherwise. */
async function home(app: HTMLElement): Promise<void> {
  const { me, ApiError } = await import('./api');
  try {
    await me('refused');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      history.replaceState(null, '', LOGIN_PATH);
      return show(readRoute(location), app);
    }
  }
  history.replaceState(null, '', DESKTOPS_PATH);
  return show({ page: 'desktops' }, app);
}
