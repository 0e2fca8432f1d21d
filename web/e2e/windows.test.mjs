// A Windows desktop end to end, in a real Chromium against the real daemon:
// `windows_desktop_service` with one static host, a real RDP server
// (FreeRDP's shadow server from Debian, on a real Xvfb, with TLS and NLA),
// and the account in a root-only credentials file. The desktop is listed
// with its kind and labels (its own and a host_labels rule's), the session
// shows the host's screen through the proxy, typing, a click and the wheel
// reach X clients on it, the audit log has Teleport's windows.desktop.session events,
// a lock on the desktop ends the session with the reason, and the session's
// recording plays back. A second host is xrdp (scripts/xrdp-test-server),
// which has what the shadow server lacks: the horizontal wheel, and the
// channels: the clipboard crosses both ways, the host takes the browser window's size, and a directory the
// browser shares is a drive there, read and written by the host's programs.
// Hosts are also found in a real directory (a private slapd, LDAPS): they
// are listed with Teleport's labels, a filter keeps one out, and one the
// directory drops leaves the list.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startOriel, eventually, acceptInvite, canvasPixel, grabRoot, auditEvent, listedRecording, playRecordingToEnd } from './oriel.mjs';
import { startSlapd, LDAP_ADMIN, LDAP_ADMIN_PASSWORD } from './ldap.mjs';
import { startShadowServer, HOST_USER, HOST_PASSWORD, SCREEN, BUTTONS_WINDOW } from './rdp-hosts.mjs';

const PASSWORD = 'a long enough password';
let shadow;
let xrdp;
let slapd;
let oriel;
let browser;
let page;
/** The session the lock ended, whose recording the next test plays. */
let recordedSession;
const report = failureReport(() => oriel);
const { test } = report;

/** `scripts/xrdp-test-server start`: its exports, `asUser(args, input)` and `stop()`. */
function startXrdp() {
  const script = join(import.meta.dirname, '../../scripts/xrdp-test-server');
  const out = execFileSync(script, ['start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const env = Object.fromEntries([...out.matchAll(/^export (ORIEL_TEST_XRDP_\w+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
  return {
    port: env.ORIEL_TEST_XRDP_PORT,
    user: env.ORIEL_TEST_XRDP_USER,
    password: env.ORIEL_TEST_XRDP_PASSWORD,
    certificate: env.ORIEL_TEST_XRDP_CERT,
    ca: env.ORIEL_TEST_XRDP_CA,
    drives: env.ORIEL_TEST_XRDP_DRIVES,
    /** Runs a program as the session's user, on its display, where its drives are mounted. */
    asUser: (args, input) =>
      execFileSync(script, ['as-user', ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }),
    stop: () => execFileSync(script, ['stop', env.ORIEL_TEST_XRDP_DIR], { stdio: 'inherit' }),
  };
}

before(async () => {
  shadow = await startShadowServer();
  xrdp = startXrdp();
  slapd = await startSlapd();
  oriel = await startOriel([], {
    extraConfig: (dir) => {
      const credentials = join(dir, 'windows-credentials.yaml');
      writeFileSync(
        credentials,
        `hosts:\n  win-dev:\n    Administrator:\n      username: ${HOST_USER}\n      password: "${HOST_PASSWORD}"\n` +
          `  win-xrdp:\n    Administrator:\n      username: ${xrdp.user}\n      password: "${xrdp.password}"\n` +
          // Every host discovery finds: a domain account, as it were.
          `discovered:\n  Administrator:\n    username: ${xrdp.user}\n    password: "${xrdp.password}"\n`,
      );
      chmodSync(credentials, 0o600);
      const bindPassword = join(dir, 'ldap-password');
      writeFileSync(bindPassword, `${LDAP_ADMIN_PASSWORD}\n`);
      chmodSync(bindPassword, 0o600);
      // The directory is searched every second; a filter keeps domain controllers out.
      const ldap =
        `  ldap:\n    addr: 127.0.0.1:${slapd.ldaps}\n    domain: example.com\n    username: ${LDAP_ADMIN}\n    password_file: ${bindPassword}\n    ldap_ca_file: ${slapd.caFile}\n` +
        `  discovery:\n    base_dn: '*'\n    filters: ['(!(primaryGroupID=516))']\n    label_attributes: [location]\n` +
        // Discovered hosts' certificates come from the CA that issued xrdp's, which listens on this port.
        `    host_ca_file: ${xrdp.ca}\n    rdp_port: ${xrdp.port}\n  discovery_interval: 1s\n`;
      return (
        `windows_desktop_service:\n  enabled: yes\n  disconnect_grace: 0\n  credentials_file: ${credentials}\n` +
        `  static_hosts:\n    - name: win-dev\n      addr: 127.0.0.1:${shadow.port}\n      ad: false\n      certificate_file: ${shadow.certificate}\n      labels:\n        env: dev\n` +
        `    - name: win-xrdp\n      addr: 127.0.0.1:${xrdp.port}\n      ad: false\n      certificate_file: ${xrdp.certificate}\n` +
        `  host_labels:\n    - match: '^win-'\n      labels:\n        os: windows\n    - match: 'example\\.com$'\n      labels:\n        site: hq\n` +
        ldap
      );
    },
  });
  let context;
  ({ browser, context } = await launchChromium({ viewport: { width: 900, height: 700 } }));
  page = await context.newPage();
  report.watch(page);
  await acceptInvite(page, oriel.invite, PASSWORD);
  oriel.orielctl(['users', 'update', 'admin', '--roles=access', '--windows-logins=Administrator']);
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
  shadow?.stop();
  xrdp?.stop();
  slapd?.stop();
});

/** Runs `during` under the lock `orielctl lock ...args` makes, lifted after it whatever happens. */
async function whileLocked(args, during) {
  const name = oriel.orielctl(['lock', ...args]).match(/"([^"]+)"/)[1];
  try {
    await during();
  } finally {
    oriel.orielctl(['unlock', name]);
  }
}

/** Waits until the canvas shows the RDP host's screen in `region` (which holds the xterm), pixel for pixel. */
async function canvasShowsHost(region) {
  await eventually('the canvas to show the RDP host’s screen', async () => {
    const size = await page.evaluate(() => [document.querySelector('#screen').width, document.querySelector('#screen').height]);
    if (size[0] !== SCREEN.width || size[1] !== SCREEN.height) return false;
    const root = grabRoot(shadow.display);
    const canvas = await page.evaluate(({ x, y, width, height }) => Array.from(document.querySelector('#screen').getContext('2d').getImageData(x, y, width, height).data), region);
    for (let py = 0; py < region.height; py++) {
      for (let px = 0; px < region.width; px++) {
        const i = (py * region.width + px) * 4;
        const want = root.rgba(region.x + px, region.y + py);
        if (canvas[i] !== want[0] || canvas[i + 1] !== want[1] || canvas[i + 2] !== want[2]) return false;
      }
    }
    // The region holds the xterm: white, with its text.
    return root.rgba(200, 100).join() === '255,255,255,255';
  });
}

test('a Windows desktop is listed with its kind and labels, and its session shows the host and takes typing and clicks', async () => {
  await page.goto(`${oriel.url}/web`);
  const row = page.locator('[data-desktop="win-dev"]');
  await row.waitFor({ timeout: 30_000 });
  assert.equal((await row.locator('.kind').textContent()).trim(), 'Windows');
  const labels = await row.locator('.labels').textContent();
  assert.ok(labels.includes('env: dev') && labels.includes('os: windows'), labels);
  assert.equal(await row.locator('[data-login]').textContent(), 'Administrator', 'the login from windows_desktop_logins');

  await row.locator('[data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await canvasShowsHost({ x: 0, y: 0, width: 520, height: 240 });

  // The xterm's text area: click in it, type a line.
  await eventually('the xterm on the canvas', async () => (await canvasPixel(page, 200, 100)) === '255,255,255,255');
  const box = await page.locator('#screen').boundingBox();
  // The canvas is scaled to the window: click where the xterm is on the host's screen.
  await page.mouse.click(box.x + (200 * box.width) / SCREEN.width, box.y + (80 * box.height) / SCREEN.height);
  await page.keyboard.type('rdp works');
  await page.keyboard.press('Enter');
  await eventually('the typed line on the host', () => shadow.typed().includes('rdp works\n'));


  // Ctrl+Alt+Del has a button of its own on a Windows desktop's toolbar;
  // the xterm turns it into Delete's escape sequence with Ctrl and Alt (;7).
  await page.click('#ctrl-alt-del');
  await page.mouse.click(box.x + (200 * box.width) / SCREEN.width, box.y + (80 * box.height) / SCREEN.height);
  await page.keyboard.press('Enter');
  await eventually('Ctrl+Alt+Del on the host', () => shadow.typed().includes('\x1b[3;7~'));

  // The wheel over xev's window: X button 5 (down). (FreeRDP 2's shadow
  // server drops horizontal wheel events; the xrdp test turns that axis.)
  const over = BUTTONS_WINDOW;
  await page.mouse.move(box.x + ((over.x + over.width / 2) * box.width) / SCREEN.width, box.y + ((over.y + over.height / 2) * box.height) / SCREEN.height);
  await page.mouse.wheel(0, 120);
  await eventually('the wheel down on the host', () => shadow.buttonsPressed().includes(5));
  await canvasShowsHost({ x: 0, y: 0, width: 520, height: 240 });

  const start = await auditEvent(oriel, 'the Windows session start', (e) => e.event === 'windows.desktop.session.start' && e.success);
  assert.equal(start.code, 'TDP00I');
  assert.equal(start.windows_user, 'Administrator');
  assert.equal(start.desktop_name, 'win-dev');
});

test('on xrdp the wheel turns on both axes, the clipboard crosses both ways, the host takes the window’s size, and a shared directory is a drive there', async () => {
  const context = page.context();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: oriel.url });
  await page.goto(`${oriel.url}/web`);
  await page.locator('[data-desktop="win-xrdp"] [data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('#clipboard-toggle').isVisible(), true, 'the clipboard is shared: its button shows');

  // The wheel on both axes, over xev's window on the host: X buttons 5
  // (down) and 7 (right). xev starts once the session's display is known,
  // and the wheel turns until its window is up and says so. Where the
  // window is on the page is asked each time: the canvas takes its size
  // from the host's first picture and the host follows the window's size.
  const buttonsFile = `/tmp/oriel-e2e-buttons-${process.pid}-${Date.now()}.txt`;
  let xevOutput = '';
  let turn = 0;
  try {
    await eventually('the wheel down and right on the host', async () => {
      xrdp.asUser(['sh', '-c', `[ -z "$DISPLAY" ] || [ -e ${buttonsFile} ] || { xev -geometry 200x150+100+100 -event button >${buttonsFile} 2>&1 </dev/null & }`]);
      const canvas = await page.locator('#screen').boundingBox();
      const hostWidth = await page.evaluate(() => document.querySelector('#screen').width);
      if (!canvas || !hostWidth) return false;
      const scale = canvas.width / hostWidth;
      // A move each turn (never to the same spot twice), so the host has the pointer over the window.
      turn += 1;
      await page.mouse.move(canvas.x + (190 + (turn % 20)) * scale, canvas.y + 175 * scale);
      await page.mouse.wheel(0, 120);
      await page.mouse.wheel(120, 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      xevOutput = xrdp.asUser(['sh', '-c', `cat ${buttonsFile} 2>/dev/null || true`]);
      const pressed = [...xevOutput.matchAll(/ButtonPress[^]*?button (\d+)/g)].map((m) => Number(m[1]));
      return pressed.includes(5) && pressed.includes(7);
    });
  } catch (error) {
    error.message += `\n--- xev on the host, ${turn} turns:\n${xevOutput.slice(-800) || '(nothing)'}`;
    throw error;
  }
  xrdp.asUser(['rm', '-f', buttonsFile]);

  // The host copies (xclip keeps serving it from the background; a copy
  // made before the host's clipboard channel is up is not announced, so
  // it copies again until the browser has it).
  const fromHost = 'copied on the RDP host ✓';
  await eventually("the host's text in the browser's clipboard", async () => {
    xrdp.asUser(['sh', '-c', 'exec xclip -selection clipboard -i >/dev/null 2>&1'], fromHost);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return (await page.evaluate(() => navigator.clipboard.readText())) === fromHost;
  });
  // The browser copies; a program on the host pastes it.
  const fromBrowser = 'copied in the browser\nsecond line';
  await page.evaluate(async (text) => {
    document.querySelector('#screen').blur();
    await navigator.clipboard.writeText(text);
  }, fromBrowser);
  await page.locator('#screen').click({ position: { x: 300, y: 300 } });
  await eventually("the browser's text pasted on the host", () => {
    try {
      return xrdp.asUser(['xclip', '-o', '-selection', 'clipboard']).replaceAll('\r\n', '\n') === fromBrowser;
    } catch {
      return false;
    }
  });

  // The window changes size: the host's screen follows, and the canvas with it.
  const screenSize = () => page.evaluate(() => [document.querySelector('#screen').width, document.querySelector('#screen').height]);
  const before = await screenSize();
  await page.setViewportSize({ width: 1000, height: 640 });
  const hostSize = () => xrdp.asUser(['xdpyinfo']).match(/dimensions:\s+(\d+)x(\d+) pixels/).slice(1).map(Number);
  await eventually('the host and the canvas at the new size', async () => {
    const [size, host] = [await screenSize(), hostSize()];
    return size.join() !== before.join() && size.join() === host.join();
  });

  // A directory shared from the browser is a drive on the host: a host
  // program reads what the browser wrote and writes a file of its own.
  // (xrdp names a drive by its DOS name, the first 7 characters; Windows
  // shows the whole name.)
  await page.locator('#share-directory:not([hidden])').waitFor({ timeout: 30_000 });
  await page.evaluate(async () => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('Shared', { create: true });
    const file = await (await dir.getFileHandle('from-browser.txt', { create: true })).createWritable();
    await file.write('written in the browser');
    await file.close();
    window.__orielShareDirectory(dir);
  });
  await page.locator('.alert[data-severity="info"]', { hasText: 'is shared' }).waitFor({ timeout: 30_000 });
  const drive = join(xrdp.drives, 'Shared');
  await eventually('the browser’s file read on the host', () => {
    try {
      return xrdp.asUser(['cat', join(drive, 'from-browser.txt')]) === 'written in the browser';
    } catch {
      return false;
    }
  });
  xrdp.asUser(['sh', '-c', `printf 'written on the host' > ${join(drive, 'from-host.txt')}`]);
  const fromHostFile = await eventually('the host’s file in the browser’s directory', async () => {
    const text = await page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('Shared');
      return dir.getFileHandle('from-host.txt').then((h) => h.getFile()).then((f) => f.text(), () => null);
    });
    return text === 'written on the host' && text;
  });
  assert.equal(fromHostFile, 'written on the host');
  const share = await auditEvent(oriel, 'the share', (e) => e.event === 'desktop.directory.share' && e.desktop_name === 'win-xrdp');
  assert.equal(share.directory_name, 'Shared');
  await auditEvent(oriel, 'the clipboard received', (e) => e.event === 'desktop.clipboard.receive' && e.desktop_name === 'win-xrdp');
  await page.setViewportSize({ width: 900, height: 700 });
});

test('a lock on the Windows desktop ends its session with the reason', async () => {
  await page.goto(`${oriel.url}/web`);
  await page.locator('[data-desktop="win-dev"] [data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  // The xterm on the canvas first: the next test plays this recording back and looks for it.
  await eventually('the xterm on the canvas', async () => (await canvasPixel(page, 200, 100)) === '255,255,255,255');
  await whileLocked(['--windows-desktop', 'win-dev', '--message', 'patching the host'], async () => {
    await page.locator('text=the session was locked by an administrator: patching the host').waitFor({ timeout: 30_000 });
    await page.locator('#status[data-state="closed"]').waitFor();
  });
  const end = await auditEvent(oriel, 'the Windows session end', (e) => e.event === 'windows.desktop.session.end');
  assert.equal(end.code, 'TDP01I');
  assert.equal(end.recorded, true);
  recordedSession = end.sid;
});

test('orielctl lists the Windows desktop, and its session’s recording plays back in the player', async () => {
  const listed = oriel.orielctl(['desktops', 'ls']);
  assert.match(listed, /win-dev/);
  assert.match(oriel.orielctl(['windows_desktops', 'ls']), /win-dev/);
  const recording = await listedRecording(oriel, recordedSession);
  assert.equal(recording.desktop, 'win-dev');
  await playRecordingToEnd(page, oriel.url, recording.id);
  const size = await page.evaluate(() => [document.querySelector('#screen').width, document.querySelector('#screen').height]);
  assert.deepEqual(size, [SCREEN.width, SCREEN.height]);
  assert.equal(await canvasPixel(page, 200, 100), '255,255,255,255', 'the xterm, as the session showed it');
});

test('a lock on the server id of the host that serves the Windows desktops ends their sessions', async () => {
  const listed = oriel.orielctl(['windows_desktops', 'ls', '--format', 'json']);
  const desktop = JSON.parse(listed).find((d) => d.name === 'win-dev');
  assert.ok(desktop.server_id && desktop.server_id !== 'win-dev', `a service's host id: ${listed}`);
  await page.goto(`${oriel.url}/web`);
  await page.locator('[data-desktop="win-dev"] [data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await whileLocked(['--server-id', desktop.server_id, '--message', 'the gateway host is being patched'], async () => {
    await page.locator('text=the session was locked by an administrator: the gateway host is being patched').waitFor({ timeout: 30_000 });
    await page.locator('#status[data-state="closed"]').waitFor();
  });
});

test('a login the credentials file does not know is refused with the reason', async () => {
  oriel.orielctl(['users', 'update', 'admin', '--roles=access', '--windows-logins=Guest']);
  await page.goto(`${oriel.url}/web`);
  const row = page.locator('[data-desktop="win-dev"]');
  await row.waitFor({ timeout: 30_000 });
  await row.locator('[data-connect]').click();
  await page.locator('text=no credentials for the login "Guest" on win-dev').first().waitFor({ timeout: 30_000 });
});

test('a host found in the directory is reached by its DNS name, its certificate checked against the domain’s CA', async () => {
  oriel.orielctl(['users', 'update', 'admin', '--roles=access', '--windows-logins=Administrator']);
  slapd.add(
    'dn: cn=XRDP,ou=Desktops,dc=example,dc=com\nobjectClass: computer\ncn: XRDP\nname: XRDP\ndNSHostName: localhost\n' +
      'operatingSystem: Windows Server 2022 Standard\nobjectGUID:: ESIzRFVmd4iZqrvM3e7/AA==\nprimaryGroupID: 515\n',
  );
  let desktop;
  await eventually('the host in the desktops', () => {
    desktop = JSON.parse(oriel.orielctl(['windows_desktops', 'ls', '--format', 'json'])).find((d) => d.hostname === 'localhost');
    return desktop !== undefined;
  });
  assert.equal(desktop.labels['teleport.dev/origin'], 'dynamic');
  await page.goto(`${oriel.url}/web`);
  const row = page.locator(`[data-desktop="${desktop.name}"]`);
  await row.waitFor({ timeout: 30_000 });
  await row.locator('[data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  // xrdp's session: its root colour (#2a6f97) in the corner.
  await eventually('the host’s screen', async () => (await canvasPixel(page, 4, 4)) === '42,111,151,255');
  slapd.delete('cn=XRDP,ou=Desktops,dc=example,dc=com');
});

test('hosts in the directory appear with Teleport’s labels, a filter keeps one out, and a host the directory drops leaves the list', async () => {
  await page.goto(`${oriel.url}/web`);
  const row = page.locator('[data-desktop="ws1-example-com-deadbeef"]');
  await row.waitFor({ timeout: 30_000 });
  assert.equal((await row.locator('.kind').textContent()).trim(), 'Windows');
  const labels = await row.locator('.labels').textContent();
  for (const label of ['teleport.dev/origin: dynamic', 'teleport.dev/os: Windows 11 Enterprise', 'teleport.dev/computer_name: WS1', 'teleport.dev/windows_domain: example.com', 'ldap/location: Berlin', 'site: hq']) {
    assert.ok(labels.includes(label), `${label} in ${labels}`);
  }
  assert.equal(await page.locator('[data-desktop^="dc1-"]').count(), 0, 'the filter keeps the domain controller out');
  assert.equal(await page.locator('[data-desktop^="lnx1-"]').count(), 0, 'a Linux member is no Windows desktop');
  // A session goes to its DNS name, which no resolver here knows: the reason is shown.
  await row.locator('[data-connect]').click();
  await page.locator('text=cannot reach the RDP host ws1.example.com').first().waitFor({ timeout: 30_000 });

  slapd.delete('cn=WS1,ou=Desktops,dc=example,dc=com');
  await eventually('ws1 to leave the desktops', () => !oriel.orielctl(['windows_desktops', 'ls']).includes('ws1-example-com'));
  await page.goto(`${oriel.url}/web`);
  await page.locator('[data-desktop="win-dev"]').waitFor({ timeout: 30_000 });
  assert.equal(await row.count(), 0);
});
