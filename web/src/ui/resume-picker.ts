// The choice a session page offers when the user already has sessions
// running on this desktop as this login: resume one, or start a new one.
import type { RunningSessionView } from '../api';

/** Shows the choice; `choose` gets the session id to resume, or null for a new session. */
export function showResumeChoice(parent: HTMLElement, sessions: readonly RunningSessionView[], choose: (sessionId: string | null) => void): () => void {
  const dialog = document.createElement('div');
  dialog.className = 'picker';
  dialog.id = 'resume-picker';
  dialog.setAttribute('role', 'dialog');
  dialog.setAttribute('aria-labelledby', 'resume-title');
  const title = document.createElement('h2');
  title.id = 'resume-title';
  title.textContent = sessions.length === 1 ? 'You have a session running here' : 'You have sessions running here';
  const list = document.createElement('div');
  list.className = 'picker-list';
  const pick = (sessionId: string | null): void => {
    dialog.remove();
    choose(sessionId);
  };
  for (const session of sessions) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'resume-session';
    button.dataset['sessionId'] = session.sessionId;
    const name = session.xsession === '' ? 'desktop session' : session.xsession;
    const label = document.createElement('span');
    label.textContent = `Resume ${name}, started ${session.started.toLocaleString()}`;
    if (session.attached) {
      button.title = 'It shows in another window now: resuming moves it here';
      label.textContent += ' (open elsewhere)';
    }
    const picture = session.thumbnail;
    if (picture !== null) {
      const canvas = document.createElement('canvas');
      canvas.className = 'resume-thumbnail';
      canvas.width = picture.width;
      canvas.height = picture.height;
      canvas.setAttribute('aria-hidden', 'true');
      canvas.getContext('2d')?.putImageData(new ImageData(picture.rgba, picture.width, picture.height), 0, 0);
      button.append(canvas);
    }
    button.append(label);
    button.addEventListener('click', () => pick(session.sessionId));
    list.append(button);
  }
  const fresh = document.createElement('button');
  fresh.type = 'button';
  fresh.id = 'new-session';
  fresh.className = 'secondary';
  fresh.textContent = 'New session';
  fresh.addEventListener('click', () => pick(null));
  list.append(fresh);
  dialog.append(title, list);
  parent.append(dialog);
  list.querySelector('button')?.focus();
  return () => dialog.remove();
}
