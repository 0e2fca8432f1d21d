// Processes for the peer benchmark: CPU time from /proc, process trees,
// and every process the benchmark starts, so that all of them end with it
// (on success, on an error and on Ctrl-C).
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck;
/** Clock ticks per second (getconf CLK_TCK), for utime and stime in /proc/<pid>/stat. */
export function clockTicks() {
  clkTck ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  return clkTck;
}

/**
 * Every process now: pid -> { pid, ppid, comm, ticks } where ticks is
 * utime + stime of the whole process (all its threads).
 */
export function readProcs() {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // it exited meanwhile
    }
    // comm may hold spaces and parentheses: it ends at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    // Field n of proc(5) is rest[n - 3]: state is 3, ppid 4, utime 14, stime 15.
    const rest = stat.slice(close + 2).split(' ');
    procs.set(Number(name), { pid: Number(name), ppid: Number(rest[1]), comm, ticks: Number(rest[11]) + Number(rest[12]) });
  }
  return procs;
}

/** The pids below `root` (children, their children…), not `root` itself. */
export function descendants(procs, root) {
  const children = new Map();
  for (const p of procs.values()) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p.pid);
  }
  const found = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift();
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/**
 * CPU seconds the processes `pidsOf(procs)` used between two snapshots.
 * A process that started in between counts from zero; one that ended in
 * between is lost (none of the measured processes should).
 */
export function cpuSeconds(before, after, pidsOf) {
  const pids = new Set([...pidsOf(before), ...pidsOf(after)]);
  let ticks = 0;
  for (const pid of pids) {
    const end = after.get(pid);
    if (!end) continue;
    const start = before.get(pid);
    // A reused pid (another comm) counts from zero.
    ticks += end.ticks - (start && start.comm === end.comm ? start.ticks : 0);
  }
  return ticks / clockTicks();
}

/** Processes the benchmark started itself (own process groups), killed on exit. */
const started = new Set();

/**
 * Spawns `command` in a process group of its own and remembers it, so
 * that `killStarted` (and the exit handler) ends it and whatever it started.
 * Returns the ChildProcess with `exited` (a promise of its code or signal)
 * and `output()` (what it printed on stdout and stderr, when piped).
 */
export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
  const chunks = [];
  child.stdout?.on('data', (c) => chunks.push(c.toString()));
  child.stderr?.on('data', (c) => chunks.push(c.toString()));
  child.output = () => chunks.join('');
  child.exited = new Promise((done) => {
    child.once('exit', (code, signal) => {
      started.delete(child);
      done(code ?? signal);
    });
    child.once('error', (error) => {
      started.delete(child);
      done(error);
    });
  });
  started.add(child);
  return child;
}

/** Ends `child`'s process group: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopTracked(child, graceMs = 2000) {
  if (!started.has(child)) return;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
  // Whatever the leader left behind in its group.
  signalGroup(child, 'SIGKILL');
}

/** Ends every tracked process group, the last started first. */
export async function killStarted() {
  for (const child of [...started].reverse()) await stopTracked(child);
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Process trees the benchmark started another way (the oriel daemon), killed at exit if still there. */
const trees = new Set();

/** Remembers `pid` (a process this benchmark started) so that an exit that skipped the cleanup kills its tree. */
export function trackTree(pid) {
  trees.add(pid);
}

/** `pid` ended (or is being ended) as it should: forget it. */
export function untrackTree(pid) {
  trees.delete(pid);
}

/** SIGKILL to `pid` and every process below it, the deepest first. */
export function killTree(pid) {
  const procs = readProcs();
  for (const victim of [...descendants(procs, pid)].reverse().concat(pid)) {
    try {
      process.kill(victim, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  trees.delete(pid);
}

// The last resort, synchronous: an exit that skipped the cleanup.
process.on('exit', () => {
  // An oriel still starting (web/e2e/oriel.mjs spawned it) is not tracked yet.
  for (const p of readProcs().values()) if (p.ppid === process.pid && p.comm === 'oriel') trees.add(p.pid);
  for (const pid of [...trees]) killTree(pid);
  for (const child of started) signalGroup(child, 'SIGKILL');
});
