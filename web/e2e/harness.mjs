// What every Chromium test file shares: a `test` that remembers a failure,
// the pages' consoles kept for the report, and the report itself (the
// daemons' output and the consoles) printed after a failed test, so that a
// CI failure can be understood from its output alone; and the typing probe.
import { test as nodeTest } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How many of the daemon's warnings and errors a failed test's message ends with. */
const DIGEST_LINES = 12;

/**
 * A report for one test file: use its `test`, `watch` each page, `print`
 * in `after`. With `daemon` (a function answering the started daemon), a
 * failed test's message itself ends with each page's status line and the
 * daemon's last warnings: CI output may keep only the failure's message.
 */
export function failureReport(daemon = () => undefined) {
  const pageLog = [];
  const pages = [];
  let failed = false;
  const digest = async () => {
    const lines = [];
    for (const [index, page] of pages.entries()) {
      const status = await page
        .locator('#status')
        .first()
        .evaluate((element) => `${element.getAttribute('data-state')}: ${element.textContent}`, undefined, { timeout: 1000 })
        .catch(() => 'no status line');
      lines.push(`page ${index + 1} (${page.isClosed() ? 'closed' : page.url()}): ${status.trim()}`);
    }
    // Without the terminal's colours, which the daemon writes to a pipe too.
    const log = String(daemon()?.log() ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n');
    lines.push(...log.filter((line) => /^\S+\s+(WARN|ERROR)\b/.test(line)).slice(-DIGEST_LINES));
    return lines.join('\n');
  };
  return {
    /** What the watched pages said, in order. */
    pageLog,
    /** node:test's `test`, remembering a failure. */
    test: (name, body) =>
      nodeTest(name, async (t) => {
        try {
          await body(t);
        } catch (error) {
          failed = true;
          if (error instanceof Error) error.message += `\n--- at the failure\n${await digest().catch((e) => `no digest: ${e}`)}`;
          throw error;
        }
      }),
    /** Keeps `page`'s console messages and errors; returns the page. */
    watch(page) {
      pages.push(page);
      page.on('console', (message) => pageLog.push(`console.${message.type()}: ${message.text()}`));
      page.on('pageerror', (error) => pageLog.push(`page error: ${error.message}`));
      return page;
    },
    /** After a failure, prints `daemon`'s output and the consoles. */
    print(daemon) {
      if (failed) console.log(`--- oriel's output\n${daemon?.log()}\n--- the page's console\n${pageLog.join('\n')}`);
    },
  };
}

/** An xsession with a blue root and an xterm whose shell copies every typed line to a file (see `probeOutput`). */
export const TYPING_PROBE = {
  name: 'Typing probe',
  command: `xsetroot -solid "#3366cc"; exec xterm -geometry 60x10+20+20 -e sh -c "exec cat > TYPED"`,
};

/**
 * Points the typing probe of a started `daemon` at `<dir>/typed.txt` (its
 * command is written before the temp dir exists) and returns that path.
 */
export function probeOutput(daemon) {
  const typed = join(daemon.dir, 'typed.txt');
  const desktop = join(daemon.dir, 'xsessions', `${TYPING_PROBE.name}.desktop`);
  writeFileSync(desktop, readFileSync(desktop, 'utf8').replace('TYPED', typed));
  return typed;
}
