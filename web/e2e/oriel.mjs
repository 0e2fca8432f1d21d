// Starts the real `oriel` daemon for end-to-end tests and reads the X
// display its sessions run on, the way a person at that host could.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
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
 */
export async function startOriel(sessions) {
  const dir = mkdtempSync(join(tmpdir(), 'oriel-e2e-'));
  const xsessions = join(dir, 'xsessions');
  mkdirSync(xsessions);
  for (const { name, command } of sessions) {
    const env = envFile(dir, name);
    const exec = `/bin/sh -c 'echo "$DISPLAY $XAUTHORITY" > ${env}.tmp && mv ${env}.tmp ${env} && ${command}'`;
    writeFileSync(join(xsessions, `${name}.desktop`), `[Desktop Entry]\nName=${name}\nExec=${exec}\n`);
  }
  const binary = join(ROOT, 'target/release/oriel');
  const log = [];
  const child = spawn(
    binary,
    ['start', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--web-dir', join(ROOT, 'web/dist'), '--xsessions-dir', xsessions],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const match = out.match(/https:\/\/\S+/);
      if (match) resolveUrl(match[0]);
    });
    child.on('exit', (code) => reject(new Error(`oriel exited (${code}) before printing its URL:\n${log.join('')}`)));
  });
  return {
    url,
    dir,
    log: () => log.join(''),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((done) => (child.exitCode !== null ? done() : child.on('exit', done)));
      if (!process.env.ORIEL_KEEP_E2E) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function envFile(dir, name) {
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

/** The X display of session `name` of an oriel started by startOriel. */
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

/** The root window's pixels as { width, height, rgba(x, y) } read with xwd. */
export function grabRoot(display) {
  const xwd = x(display, 'xwd', ['-root', '-silent']);
  const field = (i) => xwd.readUInt32BE(i * 4);
  const headerSize = field(0);
  const [width, height, byteOrder, bitsPerPixel, bytesPerLine, ncolors] = [field(4), field(5), field(7), field(11), field(12), field(19)];
  if (bitsPerPixel !== 32) throw new Error(`xwd gave ${bitsPerPixel} bits per pixel`);
  const pixels = headerSize + ncolors * 12;
  return {
    width,
    height,
    rgba(px, py) {
      const at = pixels + py * bytesPerLine + px * 4;
      const value = byteOrder === 0 ? xwd.readUInt32LE(at) : xwd.readUInt32BE(at);
      return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff, 255];
    },
  };
}
