// A Windows desktop service on a host of its own, end to end in a real
// Chromium: one `oriel` process runs the auth service and the proxy, another
// runs only `windows_desktop_service`, which joins with a `windows_desktop`
// token and is reached through its reverse tunnel (the address it
// advertises refuses connections). Its static host is FreeRDP's shadow
// server on a real Xvfb; it also searches a real directory (a private
// slapd, LDAPS). Everything a desktop service says about its desktops goes
// through the cluster API: the registrations, each decision, the audit
// events, the recording, and the removal of a host the directory dropped.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startWindowsDeployment, eventually, acceptInvite, canvasPixel, auditEvent, listedRecording, playRecordingToEnd } from './oriel.mjs';
import { startSlapd, LDAP_ADMIN, LDAP_ADMIN_PASSWORD } from './ldap.mjs';
import { startShadowServer, HOST_USER, HOST_PASSWORD, SCREEN } from './rdp-hosts.mjs';

const PASSWORD = 'a long enough password';
let shadow;
let slapd;
let cluster;
let browser;
let page;
const report = failureReport(() => cluster);
const { test } = report;

before(async () => {
  shadow = await startShadowServer();
  slapd = await startSlapd();
  cluster = await startWindowsDeployment((dir) => {
    const credentials = join(dir, 'windows-credentials.yaml');
    writeFileSync(credentials, `hosts:\n  win-remote:\n    Administrator:\n      username: ${HOST_USER}\n      password: "${HOST_PASSWORD}"\n`);
    chmodSync(credentials, 0o600);
    const bindPassword = join(dir, 'ldap-password');
    writeFileSync(bindPassword, `${LDAP_ADMIN_PASSWORD}\n`);
    chmodSync(bindPassword, 0o600);
    return (
      `  credentials_file: ${credentials}\n` +
      `  static_hosts:\n    - name: win-remote\n      addr: 127.0.0.1:${shadow.port}\n      ad: false\n      certificate_file: ${shadow.certificate}\n      labels:\n        env: lab\n` +
      `  ldap:\n    addr: 127.0.0.1:${slapd.ldaps}\n    domain: example.com\n    username: ${LDAP_ADMIN}\n    password_file: ${bindPassword}\n    ldap_ca_file: ${slapd.caFile}\n` +
      `  discovery:\n    base_dn: '*'\n    filters: ['(!(primaryGroupID=516))']\n  discovery_interval: 1s\n`
    );
  });
  let context;
  ({ browser, context } = await launchChromium({ viewport: { width: 900, height: 700 } }));
  page = await context.newPage();
  report.watch(page);
  // Windows logins first: the page after the invite waits for a desktop the user may reach.
  cluster.orielctl(['users', 'update', 'admin', '--roles=access', '--windows-logins=Administrator']);
  await acceptInvite(page, cluster.invite, PASSWORD);
});

after(async () => {
  await browser?.close();
  report.print(cluster);
  await cluster?.stop();
  shadow?.stop();
  slapd?.stop();
});

test('a joined Windows desktop service registers its desktops under its host id, and its session works through the tunnel', async () => {
  let desktops;
  await eventually('the Windows desktops registered through the cluster API', () => {
    desktops = JSON.parse(cluster.orielctl(['windows_desktops', 'ls', '--format', 'json']));
    return desktops.some((d) => d.name === 'win-remote') && desktops.some((d) => d.name.startsWith('ws1-example-com'));
  });
  for (const desktop of desktops) assert.equal(desktop.server_id, cluster.service, `${desktop.name} names its service's host`);
  const services = cluster.orielctl(['get', 'windows_desktop_service']);
  assert.ok(services.includes(cluster.service), services);

  await page.goto(`${cluster.url}/web`);
  const row = page.locator('[data-desktop="win-remote"]');
  await row.waitFor({ timeout: 30_000 });
  assert.equal((await row.locator('.kind').textContent()).trim(), 'Windows');
  assert.ok((await row.locator('.labels').textContent()).includes('env: lab'));
  await row.locator('[data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await eventually('the xterm on the canvas', async () => (await canvasPixel(page, 200, 100)) === '255,255,255,255');
  const size = await page.evaluate(() => [document.querySelector('#screen').width, document.querySelector('#screen').height]);
  assert.deepEqual(size, [SCREEN.width, SCREEN.height]);
  const box = await page.locator('#screen').boundingBox();
  await page.mouse.click(box.x + (200 * box.width) / SCREEN.width, box.y + (80 * box.height) / SCREEN.height);
  await page.keyboard.type('through the tunnel');
  await page.keyboard.press('Enter');
  await eventually('the typed line on the host', () => shadow.typed().includes('through the tunnel\n'));

  const start = await auditEvent(cluster, 'the Windows session start', (e) => e.event === 'windows.desktop.session.start' && e.success);
  assert.equal(start.desktop_name, 'win-remote');
  assert.equal(start.desktop_service, cluster.service, 'stamped with the service that reported it');
});

test('a lock on the service’s server id ends the session, and its recording reaches the auth service', async () => {
  const out = cluster.orielctl(['lock', '--server-id', cluster.service, '--message', 'the Windows gateway is being patched']);
  const lockName = out.match(/"([^"]+)"/)[1];
  await page.locator('text=the session was locked by an administrator: the Windows gateway is being patched').waitFor({ timeout: 30_000 });
  await page.locator('#status[data-state="closed"]').waitFor();
  const end = await auditEvent(cluster, 'the Windows session end', (e) => e.event === 'windows.desktop.session.end');
  assert.equal(end.desktop_service, cluster.service);
  const recording = await listedRecording(cluster, end.sid);
  assert.equal(recording.desktop, 'win-remote');
  await playRecordingToEnd(page, cluster.url, recording.id);
  assert.equal(await canvasPixel(page, 200, 100), '255,255,255,255', 'the xterm, as the session showed it');
  cluster.orielctl(['unlock', lockName]);
});

test('a host the directory drops leaves the list, and the desktops leave with their service', async () => {
  slapd.delete('cn=WS1,ou=Desktops,dc=example,dc=com');
  await eventually('ws1 to leave the desktops', () => !cluster.orielctl(['windows_desktops', 'ls']).includes('ws1-example-com'));
  assert.match(cluster.orielctl(['windows_desktops', 'ls']), /win-remote/);
  await cluster.stopService();
  await eventually('the stopped service’s desktops to expire', () => !cluster.orielctl(['windows_desktops', 'ls']).includes('win-remote'));
});
