// The player's clock (src/playback-clock.ts): the position at each speed,
// paused, moved; and how long to wait for a record, on a wall clock the
// test moves by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/playback-clock.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'playback-clock.mjs'), code);
const { PlaybackClock, SPEEDS } = await import(pathToFileURL(join(dir, 'playback-clock.mjs')));
rmSync(dir, { recursive: true });

function clock(end = 60_000) {
  const wall = { now: 5_000 };
  return { wall, clock: new PlaybackClock(() => wall.now, end) };
}

test('the speeds offered', () => {
  assert.deepEqual(SPEEDS, [0.25, 0.5, 1, 2, 4, 8, 16]);
});

test('paused at the start until played; then real time at 1x', () => {
  const { wall, clock: c } = clock();
  assert.equal(c.running, false);
  wall.now += 1_000;
  assert.equal(c.position(), 0);
  c.play();
  wall.now += 1_500;
  assert.equal(c.position(), 1_500);
});

test('each speed runs that many times real time', () => {
  for (const speed of SPEEDS) {
    const { wall, clock: c } = clock(1_000_000);
    c.setSpeed(speed);
    c.play();
    wall.now += 2_000;
    assert.equal(c.position(), 2_000 * speed, `${speed}x`);
  }
});

test('a speed change keeps what was played and applies from then on', () => {
  const { wall, clock: c } = clock();
  c.play();
  wall.now += 1_000;
  c.setSpeed(4);
  assert.equal(c.position(), 1_000);
  wall.now += 1_000;
  assert.equal(c.position(), 5_000);
  c.setSpeed(0.25);
  wall.now += 2_000;
  assert.equal(c.position(), 5_500);
});

test('pause holds the position; play goes on from it', () => {
  const { wall, clock: c } = clock();
  c.setSpeed(2);
  c.play();
  wall.now += 1_000;
  c.pause();
  wall.now += 10_000;
  assert.equal(c.position(), 2_000);
  c.play();
  wall.now += 500;
  assert.equal(c.position(), 3_000);
});

test('a seek moves the position, running or not, within the recording', () => {
  const { wall, clock: c } = clock(60_000);
  c.seek(12_345);
  assert.equal(c.position(), 12_345);
  c.play();
  wall.now += 100;
  c.seek(40_000);
  assert.equal(c.position(), 40_000);
  wall.now += 100;
  assert.equal(c.position(), 40_100);
  c.seek(-3);
  assert.equal(c.position(), 0);
  c.seek(70_000);
  assert.equal(c.position(), 60_000);
});

test('the position stops at the end', () => {
  const { wall, clock: c } = clock(3_000);
  c.setSpeed(16);
  c.play();
  wall.now += 10_000;
  assert.equal(c.position(), 3_000);
});

test('the wait for a moment is its distance over the speed; forever while paused; none once there', () => {
  const { wall, clock: c } = clock(60_000);
  assert.equal(c.timeUntil(0), 0);
  assert.equal(c.timeUntil(1_000), Infinity, 'paused');
  c.play();
  assert.equal(c.timeUntil(1_000), 1_000);
  c.setSpeed(8);
  assert.equal(c.timeUntil(1_000), 125);
  wall.now += 125;
  assert.equal(c.timeUntil(1_000), 0);
  assert.equal(c.timeUntil(999), 0, 'already past');
  assert.equal(c.timeUntil(90_000), (60_000 - 1_000) / 8, 'a moment past the end waits for the end');
});
