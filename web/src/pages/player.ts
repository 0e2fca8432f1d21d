// One recording's player: the recorded desktop on a canvas, the user's
// mouse over it, the controls, and the export to a video file. Test hooks:
// #player[data-player-state], [data-position-ms] and [data-video-frames]
// (VP8 frames of regions in motion painted), #player canvas
// (#screen), #player-error; the export's are in ui/player-export.ts.
import { ApiError, me, readRecording, type Recording } from '../api';
import { find, mount, say } from '../dom';
import { formatDuration } from '../duration';
import { Picture } from '../picture';
import { Player, type PlayerState, type PlayerView } from '../player';
import { Alerts } from '../ui/alerts';
import { offerLogout } from '../ui/logout';
import { PlayerControls } from '../ui/player-controls';
import { PlayerExport } from '../ui/player-export';
import { PlayerStage } from '../ui/player-stage';
import { RemoteCursor } from '../ui/remote-cursor';
import { fillTopbar } from '../ui/topbar';

const LOCAL_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export async function showPlayer(app: HTMLElement, id: string): Promise<void> {
  document.title = 'Recording · Oriel';
  const page = mount(app, 'player-page');
  const root = find(page, '#player', HTMLElement);
  const error = find(page, '#player-error', HTMLElement);
  const showState = (state: PlayerState): void => {
    root.dataset['playerState'] = state;
  };
  showState('loading');
  let player: Player | null = null;
  offerLogout(find(page, '#logout', HTMLButtonElement), () => player?.dispose());
  // The top bar is filled whenever /api/me answers; the recording does not wait for it.
  void me().then((who) => fillTopbar(page, who), () => {});

  let recording: Recording;
  try {
    recording = await readRecording(id);
  } catch (reason) {
    if (!(reason instanceof ApiError)) throw reason;
    showState('error');
    find(page, '.player-body', HTMLElement).hidden = true;
    say(error, openingError(reason));
    return;
  }
  describe(page, recording);

  const canvas = find(root, 'canvas', HTMLCanvasElement);
  const stage = find(root, '.player-stage', HTMLElement);
  const fitted = new PlayerStage(find(root, '.player-room', HTMLElement), stage, canvas);
  const cursor = new RemoteCursor(stage, canvas, find(stage, '.remote-cursor', HTMLImageElement));
  const alerts = new Alerts(find(stage, '.player-alerts', HTMLElement));

  const controls = new PlayerControls(find(root, '.player-controls', HTMLElement), recording.index.durationMs, {
    play: () => player?.play(),
    pause: () => player?.pause(),
    seek: (ms) => player?.seek(ms),
    speed: (speed) => player?.setSpeed(speed),
  });

  const picture = new Picture(canvas);
  // The position moves with the clock, so it is shown at each animation frame while playing.
  let ticking = false;
  const showPosition = (): void => {
    const ms = Math.floor(player?.position() ?? 0);
    root.dataset['positionMs'] = String(ms);
    root.dataset['videoFrames'] = String(picture.videoFrames);
    controls.position(ms);
  };
  const tick = (): void => {
    showPosition();
    if (root.dataset['playerState'] === 'playing' && root.isConnected) requestAnimationFrame(tick);
    else ticking = false;
  };

  const view: PlayerView = {
    state: (state) => {
      showState(state);
      controls.show(state);
      showPosition();
      if (state === 'playing' && !ticking) {
        ticking = true;
        requestAnimationFrame(tick);
      }
    },
    resized: () => {
      fitted.fit();
      cursor.resized();
    },
    cursorShape: (shape) => cursor.shape(shape),
    cursorAt: (x, y) => cursor.moveTo(x, y),
    click: (pressed) => cursor.click(pressed),
    toast: (severity, message) => alerts.toast(severity, message),
    ended: (message) => alerts.ended('The session ended', message),
    reset: () => {
      alerts.clear();
      cursor.reset();
    },
    failed: (message) => say(error, `This recording cannot be played: ${message}`),
  };

  player = new Player({ recording, picture, view, now: () => performance.now() });
  const videoExport = new PlayerExport(find(page, '.player-export', HTMLElement), recording);
  window.addEventListener('pagehide', () => {
    player?.dispose();
    videoExport.dispose();
  });
  player.start();
}

/** Whose session, where, when, and how long. */
function describe(page: HTMLElement, recording: Recording): void {
  const where = `${recording.login}@${recording.desktop}`;
  document.title = `Recording of ${where} · Oriel`;
  find(page, '.player-title', HTMLElement).textContent = where;
  const time = find(page, '.player-start', HTMLTimeElement);
  time.dateTime = recording.start.toISOString();
  time.textContent = LOCAL_TIME.format(recording.start);
  const others = recording.participants.filter((name) => name !== recording.user);
  find(page, '.player-user', HTMLElement).textContent = others.length === 0 ? recording.user : `${recording.user} (with ${others.join(', ')})`;
  find(page, '.player-duration', HTMLElement).textContent = formatDuration(recording.durationMs);
}

function openingError(reason: ApiError): string {
  if (reason.status === 404) return 'Recording not found. It may have been deleted, or your roles may not let you watch it.';
  if (reason.status === 403) return `You cannot watch recordings: ${reason.message}`;
  return `Cannot open the recording: ${reason.message}`;
}
