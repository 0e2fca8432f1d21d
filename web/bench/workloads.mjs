// The workloads of the peer benchmark, driven with xdotool against the X
// server itself (never through the browser), the same on every system.
// Each `start(desk, span)` begins one and returns `{ stop }`; `stop()` ends
// what it started and returns notes. `reset(desk)` puts the desktop back:
// the xterm in place, focused, cleared, the pointer parked.
import { writeFileSync, mkdirSync, chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { x } from '../e2e/oriel.mjs';
import { spawnTracked, stopTracked } from './procs.mjs';
import { until } from './systems.mjs';

export const WORKLOAD_NAMES = ['typing', 'scroll', 'seq', 'clock', 'drag'];
const TERM_GEOMETRY = { columns: 100, rows: 30, x: 80, y: 60 };
/** Where the pointer rests between workloads: on the root, away from every window. */
const PARK = [1560, 880];

/**
 * Writes the benchmark's scripts in `dir` (made readable by the desktop
 * login, with `out/` writable by it): the xsession both systems run
 * (blue root, openbox, one xterm running bash with a plain prompt) and the
 * scripts the xterm runs.
 */
export function writeScripts(dir) {
  chmodSync(dir, 0o755);
  const out = join(dir, 'out');
  mkdirSync(out);
  chmodSync(out, 0o1777);
  const file = (name, text) => {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o644);
    return join(dir, name);
  };
  const { columns, rows, x: left, y: top } = TERM_GEOMETRY;
  const shell = file('shell.sh', `exec env PS1='$ ' HISTFILE=/dev/null bash --norc --noprofile\n`);
  const xsession = file(
    'xsession.sh',
    [
      '# The desktop of the peer benchmark, the same on every system.',
      "xsetroot -solid '#3366cc'",
      'openbox --config-file /etc/xdg/openbox/rc.xml &',
      'wm=$!',
      '# A window mapped before openbox manages windows gets no frame.',
      'n=0',
      "until xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q 'window id'; do",
      '  n=$((n + 1)); [ $n -gt 200 ] && break; sleep 0.05',
      'done',
      `xterm -name benchterm -T benchterm -fn fixed -fg black -bg white -geometry ${columns}x${rows}+${left}+${top} -e /bin/sh ${shell} &`,
      'wait $wm',
      '',
    ].join('\n'),
  );
  // The counter matters: 3 lines a turn in 30 rows would leave the screen
  // as it was after each turn, and a server that compares pixels sends nothing.
  file('scroll.sh', 'i=0; while :; do i=$((i + 1)); echo "turn $i"; ls -l /usr/bin | head -n 3; sleep 0.02; done\n');
  file('seq.sh', `seq 1 1000000; date +%s%3N > ${join(out, 'seq.end')}\n`);
  return { dir, xsession, seqEnd: join(out, 'seq.end'), script: (name) => join(dir, `${name}.sh`) };
}

/** xdotool (or another X client) on the desktop, waited for; its stdout. */
function xdo(desk, ...args) {
  return x(desk.display, 'xdotool', args).toString();
}

/** xdotool running on, for a workload; ended with stopTracked. */
function xdoBackground(desk, args) {
  return spawnTracked('xdotool', args, { env: { ...process.env, ...desk.display } });
}

/** The client window's position and size and its frame's left and top (openbox's border and title bar). */
function geometry(desk, window) {
  const info = x(desk.display, 'xwininfo', ['-id', window]).toString();
  const n = (label) => Number(info.match(new RegExp(`${label}:\\s+(-?\\d+)`))[1]);
  return { x: n('Absolute upper-left X'), y: n('Absolute upper-left Y'), frameLeft: n('Relative upper-left X'), frameTop: n('Relative upper-left Y'), width: n('Width'), height: n('Height') };
}

/** Finds the benchmark's xterm, framed by openbox, and remembers where it is. */
export async function findTerm(desk) {
  desk.term = await until('the benchmark xterm framed by openbox', () => {
    const found = xdo(desk, 'search', '--classname', '^benchterm$').trim().split('\n')[0];
    return found && geometry(desk, found).frameTop > 0 ? found : null;
  });
  desk.home = geometry(desk, desk.term);
  await reset(desk);
}

function typeLine(desk, text) {
  xdo(desk, 'windowactivate', '--sync', desk.term);
  xdo(desk, 'type', '--delay', '12', `${text}\n`);
}

/** The xterm back where it was, unmaximised, focused and clear; the pointer parked. */
export async function reset(desk) {
  xdo(desk, 'mouseup', '1');
  // A typist stopped mid-key leaves that key down, and the next press of it
  // is lost (the scroll workload's `sh /tmp/...` typed as `sh /mp/...`).
  xdo(desk, 'keyup', 'shift', 'ctrl', ...'abcdefghijklmnopqrstuvwxyz'.split(''), 'comma', 'period', 'space');
  if (/MAXIMIZED/.test(x(desk.display, 'xprop', ['-id', desk.term, '_NET_WM_STATE']).toString())) {
    await toggleMaximised(desk);
  }
  const at = geometry(desk, desk.term);
  if (at.x !== desk.home.x || at.y !== desk.home.y) {
    // windowmove places the frame's corner; the client sits inside it.
    xdo(desk, 'windowmove', '--sync', desk.term, String(desk.home.x - desk.home.frameLeft), String(desk.home.y - desk.home.frameTop));
    await until('the xterm back in place', () => {
      const now = geometry(desk, desk.term);
      return now.x === desk.home.x && now.y === desk.home.y;
    });
  }
  xdo(desk, 'windowactivate', '--sync', desk.term);
  xdo(desk, 'key', 'ctrl+c');
  typeLine(desk, 'clear');
  xdo(desk, 'mousemove', String(PARK[0]), String(PARK[1]));
}

/** Double-clicks the xterm's title bar: openbox's ToggleMaximize. */
async function toggleMaximised(desk) {
  const at = geometry(desk, desk.term);
  const wasMaximised = at.width > desk.home.width;
  xdo(desk, 'mousemove', String(at.x + 100), String(at.y - Math.ceil(at.frameTop / 2)), 'click', '--repeat', '2', '--delay', '80', '1');
  await until(wasMaximised ? 'the xterm unmaximised' : 'the xterm maximised', () => (geometry(desk, desk.term).width > desk.home.width) !== wasMaximised);
  xdo(desk, 'mousemove', String(PARK[0]), String(PARK[1]));
}

/** A sentence, repeated to `length` characters. */
function sentence(length) {
  const words = 'The quick brown fox jumps over the lazy dog, then types on. ';
  return words.repeat(Math.ceil(length / words.length)).slice(0, length);
}

/** `span` is { settle, seconds }: how long the workload must last at least. */
export const WORKLOADS = {
  /** 10 keys a second into the focused xterm, at the shell's prompt. */
  typing: {
    // Measured with Debian's xdotool 3.20160805, `--delay 100` types 20
    // characters a second (one per delay/2 ms): 200 gives 10 a second.
    describe: 'xdotool type --delay 200 of a sentence into the focused xterm: 10 characters/s (this xdotool types one per delay/2 ms)',
    async start(desk, span) {
      xdo(desk, 'windowactivate', '--sync', desk.term);
      const keys = Math.ceil((span.settle + span.seconds + 2) * 10);
      const typist = xdoBackground(desk, ['type', '--delay', '200', sentence(keys)]);
      return {
        async stop() {
          const stillTyping = typist.exitCode === null;
          await stopTracked(typist);
          return stillTyping ? [] : ['typing ended before the window did'];
        },
      };
    },
  },
  /** Lines of text at a steady rate: the xterm scrolls. */
  scroll: {
    describe: 'the xterm runs `i=0; while :; do i=$((i + 1)); echo "turn $i"; ls -l /usr/bin | head -n 3; sleep 0.02; done`',
    async start(desk, span) {
      typeLine(desk, `sh ${span.bench.script('scroll')}`);
      return { stop: async () => [] };
    },
  },
  /** seq 1 1000000 in a maximised xterm: as fast as the terminal goes. */
  seq: {
    describe: '`seq 1 1000000` in the maximised xterm',
    async start(desk, span) {
      await toggleMaximised(desk);
      rmSync(span.bench.seqEnd, { force: true });
      const began = Date.now();
      typeLine(desk, `sh ${span.bench.script('seq')}`);
      return {
        async stop() {
          if (!existsSync(span.bench.seqEnd)) return ['seq was still running when the window ended'];
          const ended = Number(readFileSync(span.bench.seqEnd, 'utf8').trim());
          return [`seq finished ${((ended - began) / 1000).toFixed(1)} s after it was typed (window: ${span.settle} s settle + ${span.seconds} s)`];
        },
      };
    },
  },
  /** An xclock with a second hand. */
  clock: {
    describe: '`xclock -update 1` (200x200) beside the xterm',
    async start(desk) {
      const clock = spawnTracked('xclock', ['-update', '1', '-geometry', '200x200+1200+100'], { env: { ...process.env, ...desk.display } });
      await until('the xclock window', () => xdo(desk, 'search', '--classname', '^xclock$').trim(), [clock]);
      return {
        async stop() {
          await stopTracked(clock);
          return [];
        },
      };
    },
  },
  /** The xterm dragged by its title bar, ~60 pointer moves a second, button held. */
  drag: {
    describe: 'xdotool drags the xterm by its openbox title bar (button held, ~60 moves/s along a loop)',
    async start(desk, span) {
      const from = geometry(desk, desk.term);
      const [x0, y0] = [from.x + 100, from.y - Math.ceil(from.frameTop / 2)];
      const moves = Math.ceil((span.settle + span.seconds + 2) * 60);
      const args = ['mousemove', String(x0), String(y0), 'mousedown', '1'];
      for (let i = 1; i <= moves; i++) {
        // A loop every 4 s: 0..600 px right, 0..200 px down, back to the start.
        const angle = (2 * Math.PI * i) / 240;
        const dx = Math.round(300 * (1 - Math.cos(angle)));
        const dy = Math.round(100 * (1 - Math.cos(2 * angle)));
        args.push('sleep', '0.0167', 'mousemove', String(x0 + dx), String(y0 + dy));
      }
      args.push('mouseup', '1');
      const dragger = xdoBackground(desk, args);
      const positions = new Set();
      const watch = setInterval(() => {
        try {
          const at = geometry(desk, desk.term);
          positions.add(`${at.x},${at.y}`);
        } catch {
          // the next sample will do
        }
      }, 500);
      return {
        async stop() {
          clearInterval(watch);
          const stillDragging = dragger.exitCode === null;
          await stopTracked(dragger);
          xdo(desk, 'mouseup', '1');
          const notes = [];
          if (positions.size < 3) notes.push(`the window did not move (seen at ${[...positions].join(' ') || 'nowhere'})`);
          else notes.push(`the window was seen at ${positions.size} positions (sampled every 0.5 s)`);
          if (!stillDragging) notes.push('the drag ended before the window did');
          return notes;
        },
      };
    },
  },
};

/** Waits `ms`, for a workload's settle and window. */
export const wait = (ms) => sleep(ms);
