// Starts the real `oriel` daemon for end-to-end tests (all in one process,
// or as a cluster of two: auth service and proxy, and a desktop service that
// joined them) and reads the X display its sessions run on, the way a person
// at that host could.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(import.meta.dirname, '../..');
/** A test that waits this long has failed; nothing here measures speed. */
export const PATIENCE_MS = 30_000;

/**
 * Starts `oriel start` on a free loopback port with the given xsessions,
 * each `{ name, command }`. Every session first records its DISPLAY and
 * XAUTHORITY in `<dir>/<name>.env` so the test can look at its screen.
 * `disconnectGrace` is linux_desktop_service.disconnect_grace: 0 unless a
 * test resumes sessions, so a page that leaves ends its session as it
 * always did and the next page starts a new one. `extraConfig(dir)` adds
 * sections to its oriel.yaml.
 */
export async function startOriel(sessions, { disconnectGrace = '0', extraConfig = () => '' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'oriel-e2e-'));
  // Sessions run as the desktop login, not as the test: they write their
  // display and the probes' output here.
  chmodSync(dir, 0o1777);
  try {
    const xsessions = writeXsessions(dir, sessions);
    const config = join(dir, 'oriel.yaml');
    writeFileSync(config, `version: v1\nauth_service:\nproxy_service:\nlinux_desktop_service:\n  enabled: yes\n  disconnect_grace: ${disconnectGrace}\n${extraConfig(dir)}`);
    // The first start prints where Oriel is and the admin's invite link.
    const oriel = await startDaemon(
      ['start', '--config', config, '--listen', '127.0.0.1:0', '--auth-listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--web-dir', join(ROOT, 'web/dist'), '--xsessions-dir', xsessions],
      { url: READY, invite: INVITE },
    );
    return {
      url: oriel.printed.url,
      invite: oriel.printed.invite,
      dir,
      orielctl: orielctlOn(join(dir, 'data')),
      log: oriel.log,
      stop: () => stopAll([oriel], dir),
    };
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}

/**
 * Starts a cluster of two `oriel` processes: the auth service and the proxy
 * in one (no desktop service), and in the other a Linux desktop service
 * alone with the given xsessions (as startOriel's), which joins with a
 * token and reaches the proxy through its reverse tunnel only: the address
 * it registers for direct dialling is one where nothing listens. Returns
 * once that desktop is registered (it is only while a tunnel is up), with
 * startOriel's fields, `desktop` (the remote desktop's name) and `login`
 * (the admin's desktop login). The desktop's static labels are `labels`.
 */
export async function startDeployment(sessions, { labels = { env: 'remote' }, disconnectGrace = '0' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'oriel-e2e-cluster-'));
  chmodSync(dir, 0o1777);
  const daemons = [];
  try {
    const xsessions = writeXsessions(dir, sessions);
    const controlConfig = join(dir, 'auth-proxy.yaml');
    writeFileSync(
      controlConfig,
      `version: v1\ndata_dir: ${join(dir, 'a')}\nauth_service:\n  listen_addr: 127.0.0.1:0\n` +
        `proxy_service:\n  web_listen_addr: 127.0.0.1:0\n  tunnel_listen_addr: 127.0.0.1:0\n`,
    );
    // Only the first start prints the admin's invite and login.
    const startControl = (firstStart = {}) =>
      startDaemon(['start', '--config', controlConfig, '--web-dir', join(ROOT, 'web/dist')], {
        auth: /^Auth service API at (\S+) /m,
        tunnel: /^Reverse tunnel at (\S+) /m,
        url: READY,
        ...firstStart,
      });
    let control = await startControl({ invite: INVITE, login: /desktop login "([^"]+)"/ });
    daemons.push(control);
    const first = control.printed;

    const orielctl = orielctlOn(join(dir, 'a'));
    const { token, pin } = joinToken(orielctl, 'linux_desktop');
    const desktopConfig = join(dir, 'desktop.yaml');
    writeFileSync(
      desktopConfig,
      `version: v1\ndata_dir: ${join(dir, 'b')}\nauth_server: ${control.printed.auth}\n` +
        `proxy_server: ${control.printed.tunnel}\njoin_token: ${token}\nca_pin: ${pin}\n` +
        `linux_desktop_service:\n  enabled: yes\n  listen_addr: 127.0.0.1:0\n  public_addr: ${UNREACHABLE}\n  disconnect_grace: ${disconnectGrace}\n  labels:\n` +
        Object.entries(labels).map(([key, value]) => `    ${key}: ${value}\n`).join(''),
    );
    // Beats every second rather than 15, so the desktop is listed soon after its tunnel is up.
    const startAgent = () =>
      startDaemon(['start', '--config', desktopConfig, '--xsessions-dir', xsessions], { desktop: /^Linux desktop service (\S+) is ready/m }, {
        ORIEL_HEARTBEAT_INTERVAL_MS: '1000',
      });
    let agent = await startAgent();
    daemons.push(agent);
    const desktop = agent.printed.desktop;
    const deployment = {
      url: control.printed.url,
      invite: first.invite,
      dir,
      desktop,
      login: first.login,
      orielctl,
      log: () => `--- auth service and proxy\n${control.log()}\n--- linux desktop service ${desktop}\n${agent.log()}`,
      agentLog: () => agent.log(),
      /** Kills the desktop service at once (SIGKILL, as a crash or a power cut would) and starts it again. */
      async crashAgent() {
        await agent.stop('SIGKILL');
        const restarted = await startAgent();
        daemons[daemons.indexOf(agent)] = restarted;
        agent = restarted;
      },
      /**
       * Kills the auth service and proxy at once (SIGKILL); `restart()`,
       * the function it returns, starts them again on the same addresses.
       */
      async crashControl() {
        await control.stop('SIGKILL');
        const { auth, tunnel, url } = control.printed;
        writeFileSync(
          controlConfig,
          `version: v1\ndata_dir: ${join(dir, 'a')}\nauth_service:\n  listen_addr: ${auth}\n` +
            `proxy_service:\n  web_listen_addr: ${new URL(url).host}\n  tunnel_listen_addr: ${tunnel}\n`,
        );
        return async () => {
          const restarted = await startControl();
          daemons[daemons.indexOf(control)] = restarted;
          control = restarted;
        };
      },
      controlLog: () => control.log(),
      stop: () => stopAll(daemons, dir),
    };
    await eventually(`desktop ${desktop} to register through its tunnel`, () => orielctl(['get', 'desktops']).includes(desktop));
    return deployment;
  } catch (error) {
    // A daemon that failed to start has its output in the error already.
    const logs = daemons.map((daemon) => daemon.log()).join('\n---\n');
    await stopAll(daemons, dir);
    if (logs) error.message += `\n--- oriel's output\n${logs}`;
    throw error;
  }
}

/**
 * Starts a cluster of two `oriel` processes: the auth service and the proxy
 * in one, and in the other a Windows desktop service alone, which joins
 * with a `windows_desktop` token and is reached through its reverse tunnel
 * only. `windowsSection(dir)` is the body of its windows_desktop_service
 * section (the hosts, the credentials file). Returns once the service is
 * ready, with `url`, `invite`, `dir`, `service` (its host id), `orielctl`,
 * `log()`, `stopService()` and `stop()`.
 */
export async function startWindowsDeployment(windowsSection) {
  const dir = mkdtempSync(join(tmpdir(), 'oriel-e2e-windows-cluster-'));
  const daemons = [];
  try {
    const controlConfig = join(dir, 'auth-proxy.yaml');
    writeFileSync(
      controlConfig,
      `version: v1\ndata_dir: ${join(dir, 'a')}\nauth_service:\n  listen_addr: 127.0.0.1:0\n` +
        `proxy_service:\n  web_listen_addr: 127.0.0.1:0\n  tunnel_listen_addr: 127.0.0.1:0\n`,
    );
    const control = await startDaemon(['start', '--config', controlConfig, '--web-dir', join(ROOT, 'web/dist')], {
      auth: /^Auth service API at (\S+) /m,
      tunnel: /^Reverse tunnel at (\S+) /m,
      url: READY,
      invite: INVITE,
    });
    daemons.push(control);
    const orielctl = orielctlOn(join(dir, 'a'));
    const { token, pin } = joinToken(orielctl, 'windows_desktop');
    const serviceConfig = join(dir, 'windows.yaml');
    writeFileSync(
      serviceConfig,
      `version: v1\ndata_dir: ${join(dir, 'w')}\nauth_server: ${control.printed.auth}\n` +
        `proxy_server: ${control.printed.tunnel}\njoin_token: ${token}\nca_pin: ${pin}\n` +
        `windows_desktop_service:\n  enabled: yes\n  listen_addr: 127.0.0.1:0\n  public_addr: ${UNREACHABLE}\n  disconnect_grace: 0\n${windowsSection(dir)}`,
    );
    // Beats every second rather than 15, so the desktops are listed soon after the tunnel is up.
    const service = await startDaemon(['start', '--config', serviceConfig], { service: /^Windows desktop service (\S+) is ready/m }, { ORIEL_HEARTBEAT_INTERVAL_MS: '1000' });
    daemons.push(service);
    return {
      url: control.printed.url,
      invite: control.printed.invite,
      dir,
      service: service.printed.service,
      orielctl,
      log: () => `--- auth service and proxy\n${control.log()}\n--- windows desktop service ${service.printed.service}\n${service.log()}`,
      stopService: () => service.stop(),
      stop: () => stopAll(daemons, dir),
    };
  } catch (error) {
    const logs = daemons.map((daemon) => daemon.log()).join('\n---\n');
    await stopAll(daemons, dir);
    if (logs) error.message += `\n--- oriel's output\n${logs}`;
    throw error;
  }
}

/** `orielctl tokens add --type=<type>`: the token and the CA pin it prints. */
function joinToken(orielctl, type) {
  const added = orielctl(['tokens', 'add', `--type=${type}`]);
  const token = added.match(/^([0-9a-f]{64})$/m)?.[1];
  const pin = added.match(/^ca_pin: (sha256:\S+)$/m)?.[1];
  if (!token || !pin) throw new Error(`orielctl tokens add printed no token and CA pin:\n${added}`);
  return { token, pin };
}

/** Port 1 on loopback: tcpmux, which nothing serves, so dialling it is refused. */
const UNREACHABLE = '127.0.0.1:1';
const READY = /^Oriel is ready at (https:\/\/\S+)\/web/m;
const INVITE = /(https:\/\/\S+\/web\/invite\/[0-9a-f]+)/;

/**
 * Writes each xsession `{ name, command }` as a .desktop file in
 * `<dir>/xsessions`, which it returns. The session first records its
 * DISPLAY and XAUTHORITY in `<dir>/<name>.env` (read by xDisplay).
 */
function writeXsessions(dir, sessions) {
  const xsessions = join(dir, 'xsessions');
  mkdirSync(xsessions);
  for (const { name, command } of sessions) {
    const env = envFile(dir, name);
    const exec = `/bin/sh -c 'echo "$DISPLAY $XAUTHORITY" > ${env}.tmp && mv ${env}.tmp ${env}; ${command}'`;
    writeFileSync(join(xsessions, `${name}.desktop`), `[Desktop Entry]\nName=${name}\nExec=${exec}\n`);
  }
  return xsessions;
}

/**
 * Spawns target/release/oriel with `args` and `env` (over this process's,
 * with an uncoloured log) and waits until its stdout has matched each regex
 * of `wanted`. Returns `printed` (each regex's first group, under the same
 * key), `log()` (its stderr so far) and `stop()`.
 */
async function startDaemon(args, wanted, env = {}) {
  const child = spawn(join(ROOT, 'target/release/oriel'), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  const log = [];
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  const exited = new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal)));
  const daemon = {
    log: () => log.join(''),
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      await exited;
    },
  };
  let out = '';
  let timer;
  try {
    daemon.printed = await Promise.race([
      new Promise((found) =>
        child.stdout.on('data', (chunk) => {
          out += chunk.toString();
          const printed = Object.fromEntries(Object.entries(wanted).map(([key, pattern]) => [key, out.match(pattern)?.[1]]));
          if (Object.values(printed).every(Boolean)) found(printed);
        }),
      ),
      exited.then((code) => {
        throw new Error(`oriel ${args.join(' ')} exited (${code}) before it was ready:\n${out}${daemon.log()}`);
      }),
      new Promise((_, fail) => {
        timer = setTimeout(() => fail(new Error(`oriel ${args.join(' ')} printed no ${Object.keys(wanted).join(', ')} in ${PATIENCE_MS} ms:\n${out}${daemon.log()}`)), PATIENCE_MS);
      }),
    ]);
  } catch (error) {
    await daemon.stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return daemon;
}

/** Stops the daemons, the last started first, then removes `dir` unless ORIEL_KEEP_E2E is set. */
async function stopAll(daemons, dir) {
  for (const daemon of [...daemons].reverse()) await daemon.stop();
  if (!process.env.ORIEL_KEEP_E2E) removeDir(dir);
}

function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Plays recording `id` to its end in the player at 16 times its speed, on
 * `page` of the proxy at `url`: its last frame is then on the canvas.
 */
export async function playRecordingToEnd(page, url, id) {
  await page.goto(`${url}/web/recordings/${id}`);
  await page.locator('#player:is([data-player-state="playing"], [data-player-state="paused"], [data-player-state="ended"])').waitFor({ timeout: 30_000 });
  await page.selectOption('#player-speed', '16');
  if ((await page.locator('#player').getAttribute('data-player-state')) === 'paused') await page.click('#player-play');
  await page.locator('#player[data-player-state="ended"]').waitFor({ timeout: 60_000 });
}

/**
 * The recording `orielctl recordings ls` lists for session `sid`, waited
 * for: a desktop service delivers it after the session ends.
 */
export async function listedRecording(oriel, sid) {
  let recording;
  await eventually('the recording in the catalog', () => {
    const lines = oriel.orielctl(['recordings', 'ls', '--format', 'json']).split('\n').filter((l) => l.trim() !== '');
    recording = lines.map((l) => JSON.parse(l)).find((r) => r.id === sid);
    return recording !== undefined;
  });
  return recording;
}

/**
 * The audit event `orielctl events ls` lists that `matches`, waited for:
 * a desktop service writes its events without holding the session up.
 */
export async function auditEvent(oriel, what, matches) {
  let found;
  await eventually(what, () => {
    const lines = oriel.orielctl(['events', 'ls', '--format', 'json']).split('\n').filter((line) => line.trim() !== '');
    found = lines.map((line) => JSON.parse(line)).find(matches);
    return found !== undefined;
  });
  return found;
}

/** orielctl on a data dir, in-process; returns its stdout. */
function orielctlOn(dataDir) {
  return (args) => execFileSync(join(ROOT, 'target/release/orielctl'), ['--data-dir', dataDir, ...args]).toString();
}

/** Where the xsession `name` of a daemon in `dir` writes its display when it starts. */
export function envFile(dir, name) {
  return join(dir, `${name.replace(/[^A-Za-z0-9]/g, '_')}.env`);
}

/** Polls `check` until it returns a truthy value; fails after PATIENCE_MS with `what`. */
export async function eventually(what, check) {
  const deadline = Date.now() + PATIENCE_MS;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} (last: ${last})`);
    await sleep(100);
  }
}

/** The X display of session `name` of an oriel started by startOriel or startDeployment. */
export async function xDisplay(oriel, name) {
  const file = envFile(oriel.dir, name);
  await eventually(`xsession ${name} to start`, () => existsSync(file));
  const [display, xauthority] = readFileSync(file, 'utf8').trim().split(' ');
  return { DISPLAY: display, XAUTHORITY: xauthority };
}

/** Runs an X client against `display` and returns its stdout. */
export function x(display, command, args) {
  return execFileSync(command, args, { env: { ...process.env, ...display }, maxBuffer: 256 << 20 });
}

/**
 * The root window's pixels as { width, height, rgba(x, y) } read with xwd.
 * Its pixels are 32 bits, or 24 when a window of another visual shows (a
 * video player's): xwd then composes the screen in 24-bit pixels.
 */
export function grabRoot(display) {
  const xwd = x(display, 'xwd', ['-root', '-silent']);
  const field = (i) => xwd.readUInt32BE(i * 4);
  const headerSize = field(0);
  const [width, height, byteOrder, bitsPerPixel, bytesPerLine, ncolors] = [field(4), field(5), field(7), field(11), field(12), field(19)];
  if (bitsPerPixel !== 32 && bitsPerPixel !== 24) throw new Error(`xwd gave ${bitsPerPixel} bits per pixel`);
  const bytes = bitsPerPixel / 8;
  const pixels = headerSize + ncolors * 12;
  return {
    width,
    height,
    rgba(px, py) {
      const at = pixels + py * bytesPerLine + px * bytes;
      const value = byteOrder === 0 ? xwd.readUIntLE(at, bytes) : xwd.readUIntBE(at, bytes);
      return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff, 255];
    },
  };
}

/** The current TOTP code for a base32 secret, as an authenticator app computes it (RFC 6238). */
export function totp(secretBase32, unixSeconds = Date.now() / 1000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretBase32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/**
 * Accepts the invite at `link` on `page` as a person does: a password, the
 * authenticator's first code. Resolves with the first listed desktop's name.
 */
export async function acceptInvite(page, link, password) {
  await page.goto(link);
  await page.locator('#invite-secret').waitFor({ timeout: PATIENCE_MS });
  const secret = (await page.locator('#invite-secret').textContent()).trim();
  await page.fill('#invite-password', password);
  await page.fill('#invite-password-confirm', password);
  await page.fill('#invite-code', totp(secret));
  await page.click('#invite-submit');
  await page.locator('[data-desktop]').first().waitFor({ timeout: PATIENCE_MS });
  return page.locator('[data-desktop]').first().getAttribute('data-desktop');
}

/** One canvas pixel of the session page as "r,g,b,a". */
export function canvasPixel(page, px, py) {
  return page.evaluate(([px, py]) => Array.from(document.querySelector('#screen').getContext('2d').getImageData(px, py, 1, 1).data).join(), [px, py]);
}

/**
 * Waits until the probe xterm is on the canvas, clicks into it and types
 * `text` then `!` (Shift is a key of its own on the wire, scancode 0x2A,
 * held around the 1) and Enter.
 */
export async function typeIntoProbe(page, text) {
  await eventually('the xterm on the canvas', async () => (await canvasPixel(page, 200, 100)) === '255,255,255,255');
  await page.locator('#screen').click({ position: { x: 200, y: 80 } });
  await page.keyboard.type(text);
  await page.keyboard.press('Shift+Digit1');
  await page.keyboard.press('Enter');
}

/**
 * Waits until the canvas region `{ x, y, width, height }` shows exactly
 * what the X server of `display` has there, and its root at (5, 5) is the
 * probe's blue.
 */
export async function canvasMatchesRoot(page, display, region) {
  await eventually('canvas pixels equal to the X screen', async () => {
    const root = grabRoot(display);
    const canvas = await page.evaluate(({ x, y, width, height }) => {
      const ctx = document.querySelector('#screen').getContext('2d');
      return Array.from(ctx.getImageData(x, y, width, height).data);
    }, region);
    for (let py = 0; py < region.height; py++) {
      for (let px = 0; px < region.width; px++) {
        const i = (py * region.width + px) * 4;
        const want = root.rgba(region.x + px, region.y + py);
        if (canvas[i] !== want[0] || canvas[i + 1] !== want[1] || canvas[i + 2] !== want[2]) return false;
      }
    }
    return root.rgba(5, 5).join() === '51,102,204,255';
  });
}
