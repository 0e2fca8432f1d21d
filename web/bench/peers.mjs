#!/usr/bin/env node
// Oriel side by side with x11vnc + noVNC on the same workloads, the same
// 1600x900 screen and the same Chromium, bytes counted the same way for
// both (websocket frames the page receives, from CDP), and the servers'
// CPU from /proc. Prints a markdown table for BENCHMARKS.md on stdout;
// progress goes to stderr.
//
//   node web/bench/peers.mjs [--seconds N] [--workloads typing,scroll,seq,clock,drag] [--systems oriel,x11vnc] [--screenshots DIR] [--x11vnc-args "ARGS"]
//
// --screenshots DIR saves the page at the end of each workload's window
// (DIR/<system>-<workload>.png), to see that both showed the workload.
// --x11vnc-args "ARGS" adds options to x11vnc's defaults, e.g. "-nowireframe"
// (by default x11vnc shows a window being dragged as an outline).
//
// Uses target/release/oriel and web/dist as they are (it builds nothing).
// Everything runs on 127.0.0.1; every process it starts ends with it.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM_PATH } from '../e2e/browser.mjs';
import { ROOT } from '../e2e/oriel.mjs';
import { readProcs, cpuSeconds, killStarted } from './procs.mjs';
import { startOrielSystem, startVncSystem, negotiated, WIDTH, HEIGHT } from './systems.mjs';
import { WORKLOADS, WORKLOAD_NAMES, writeScripts, findTerm, reset, wait } from './workloads.mjs';

const SETTLE_SECONDS = 2;
const SYSTEM_NAMES = ['oriel', 'x11vnc'];
const log = (message) => process.stderr.write(`[peers] ${message}\n`);

/** What to undo at the end, the last added first: each system's stop, the scripts' directory. */
const teardown = [];
let cleaning;
let interrupted = false;

/** Runs the teardown once, then ends whatever this benchmark started that is still there. */
function cleanup() {
  cleaning ??= (async () => {
    while (teardown.length) await teardown.pop()().catch((error) => log(`cleanup: ${error.message}`));
    await killStarted();
  })();
  return cleaning;
}

function usage(problem) {
  if (problem) console.error(`peers.mjs: ${problem}`);
  console.error(`usage: node web/bench/peers.mjs [--seconds N] [--workloads ${WORKLOAD_NAMES.join(',')}] [--systems ${SYSTEM_NAMES.join(',')}] [--screenshots DIR] [--x11vnc-args "ARGS"]`);
  process.exit(2);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        seconds: { type: 'string', default: '10' },
        workloads: { type: 'string', default: WORKLOAD_NAMES.join(',') },
        systems: { type: 'string', default: SYSTEM_NAMES.join(',') },
        screenshots: { type: 'string' },
        'x11vnc-args': { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    usage(error.message);
  }
  if (parsed.help) usage();
  const seconds = Number(parsed.seconds);
  if (!(seconds > 0)) usage(`--seconds wants a positive number, not ${parsed.seconds}`);
  const list = (value, known, what) => {
    const names = value.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length || names.length === 0) usage(`unknown ${what} ${unknown.join(', ') || '(none given)'}; known: ${known.join(', ')}`);
    return names;
  };
  return {
    seconds,
    workloads: list(parsed.workloads, WORKLOAD_NAMES, 'workload'),
    systems: list(parsed.systems, SYSTEM_NAMES, 'system'),
    screenshots: parsed.screenshots,
    x11vncArgs: parsed['x11vnc-args'].split(/\s+/).filter(Boolean),
  };
}

/** Fails with every missing program or file at once, naming the Debian package (or the build step) that gives it. */
function checkPrerequisites() {
  const onPath = (name) =>
    (process.env.PATH ?? '').split(delimiter).some((dir) => {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const programs = {
    Xvfb: 'xvfb',
    x11vnc: 'x11vnc',
    websockify: 'websockify',
    xdotool: 'xdotool',
    openbox: 'openbox',
    xterm: 'xterm',
    xclock: 'x11-apps',
    xsetroot: 'x11-xserver-utils',
    xwininfo: 'x11-utils',
    xprop: 'x11-utils',
    getconf: 'libc-bin',
  };
  const missing = Object.entries(programs)
    .filter(([program]) => !onPath(program))
    .map(([program, pkg]) => `${program} (Debian package ${pkg})`);
  if (!existsSync('/usr/share/novnc/vnc.html')) missing.push('/usr/share/novnc/vnc.html (Debian package novnc)');
  if (!existsSync(CHROMIUM_PATH)) missing.push(`${CHROMIUM_PATH} (Debian package chromium, or set ORIEL_CHROMIUM)`);
  for (const built of ['target/release/oriel', 'target/release/orielctl']) {
    if (!existsSync(join(ROOT, built))) missing.push(`${built} (build Oriel first: scripts/build)`);
  }
  if (!existsSync(join(ROOT, 'web/dist/index.html'))) missing.push('web/dist (build the web client first: scripts/build)');
  if (missing.length) {
    console.error(`peers.mjs: missing:\n  ${missing.join('\n  ')}`);
    process.exit(1);
  }
}

function packageVersion(pkg) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg]).toString().trim();
  } catch {
    return 'unknown';
  }
}

function orielVersion() {
  try {
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']).toString().trim() ? ' with local changes' : '';
    const built = statSync(join(ROOT, 'target/release/oriel')).mtime.toISOString().replace(/\.\d+Z$/, 'Z');
    return `${commit}${dirty}, target/release/oriel built ${built}`;
  } catch {
    return 'unknown';
  }
}

function machine() {
  const model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const cores = execFileSync('nproc').toString().trim();
  return { model, cores };
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** Runs every workload on `system`; one result row each. */
async function runWorkloads(system, opts, bench) {
  const desk = { display: system.display };
  await findTerm(desk);
  const rows = [];
  for (const name of opts.workloads) {
    if (!(await system.connected())) throw new Error(`${system.name}'s page is no longer connected (before ${name})`);
    log(`${system.name}: ${name} (${SETTLE_SECONDS} s settle + ${opts.seconds} s)`);
    const span = { settle: SETTLE_SECONDS, seconds: opts.seconds, bench };
    const running = await WORKLOADS[name].start(desk, span);
    let notes;
    let measured;
    const extra = [];
    try {
      await wait(SETTLE_SECONDS * 1000);
      const paintedBefore = await system.paintStats?.();
      const cpuBegan = performance.now();
      const before = readProcs();
      await system.frames.start();
      const began = performance.now();
      await wait(opts.seconds * 1000);
      const frames = await system.frames.stop();
      const elapsed = (performance.now() - began) / 1000;
      const after = readProcs();
      const cpuElapsed = (performance.now() - cpuBegan) / 1000;
      const paintedAfter = await system.paintStats?.();
      if (paintedBefore && paintedAfter) {
        extra.push(`the page painted ${paintedAfter.framesPainted - paintedBefore.framesPainted} frames, ${paintedAfter.regionsCopied - paintedBefore.regionsCopied} copied regions`);
      }
      if (opts.screenshots) {
        mkdirSync(opts.screenshots, { recursive: true });
        await system.page.screenshot({ path: join(opts.screenshots, `${system.name.toLowerCase()}-${name}.png`) });
      }
      measured = {
        elapsed,
        ...frames,
        cpuElapsed,
        server: cpuSeconds(before, after, system.serverPids),
        xvfb: cpuSeconds(before, after, system.xvfbPids),
        browser: cpuSeconds(before, after, system.browserPids),
      };
    } finally {
      notes = await running.stop();
    }
    notes.push(...extra);
    if (!(await system.connected())) throw new Error(`${system.name}'s page disconnected during ${name}`);
    if (measured.frames === 0) notes.push('no websocket frame arrived in the window');
    // CDP and the page's own listener should agree; a gap would mean CDP cut frames short.
    if (Math.abs(measured.pageBytes - measured.bytes) > 0.02 * Math.max(measured.bytes, 1) + 1024) {
      notes.push(`CDP counted ${measured.bytes} B but the page's listener ${measured.pageBytes} B`);
    }
    rows.push({ workload: name, system: system.name, ...measured, notes });
    await reset(desk);
  }
  return rows;
}

function table(rows, opts) {
  const kb = (b) => (b / 1000).toFixed(1);
  const pct = (s, t) => ((100 * s) / t).toFixed(1);
  const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : a > 0 ? '∞' : '–');
  const lines = [
    '| workload | system | KB received | KB/s | ws frames | server CPU % | Xvfb CPU % | Chromium CPU % | bytes vs x11vnc | server CPU vs x11vnc |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const workload of opts.workloads) {
    const oriel = rows.find((r) => r.workload === workload && r.system === 'Oriel');
    const vnc = rows.find((r) => r.workload === workload && r.system === 'x11vnc');
    for (const row of [oriel, vnc].filter(Boolean)) {
      const compare = row === oriel && vnc;
      lines.push(
        `| ${workload} | ${row.system === 'x11vnc' ? 'x11vnc + noVNC' : 'Oriel'} | ${kb(row.bytes)} | ${kb(row.bytes / row.elapsed)} | ${row.frames} | ${pct(row.server, row.cpuElapsed)} | ${pct(row.xvfb, row.cpuElapsed)} | ${pct(row.browser, row.cpuElapsed)} | ${compare ? ratio(oriel.bytes, vnc.bytes) : ''} | ${compare ? ratio(oriel.server, vnc.server) : ''} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main() {
  const opts = options();
  checkPrerequisites();
  const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
  const command = ['node', relative(process.cwd(), join(ROOT, 'web/bench/peers.mjs')), ...process.argv.slice(2)].map(quote).join(' ');
  const started = new Date();
  const loadBefore = load();
  const bench = writeScripts(mkdtempSync(join(tmpdir(), 'oriel-peers-')));
  teardown.push(async () => rmSync(bench.dir, { recursive: true, force: true }));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, async () => {
      interrupted = true;
      log(`${signal}: cleaning up`);
      await cleanup();
      process.exit(130);
    });
  }

  const rows = [];
  const notes = [];
  const encodings = [];
  let viewport = { width: WIDTH, height: HEIGHT };
  const connectedSystems = [];
  try {
    for (const name of opts.systems) {
      // One system at a time: the other's processes are gone while this one is measured.
      if (interrupted) return;
      const system = name === 'oriel' ? await startOrielSystem(bench, log) : await startVncSystem(bench, viewport, log, opts.x11vncArgs);
      teardown.push(() => system.stop());
      if (system.viewport) viewport = system.viewport;
      notes.push(...system.notes);
      const found = await runWorkloads(system, opts, bench);
      rows.push(...found);
      connectedSystems.push({ name: system.name, sockets: [...new Set(system.frames.counter.sockets.map((u) => u.replace(/:\d+\//, ':<port>/').replace(/\?.*/, '')))], extensions: [...system.frames.counter.extensions] });
      if (name === 'x11vnc') encodings.push(...negotiated(system));
      await system.stop();
      log(`${system.name} done (load average ${load()})`);
    }
  } finally {
    await cleanup();
  }
  if (interrupted) return;

  const { model, cores } = machine();
  const out = [];
  out.push(`Peers: Oriel and x11vnc + noVNC, ${started.toISOString().replace(/\.\d+Z$/, 'Z')}`);
  out.push('');
  out.push('```');
  out.push(command);
  out.push('```');
  out.push('');
  out.push(`- Machine: ${cores} × ${model}; load average ${loadBefore} before, ${load()} after.`);
  out.push(
    `- Oriel ${orielVersion()}; x11vnc ${packageVersion('x11vnc')}, novnc ${packageVersion('novnc')}, websockify ${packageVersion('websockify')}, Xvfb ${packageVersion('xvfb')}, ${execFileSync(CHROMIUM_PATH, ['--version']).toString().trim()} (headless).`,
  );
  out.push(`- Screen ${WIDTH}x${HEIGHT}x24 on both; desktop: openbox, one 100x30 xterm (bash, prompt \`$ \`), root #3366cc.`);
  out.push(
    `- Each workload: started, ${SETTLE_SECONDS} s to settle, then ${opts.seconds} s measured. Bytes: payload of the websocket frames the page received (CDP Network.webSocketFrameReceived), the same for both. CPU: utime+stime from /proc over the window, % of one core (CLK_TCK ticks).`,
  );
  for (const s of connectedSystems) out.push(`- ${s.name} websocket(s): ${s.sockets.join(', ') || 'none'}; Sec-WebSocket-Extensions: ${s.extensions.join(', ') || 'none'}.`);
  if (encodings.length) out.push(`- x11vnc used for noVNC: ${encodings.join('; ')}.`);
  for (const note of notes) out.push(`- ${note}`);
  if (opts.systems.includes('x11vnc') && opts.workloads.includes('drag') && !opts.x11vncArgs.some((a) => /^-+(nowireframe|nowf)$/.test(a))) {
    out.push("- x11vnc runs with its default -wireframe: while a button is held on a moving window it sends an outline of the window instead of the window (`--x11vnc-args=-nowireframe` turns that off).");
  }
  out.push('');
  out.push(table(rows, opts));
  out.push('');
  out.push('Workloads (xdotool on each X server directly, not through the browser):');
  for (const name of opts.workloads) out.push(`- ${name}: ${WORKLOADS[name].describe}`);
  const odd = rows.filter((r) => r.notes.length);
  if (odd.length) {
    out.push('');
    out.push('Notes:');
    for (const r of odd) out.push(`- ${r.workload}, ${r.system}: ${r.notes.join('; ')}`);
  }
  console.log(out.join('\n'));
}

main().catch(async (error) => {
  // After Ctrl-C the pages close under the workloads: the signal's handler reports and exits.
  if (interrupted) return;
  console.error(`peers.mjs: ${error.stack ?? error}`);
  await cleanup();
  process.exit(1);
});
