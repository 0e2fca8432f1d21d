// Sharing a session, in real Chromium contexts against the real daemon:
// the owner works in an xterm and invites bob from the People panel; bob,
// whose role has join_sessions, opens the link as an observer (sees the
// owner's typing, cannot type), then as a peer (types into the same
// xterm); the owner sees who is there and removes him; carol, whose roles
// have no join_sessions, is refused with the reason.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';
import { failureReport, TYPING_PROBE, probeOutput } from './harness.mjs';
import { startOriel, eventually, xDisplay, acceptInvite, typeIntoProbe, canvasMatchesRoot } from './oriel.mjs';

const PASSWORD = 'a long enough password';
/** Desktop logins for the two guests, and join_sessions for the helpdesk. */
const LOGINS = "  allow:\n    linux_desktop_logins: ['{{internal.linux_logins}}']\n    linux_desktop_labels:\n      '*': '*'\n";
const HELPDESK = `kind: role\nversion: v7\nmetadata:\n  name: helpdesk\nspec:\n  options:\n    create_desktop_user: true\n${LOGINS}    join_sessions:\n      - name: help anyone\n        roles: ['*']\n        kinds: [desktop]\n        modes: [observer, peer]\n`;
const GUEST = `kind: role\nversion: v7\nmetadata:\n  name: guest\nspec:\n  options:\n    create_desktop_user: true\n${LOGINS}`;

let oriel;
let browser;
let owner;
let bob;
let typed;
let display;
const report = failureReport(() => oriel);
const { test } = report;

before(async () => {
  oriel = await startOriel([TYPING_PROBE]);
  typed = probeOutput(oriel);
  ({ browser } = await launchChromium());
  owner = await newPage();
  bob = await newPage();
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

async function newPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 } });
  return report.watch(await context.newPage());
}

const typedText = () => (existsSync(typed) ? readFileSync(typed, 'utf8') : '');

/** Adds `name` with `role` and accepts the invite on `page`. */
async function addUser(page, name, role, login) {
  const secret = oriel.orielctl(['users', 'add', name, `--roles=${role}`, `--linux-logins=${login}`]).match(/\/web\/invite\/(\S+)/)[1];
  await acceptInvite(page, `${oriel.url}/web/invite/${secret}`, PASSWORD);
}

/** The owner invites `user` as `mode` from the People panel; returns the join link. */
async function invite(user, mode) {
  if (!(await owner.locator('#participants-panel').isVisible())) await owner.click('#participants');
  await owner.fill('#invite-user', user);
  await owner.selectOption('#invite-mode', mode);
  await owner.click('#invite-submit');
  await owner.locator(`#invited-list li.invitation[data-user="${user}"][data-mode="${mode}"]`).waitFor({ timeout: 30_000 });
  const link = await eventually('the join link', async () => owner.locator('#invite-link').inputValue());
  return new URL(link, oriel.url).toString();
}

test('the owner works in an xterm and invites bob; bob watches and cannot type', async () => {
  await acceptInvite(owner, oriel.invite, PASSWORD);
  await owner.locator('[data-desktop] [data-connect]').first().click();
  await owner.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  display = await xDisplay(oriel, 'Typing probe');
  await typeIntoProbe(owner, 'from the owner');
  await eventually("the owner's line", () => typedText() === 'from the owner!\n');

  for (const [file, text] of [['helpdesk.yaml', HELPDESK], ['guest.yaml', GUEST]]) {
    writeFileSync(join(oriel.dir, file), text);
    oriel.orielctl(['create', '-f', join(oriel.dir, file)]);
  }
  await addUser(bob, 'bob', 'helpdesk', 'oriel-e2e-bob');
  const link = await invite('bob', 'observer');
  assert.match(link, /\?join=[0-9a-f-]{36}&mode=observer$/);

  await bob.goto(link);
  await bob.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  assert.match(await bob.locator('#status .status-text').textContent(), /^Watching admin's session/);
  // The owner's screen, the xterm with its line, from a keyframe.
  await canvasMatchesRoot(bob, display, { x: 0, y: 0, width: 600, height: 220 });
  // Both see who is there.
  await owner.locator('#participants-list li.participant[data-mode="observer"]').waitFor({ timeout: 30_000 });
  assert.match(await owner.locator('#participants-list li.participant[data-mode="observer"]').textContent(), /bob/);

  // Bob's keys go nowhere; the owner's next line arrives alone.
  await bob.locator('#screen').click({ position: { x: 200, y: 80 } });
  await bob.keyboard.type('from bob');
  await bob.keyboard.press('Enter');
  await typeIntoProbe(owner, 'second');
  await eventually("the owner's second line", () => typedText().endsWith('second!\n'));
  assert.equal(typedText(), 'from the owner!\nsecond!\n', "nothing of the observer's");
  // And he sees the owner's typing as it happens.
  await canvasMatchesRoot(bob, display, { x: 0, y: 0, width: 600, height: 220 });
});

test('as a peer, bob types into the same xterm; the owner removes him', async () => {
  const link = await invite('bob', 'peer');
  await bob.goto(link);
  await bob.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  assert.match(await bob.locator('#status .status-text').textContent(), /^Working with admin/);
  await typeIntoProbe(bob, 'from bob');
  await eventually("bob's line in the owner's xterm", () => typedText() === 'from the owner!\nsecond!\nfrom bob!\n');

  const peer = owner.locator('#participants-list li.participant[data-mode="peer"]');
  await peer.waitFor({ timeout: 30_000 });
  await peer.locator('button.participant-remove').click();
  await bob.locator('text=the session\'s owner removed you from the session').waitFor({ timeout: 30_000 });
  await bob.locator('#status[data-state="closed"]').waitFor({ timeout: 30_000 });
  await owner.locator('#participants-list li.participant[data-mode="peer"]').waitFor({ state: 'detached', timeout: 30_000 });
});

test('carol, whose roles have no join_sessions, is refused with the reason, invited or not', async () => {
  const carol = await newPage();
  await addUser(carol, 'carol', 'guest', 'oriel-e2e-carol');
  const link = await invite('carol', 'observer');
  await carol.goto(link);
  await carol.locator('text=none of your roles lets you join this session as observer').waitFor({ timeout: 30_000 });
  await carol.locator('#status[data-state="closed"]').waitFor({ timeout: 30_000 });
  await carol.context().close();
});
