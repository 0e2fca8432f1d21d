// Two people at once, in two real Chromium contexts against one daemon:
// each session runs as that person's own desktop login (made on the host at
// the first session, as the role allows), on a display of its own that the
// other login cannot reach; and a role's client idle timeout ends an
// untouched session with the reason, on record for administrators.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startOriel, eventually, canvasPixel, acceptInvite, auditEvent } from './oriel.mjs';

const PASSWORD = 'a long enough password';
const BOB = 'oriel-e2e-bob';
const RED = '170,51,51,255';
const GREEN = '51,170,51,255';

let oriel;
let browser;
let admin;
let bob;
let desktopName;
const report = failureReport(() => oriel);
const { test } = report;

/**
 * Paints the root in the login's colour (green for bob, red for anyone
 * else), says who and where it is in `<dir>/whoami-<login>`, then, once
 * the other login's session is up, tries that display with its own cookie
 * and reads the other's cookie file, and writes what happened.
 */
function probe(dir) {
  return [
    `me=$(id -un); if [ "$me" = ${BOB} ]; then xsetroot -solid "#33aa33"; else xsetroot -solid "#aa3333"; fi`,
    `echo "$(id -u) $DISPLAY $XAUTHORITY" > ${dir}/whoami-$me.tmp; mv ${dir}/whoami-$me.tmp ${dir}/whoami-$me`,
    `n=0; until [ $(ls ${dir}/whoami-* | wc -l) -ge 2 ] || [ $n -ge 600 ]; do sleep 0.1; n=$((n+1)); done`,
    `for f in ${dir}/whoami-*; do [ "$f" = ${dir}/whoami-$me ] && continue; read uid display auth < "$f"; { xdpyinfo -display "$display" >/dev/null 2>&1 && echo display=reached || echo display=refused; cat "$auth" >/dev/null 2>&1 && echo cookie=read || echo cookie=refused; } > ${dir}/reach-$me.tmp; mv ${dir}/reach-$me.tmp ${dir}/reach-$me; done`,
    'exec sleep 3600',
  ].join('; ');
}

before(async () => {
  oriel = await startOriel([{ name: 'Whoami', command: 'exec sleep 3600' }]);
  // The probe needs the test's directory, known only now.
  const desktop = join(oriel.dir, 'xsessions', 'Whoami.desktop');
  writeFileSync(desktop, readFileSync(desktop, 'utf8').replace('exec sleep 3600', probe(oriel.dir)));
  ({ browser } = await launchChromium());
  admin = await newPage();
  bob = await newPage();
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

async function newPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 700, height: 500 } });
  const page = await context.newPage();
  report.watch(page);
  return page;
}

async function connect(page) {
  await page.goto(`${oriel.url}/web`);
  await page.locator(`[data-desktop="${desktopName}"] [data-connect]`).click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
}

function whoami(login) {
  const [uid, display, xauthority] = readFileSync(join(oriel.dir, `whoami-${login}`), 'utf8').trim().split(' ');
  return { uid: Number(uid), display, xauthority };
}

test('two people at once: each runs as their own login, on a display the other cannot reach', async () => {
  const role = join(oriel.dir, 'e2e-logins.yaml');
  // Host options count only from the roles that allow the session.
  writeFileSync(role, "kind: role\nversion: v7\nmetadata:\n  name: e2e-logins\nspec:\n  options:\n    create_desktop_user: true\n  allow:\n    linux_desktop_logins: ['{{internal.linux_logins}}']\n    linux_desktop_labels:\n      '*': '*'\n");
  oriel.orielctl(['create', '-f', role]);
  const added = oriel.orielctl(['users', 'add', 'bob', '--roles=access,e2e-logins', `--linux-logins=${BOB}`]);
  const bobInvite = `${oriel.url}/web/invite/${added.match(/\/web\/invite\/(\S+)/)[1]}`;
  desktopName = await acceptInvite(admin, oriel.invite, PASSWORD);
  assert.equal(await acceptInvite(bob, bobInvite, PASSWORD), desktopName, 'both see the one desktop');

  await Promise.all([connect(admin), connect(bob)]);
  const adminUser = JSON.parse(oriel.orielctl(['users', 'ls', '--format', 'json'])).find((u) => u.name === 'admin');
  const adminLogin = (adminUser.linux_logins ?? adminUser.traits?.linux_logins ?? [])[0];
  await eventually('both sessions to say who they are', () => [adminLogin, BOB].every((login) => existsSync(join(oriel.dir, `whoami-${login}`))));
  const mine = whoami(adminLogin);
  const theirs = whoami(BOB);
  assert.ok(mine.uid > 0 && theirs.uid > 0 && mine.uid !== theirs.uid, `two non-root logins: ${mine.uid} and ${theirs.uid}`);
  assert.notEqual(mine.display, theirs.display, 'a display each');

  // Each canvas shows its own desktop.
  await eventually("admin's red desktop", async () => (await canvasPixel(admin, 5, 5)) === RED);
  await eventually("bob's green desktop", async () => (await canvasPixel(bob, 5, 5)) === GREEN);

  // Neither login reaches the other's display or reads its cookie.
  for (const login of [adminLogin, BOB]) {
    const file = join(oriel.dir, `reach-${login}`);
    await eventually(`${login}'s attempt on the other display`, () => existsSync(file));
    assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), ['display=refused', 'cookie=refused'], `${login} is kept out`);
  }
});

test("a role's client idle timeout ends an untouched session with the reason", async () => {
  const role = join(oriel.dir, 'idle.yaml');
  writeFileSync(role, 'kind: role\nversion: v7\nmetadata:\n  name: idle\nspec:\n  options:\n    client_idle_timeout: 3s\n');
  oriel.orielctl(['create', '-f', role]);
  oriel.orielctl(['users', 'update', 'bob', '--roles=access,e2e-logins,idle', `--linux-logins=${BOB}`]);
  await connect(bob);
  // Nobody touches it.
  await bob.locator('text=the session was idle for 3s (the client idle timeout) and was disconnected').waitFor({ timeout: 30_000 });
  await bob.locator('#status[data-state="closed"]').waitFor();
  const disconnect = await auditEvent(oriel, "bob's idle disconnect", (e) => e.event === 'client.disconnect' && e.user === 'bob');
  assert.match(disconnect.reason, /the session was idle for 3s/);
});

test('the audit log: the first admin (an auditor) reads it in the web UI, a user without rules is refused', async () => {
  // Bob's roles have no rules on events: no link, and the API says why.
  await bob.goto(`${oriel.url}/web`);
  await bob.locator('.desktop-table').waitFor();
  assert.equal(await bob.locator('a[href="/web/audit"]').isVisible(), false, 'no Audit log link for bob');
  const refused = await bob.request.get(`${oriel.url}/api/audit/events`);
  assert.equal(refused.status(), 403);
  assert.match((await refused.json()).error, /your roles do not allow "list" on "event"/);

  // The admin has the preset auditor role: the page lists bob's session from start to end.
  await admin.goto(`${oriel.url}/web`);
  await admin.locator('a[href="/web/audit"]').click();
  await admin.locator('.audit-table tbody tr[data-event-uid]').first().waitFor({ timeout: 30_000 });
  await admin.selectOption('#audit-type', 'linux.desktop.session.end');
  await admin.fill('#audit-user', 'bob');
  await admin.click('#audit-search');
  const row = admin.locator('.audit-table tbody tr[data-event-uid]').first();
  await row.waitFor();
  await eventually('only bob\'s session ends listed', async () => {
    const texts = await admin.locator('.audit-table tbody tr[data-event-uid]').allInnerTexts();
    return texts.length > 0 && texts.every((text) => text.includes('bob') && text.includes('TLD01I'));
  });
  await row.locator('[data-details]').click();
  const details = JSON.parse(await admin.locator('.audit-details pre').first().innerText());
  assert.equal(details.event, 'linux.desktop.session.end');
  assert.deepEqual(details.participants, ['bob']);
  assert.equal(details.linux_user, BOB);
  // The same session's start, by its id.
  const started = await auditEvent(oriel, "bob's session start", (e) => e.event === 'linux.desktop.session.start' && e.sid === details.sid);
  assert.equal(started.success, true);
});
