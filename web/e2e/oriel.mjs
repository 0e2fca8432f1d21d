// Starts the real `oriel` daemon for end-to-end tests and reads the X
// display its sessions run on, the way a person at that host could.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
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
    ['start', '--listen', '127.0.0.1:0', '--auth-listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--web-dir', join(ROOT, 'web/dist'), '--xsessions-dir', xsessions],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  // The first start prints where Oriel is and the admin's invite link.
  const { url, invite } = await new Promise((resolveUrls, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const ready = out.match(/Oriel is ready at (https:\/\/\S+)\/web/);
      const link = out.match(/(https:\/\/\S+\/web\/invite\/[0-9a-f]+)/);
      if (ready && link) resolveUrls({ url: ready[1], invite: link[1] });
    });
    child.on('exit', (code) => reject(new Error(`oriel exited (${code}) before printing its URLs:\n${log.join('')}`)));
  });
  return {
    url,
    invite,
    dir,
    orielctl: (args) => execFileSync(join(ROOT, 'target/release/orielctl'), ['--data-dir', join(dir, 'data'), ...args]).toString(),
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
