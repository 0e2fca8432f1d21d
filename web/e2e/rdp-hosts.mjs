// RDP hosts for end-to-end tests: FreeRDP's shadow server from Debian on a
// real Xvfb (TLS and NLA, with the host account in a SAM file), showing an
// xterm that writes each line typed into it to a file, and xev's window,
// which logs the mouse buttons (the wheel: 4 and 5, 6 and 7) pressed on it.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The host account the shadow server signs in. */
export const HOST_USER = 'oriel-rdp';
export const HOST_PASSWORD = 'the host account password';
/** The shadow server's screen. */
export const SCREEN = { width: 1024, height: 768 };
/** Where xev's window is on it. */
export const BUTTONS_WINDOW = { x: 600, y: 450, width: 160, height: 120 };

/** A port nothing listens on now. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const listening = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/**
 * Xvfb with an xterm that writes each typed line to a file,
 * shown over RDP by FreeRDP's shadow server on loopback (NLA against a SAM
 * file with the host account).
 */
export async function startShadowServer() {
  const dir = mkdtempSync(join(tmpdir(), 'oriel-rdp-'));
  const children = [];
  const xvfb = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', `${SCREEN.width}x${SCREEN.height}x24`, '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(xvfb);
  const number = await new Promise((resolve, reject) => {
    xvfb.stdout.once('data', (data) => resolve(data.toString().trim()));
    xvfb.once('exit', () => reject(new Error('Xvfb exited')));
  });
  const display = { DISPLAY: `:${number}` };
  const typed = join(dir, 'typed.txt');
  children.push(
    spawn('sh', ['-c', `exec xterm -geometry 60x10+20+20 -e sh -c "exec cat > ${typed}"`], {
      env: { ...process.env, ...display },
      stdio: 'ignore',
    }),
  );
  const buttons = join(dir, 'buttons.txt');
  const { x, y, width, height } = BUTTONS_WINDOW;
  children.push(
    spawn('sh', ['-c', `exec xev -geometry ${width}x${height}+${x}+${y} -event button > ${buttons}`], {
      env: { ...process.env, ...display },
      stdio: 'ignore',
    }),
  );
  writeFileSync(join(dir, 'sam'), execFileSync('winpr-hash', ['-u', HOST_USER, '-p', HOST_PASSWORD, '-f', 'sam']));
  const certificate = join(dir, '.config/freerdp/shadow/shadow.crt');
  // It writes its certificate under $HOME/.config unless XDG_CONFIG_HOME says otherwise.
  const shadowEnv = { ...process.env, ...display, HOME: dir };
  delete shadowEnv.XDG_CONFIG_HOME;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = spawn('freerdp-shadow-cli', ['/bind-address:127.0.0.1', `/port:${port}`, '+auth', '/sec:nla', `/sam-file:${join(dir, 'sam')}`], {
      env: shadowEnv,
      stdio: 'ignore',
    });
    let exited = false;
    server.once('exit', () => (exited = true));
    const deadline = Date.now() + 30_000;
    while (!exited && Date.now() < deadline && !(existsSync(certificate) && (await listening(port)))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!exited && existsSync(certificate) && (await listening(port))) {
      children.push(server);
      return {
        dir,
        display,
        port,
        certificate,
        typed: () => (existsSync(typed) ? readFileSync(typed, 'utf8') : ''),
        /** The buttons pressed on xev's window, in order. */
        buttonsPressed: () => [...(existsSync(buttons) ? readFileSync(buttons, 'utf8') : '').matchAll(/ButtonPress[^]*?button (\d+)/g)].map((m) => Number(m[1])),
        stop() {
          for (const child of children.reverse()) child.kill('SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    server.kill('SIGKILL');
    if (attempt >= 5) throw new Error('the shadow server did not listen');
  }
}

