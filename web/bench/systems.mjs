// The two systems of the peer benchmark, each up to a page in Chromium that
// is connected to a 1600x900 X screen running the same xsession, painting,
// and counting the websocket bytes it receives:
//  - Oriel: the real daemon (web/e2e/oriel.mjs), one session in the page;
//  - x11vnc: its own Xvfb, x11vnc on it, websockify serving noVNC.
// Everything listens on 127.0.0.1 only.
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH, CHROMIUM_ARGS } from '../e2e/browser.mjs';
import { startOriel, acceptInvite, xDisplay, x, PATIENCE_MS } from '../e2e/oriel.mjs';
import { readProcs, descendants, spawnTracked, stopTracked, trackTree, untrackTree, killTree } from './procs.mjs';

export const WIDTH = 1600;
export const HEIGHT = 900;
/** xsetroot's #3366cc, which both canvases show where no window is. */
const ROOT_RGB = [0x33, 0x66, 0xcc];
const NOVNC = '/usr/share/novnc';
const SESSION = 'Bench desktop';

/**
 * Polls `check` every 50 ms until it returns a truthy value, which it
 * returns; fails with `what` after PATIENCE_MS, or at once when one of
 * `children` (tracked processes) has exited.
 */
export async function until(what, check, children = []) {
  const deadline = Date.now() + PATIENCE_MS;
  let last;
  for (;;) {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${child.spawnargs.join(' ')} exited (${child.exitCode ?? child.signalCode}) while waiting for ${what}:\n${child.output()}`);
      }
    }
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} (last: ${last?.message ?? last})`);
    await sleep(50);
  }
}

/** The root window's size on `display`, as "WxH". */
export function rootSize(display) {
  const info = x(display, 'xwininfo', ['-root']).toString();
  return `${info.match(/Width: (\d+)/)[1]}x${info.match(/Height: (\d+)/)[1]}`;
}

/**
 * Counts what the page receives on its websockets, two ways: CDP's
 * Network.webSocketFrameReceived (the benchmark's numbers: decoded payload
 * bytes of binary frames, UTF-8 bytes of text frames) and, as a check, a
 * listener on every WebSocket the page makes. Call before the page opens
 * its socket. `start()` begins a window; `stop()` ends it and returns
 * { bytes, frames, pageBytes, pageFrames }.
 */
async function frameCounter(context, page) {
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    const seen = { bytes: 0, frames: 0 };
    Object.defineProperty(window, '__benchWebSocket', { value: seen });
    // A native socket, not a subclass: noVNC checks the properties of its
    // prototype, which must stay WebSocket.prototype.
    function CountedWebSocket(...args) {
      const socket = new Native(...args);
      socket.addEventListener('message', (event) => {
        const data = event.data;
        seen.frames++;
        seen.bytes += typeof data === 'string' ? new TextEncoder().encode(data).length : (data.byteLength ?? data.size);
      });
      return socket;
    }
    CountedWebSocket.prototype = Native.prototype;
    for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) CountedWebSocket[name] = Native[name];
    window.WebSocket = CountedWebSocket;
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const counter = { counting: false, bytes: 0, frames: 0, sockets: [], extensions: new Set() };
  cdp.on('Network.webSocketCreated', ({ url }) => counter.sockets.push(url));
  cdp.on('Network.webSocketHandshakeResponseReceived', ({ response }) => {
    const header = Object.entries(response.headers ?? {}).find(([name]) => name.toLowerCase() === 'sec-websocket-extensions');
    counter.extensions.add(header ? header[1] : 'none');
  });
  cdp.on('Network.webSocketFrameReceived', ({ response }) => {
    if (!counter.counting) return;
    if (response.opcode === 2) {
      counter.bytes += Buffer.from(response.payloadData, 'base64').length;
    } else if (response.opcode === 1) {
      counter.bytes += Buffer.byteLength(response.payloadData, 'utf8');
    } else {
      return;
    }
    counter.frames++;
  });
  const pageCount = () => page.evaluate(() => ({ ...window.__benchWebSocket }));
  let pageStart;
  return {
    counter,
    async start() {
      pageStart = await pageCount();
      counter.bytes = 0;
      counter.frames = 0;
      counter.counting = true;
    },
    async stop() {
      counter.counting = false;
      const pageEnd = await pageCount();
      return { bytes: counter.bytes, frames: counter.frames, pageBytes: pageEnd.bytes - pageStart.bytes, pageFrames: pageEnd.frames - pageStart.frames };
    },
  };
}

/** Whether the canvas `selector` shows the root's blue at (x, y) (within 8 a channel: noVNC's JPEG). */
async function showsRoot(page, selector, px, py) {
  const got = await page.evaluate(
    ([selector, px, py]) => {
      const canvas = document.querySelector(selector);
      return canvas && canvas.width > 0 ? Array.from(canvas.getContext('2d').getImageData(px, py, 1, 1).data) : null;
    },
    [selector, px, py],
  );
  if (got && ROOT_RGB.every((v, i) => Math.abs(v - got[i]) <= 8)) return true;
  throw new Error(`the canvas has ${got ? `rgba(${got.join()})` : 'no pixels'} at ${px},${py}`);
}

async function canvasSize(page, selector) {
  return page.evaluate((selector) => {
    const canvas = document.querySelector(selector);
    return canvas ? `${canvas.width}x${canvas.height}` : 'none';
  }, selector);
}

/**
 * Launches Chromium as web/e2e/browser.mjs does (the same binary and
 * flags), except that Playwright leaves SIGINT, SIGTERM and SIGHUP to this
 * benchmark (its own handler would exit before the cleanup has run), and
 * finds its process (a child of this one, which Playwright's Browser does
 * not give): `pids(procs)` is the browser and everything below it.
 */
async function launchCountedChromium(viewport) {
  const ours = (procs) => [...procs.values()].filter((p) => p.ppid === process.pid && /chrom/i.test(p.comm)).map((p) => p.pid);
  const earlier = new Set(ours(readProcs()));
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport, deviceScaleFactor: 1 });
    const [pid] = ours(readProcs()).filter((p) => !earlier.has(p));
    if (!pid) throw new Error('cannot find the Chromium process just launched');
    return { browser, context, pids: (procs) => (procs.has(pid) ? [pid, ...descendants(procs, pid)] : []) };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** Waits until the page's canvas is the full screen and shows the desktop's blue root. */
async function waitPainting(page, selector) {
  await until(`a ${WIDTH}x${HEIGHT} canvas ${selector}`, async () => (await canvasSize(page, selector)) === `${WIDTH}x${HEIGHT}`);
  // Bottom right: the root, away from the xterm and the parked pointer.
  await until(`the desktop painted on ${selector}`, () => showsRoot(page, selector, WIDTH - 200, HEIGHT - 100));
}

/**
 * Oriel: the daemon with the benchmark's xsession, a page that accepted the
 * invite and opened the session, its viewport fitted so that the remote
 * screen (which follows the viewport under the toolbar) is 1600x900.
 */
export async function startOrielSystem(bench, log) {
  const system = { name: 'Oriel', notes: [], stops: [] };
  const stop = stopper(system, log);
  try {
    log('starting oriel');
    const oriel = await startOriel([{ name: SESSION, command: `exec /bin/sh ${bench.xsession}` }]);
    const orielPid = [...readProcs().values()].find((p) => p.ppid === process.pid && p.comm === 'oriel')?.pid;
    if (orielPid) trackTree(orielPid);
    system.stops.push(async () => {
      // An oriel whose stdout and stderr nobody reads any more was seen to
      // ignore SIGTERM: give it 15 s, then kill it and its sessions.
      const timer = orielPid && setTimeout(() => {
        log(`oriel (pid ${orielPid}) did not stop within 15 s of SIGTERM: killing it and its sessions`);
        killTree(orielPid);
      }, 15_000);
      await oriel.stop();
      clearTimeout(timer);
      if (orielPid) untrackTree(orielPid);
    });
    system.log = () => oriel.log();
    if (!orielPid) throw new Error('cannot find the oriel process this benchmark started');

    // A guess for the toolbar; fitted below once the page shows it.
    let viewport = { width: WIDTH, height: HEIGHT + 48 };
    const { browser, context, pids: chromiumPids } = await launchCountedChromium(viewport);
    system.stops.push(() => browser.close());
    const page = await context.newPage();
    system.page = page;
    system.frames = await frameCounter(context, page);
    log('accepting the invite');
    await acceptInvite(page, oriel.invite, 'a long enough password for the benchmark');
    await page.locator('[data-desktop] [data-connect]').first().click();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: PATIENCE_MS });
    const room = await page.evaluate(() => {
      const v = document.querySelector('#viewport');
      return { width: v.clientWidth, height: v.clientHeight };
    });
    viewport = { width: viewport.width + WIDTH - room.width, height: viewport.height + HEIGHT - room.height };
    await page.setViewportSize(viewport);
    system.viewport = viewport;
    const display = await xDisplay(oriel, SESSION);
    system.display = display;
    await until(`Oriel's X screen to be ${WIDTH}x${HEIGHT}`, () => rootSize(display) === `${WIDTH}x${HEIGHT}`);
    system.notes.push(`Oriel: page viewport ${viewport.width}x${viewport.height} CSS px at devicePixelRatio 1 (toolbar above the screen); X screen ${rootSize(display)} (xwininfo -root on ${display.DISPLAY}).`);
    await waitPainting(page, '#screen');
    await until('a painted frame', () => page.evaluate(() => window.__oriel.framesPainted > 0));

    system.connected = async () => (await page.locator('#status[data-state="connected"]').count()) === 1;
    // Oriel's page counts what it paints (for the e2e tests): frames, and regions copied on the canvas.
    system.paintStats = () => page.evaluate(() => ({ ...window.__oriel }));
    const procs = readProcs();
    const servers = (procs) => [orielPid, ...descendants(procs, orielPid).filter((pid) => procs.get(pid).comm === 'oriel')];
    const xvfbs = (procs) => descendants(procs, orielPid).filter((pid) => procs.get(pid).comm === 'Xvfb');
    system.serverPids = servers;
    system.xvfbPids = xvfbs;
    system.browserPids = chromiumPids;
    system.notes.push(
      `Oriel server CPU: the oriel daemon (pid ${orielPid}) and its ${servers(procs).length - 1} descendant \`oriel\` process(es) (the session process, root and unprivileged parts); Xvfb pid(s) ${xvfbs(procs).join(', ')}.`,
    );
    return system;
  } catch (error) {
    if (system.log) error.message += `\n--- oriel's output\n${system.log()}`;
    await stop();
    throw error;
  }
}

/**
 * Sets `system.stop`: runs the system's stops, the last added first, once
 * (a second call, from Ctrl-C during a stop, waits for the first). Returns it.
 */
function stopper(system, log) {
  let stopping;
  system.stop = () =>
    (stopping ??= (async () => {
      while (system.stops.length) {
        await system.stops.pop()().catch((error) => log(`stopping ${system.name}: ${error.message}`));
      }
    })());
  return system.stop;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

function accepts(port) {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/**
 * x11vnc + noVNC: `Xvfb -displayfd` (a free display number) at 1600x900,
 * the same xsession as Oriel's (as this user), x11vnc with its defaults
 * (XDAMAGE on, no -ncache), websockify serving noVNC, and noVNC in the
 * same Chromium with a viewport of the same size as Oriel's page.
 * `extraArgs` go to x11vnc after those (e.g. -nowireframe).
 */
export async function startVncSystem(bench, viewport, log, extraArgs = []) {
  const system = { name: 'x11vnc', notes: [], stops: [] };
  const stop = stopper(system, log);
  try {
    log('starting Xvfb for x11vnc');
    const xvfbArgs = ['-displayfd', '3', '-screen', '0', `${WIDTH}x${HEIGHT}x24`, '-nolisten', 'tcp', '-dpi', '96'];
    const xvfb = spawnTracked('Xvfb', xvfbArgs, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    system.stops.push(() => stopTracked(xvfb));
    let displayNumber = '';
    xvfb.stdio[3].on('data', (chunk) => (displayNumber += chunk.toString()));
    await until('Xvfb to print its display number', () => /^\d+\n/.test(displayNumber), [xvfb]);
    const display = { DISPLAY: `:${displayNumber.trim()}` };
    system.display = display;
    if (rootSize(display) !== `${WIDTH}x${HEIGHT}`) throw new Error(`Xvfb ${display.DISPLAY} is ${rootSize(display)}`);

    const rfbPort = await freePort();
    const x11vncArgs = ['-display', display.DISPLAY, '-rfbport', String(rfbPort), '-localhost', '-nopw', '-forever', '-shared', ...extraArgs];
    log(`x11vnc ${x11vncArgs.join(' ')}`);
    const vnc = spawnTracked('x11vnc', x11vncArgs, { env: { ...process.env, ...display } });
    system.stops.push(() => stopTracked(vnc));
    await until('x11vnc to listen', () => new RegExp(`^PORT=${rfbPort}$`, 'm').test(vnc.output()), [vnc]);

    // After x11vnc, as Oriel's capture comes before its xsession: Xvfb
    // resets (a black root again) when its last client leaves, which
    // xsetroot would be if it ran first.
    const session = spawnTracked('/bin/sh', [bench.xsession], { env: { ...process.env, ...display } });
    system.stops.push(() => stopTracked(session));

    const wsPort = await freePort();
    const websockifyArgs = ['--web', NOVNC, `127.0.0.1:${wsPort}`, `127.0.0.1:${rfbPort}`];
    log(`websockify ${websockifyArgs.join(' ')}`);
    const websockify = spawnTracked('websockify', websockifyArgs);
    system.stops.push(() => stopTracked(websockify));
    await until('websockify to listen', () => accepts(wsPort), [websockify]);

    const { browser, context, pids: chromiumPids } = await launchCountedChromium(viewport);
    system.stops.push(() => browser.close());
    const page = await context.newPage();
    system.page = page;
    system.frames = await frameCounter(context, page);
    const url = `http://127.0.0.1:${wsPort}/vnc.html?autoconnect=1&resize=off&quality=6&compression=2&reconnect=0`;
    await page.goto(url);
    const connected = () => page.evaluate(() => document.documentElement.classList.contains('noVNC_connected'));
    await until('noVNC to connect', connected, [vnc, websockify]);
    await waitPainting(page, '#noVNC_container canvas');
    system.connected = connected;

    const servers = (procs) => [vnc.pid, websockify.pid, ...descendants(procs, websockify.pid)].filter((pid) => procs.has(pid));
    system.serverPids = servers;
    system.xvfbPids = (procs) => [xvfb.pid].filter((pid) => procs.has(pid));
    system.browserPids = chromiumPids;
    system.vnc = vnc;
    system.log = () => `--- x11vnc\n${vnc.output()}\n--- websockify\n${websockify.output()}`;
    system.notes.push(
      `x11vnc: Xvfb ${display.DISPLAY} ${xvfbArgs.join(' ')}; x11vnc ${x11vncArgs.join(' ')}; websockify ${websockifyArgs.join(' ')}; noVNC ${url.replace(String(wsPort), '<port>')}, page viewport ${viewport.width}x${viewport.height}.`,
      `x11vnc server CPU: x11vnc (pid ${vnc.pid}) + websockify (pid ${websockify.pid}) and its children (${servers(readProcs()).length - 2} now).`,
    );
    return system;
  } catch (error) {
    if (system.log) error.message += `\n${system.log()}`;
    await stop();
    throw error;
  }
}

/** What x11vnc said about the encoding it picked for noVNC (libvncserver's "Using … for client" lines). */
export function negotiated(system) {
  const lines = system.vnc?.output().split('\n') ?? [];
  return [...new Set(lines.map((l) => l.match(/Using (.+?) for client/)?.[1] ?? l.match(/(Enabling .+?) for client/)?.[1]).filter(Boolean))];
}
