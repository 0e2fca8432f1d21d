// What every Chromium test file shares: a `test` that remembers a failure,
// the pages' consoles kept for the report, and the report itself (the
// daemons' output and the consoles) printed after a failed test, so that a
// CI failure can be understood from its output alone; and the typing probe.
import { test as nodeTest } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A report for one test file: use its `test`, `watch` each page, `print` in `after`. */
export function failureReport() {
  const pageLog = [];
  let failed = false;
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
          throw error;
        }
      }),
    /** Keeps `page`'s console messages and errors; returns the page. */
    watch(page) {
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
