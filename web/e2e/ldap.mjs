// A private OpenLDAP slapd for the e2e tests, as the Rust discovery tests
// start one: Debian's slapd on two loopback ports (ldap:// and ldaps://),
// TLS from scripts/test-ca, the AD attributes discovery reads loaded as a
// schema, and the directory of crates/windows-desktop/tests/ldap.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './oriel.mjs';

export const LDAP_SUFFIX = 'dc=example,dc=com';
export const LDAP_ADMIN = 'cn=admin,dc=example,dc=com';
export const LDAP_ADMIN_PASSWORD = 'directory secret';
const FIXTURES = join(ROOT, 'crates/windows-desktop/tests/ldap');

const free = async () => {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
};

export async function startSlapd() {
  const dir = mkdtempSync(join(tmpdir(), 'oriel-slapd-'));
  execFileSync(join(ROOT, 'scripts/test-ca'), [join(dir, 'tls')]);
  mkdirSync(join(dir, 'db'));
  const config = join(dir, 'slapd.conf');
  writeFileSync(
    config,
    `include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\ninclude ${join(FIXTURES, 'ad.schema')}\n` +
      `pidfile ${dir}/slapd.pid\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n` +
      `TLSCACertificateFile ${dir}/tls/ca.crt\nTLSCertificateFile ${dir}/tls/server.crt\nTLSCertificateKeyFile ${dir}/tls/server.key\n` +
      `database mdb\nmaxsize 10485760\nsuffix "${LDAP_SUFFIX}"\nrootdn "${LDAP_ADMIN}"\nrootpw "${LDAP_ADMIN_PASSWORD}"\ndirectory ${dir}/db\n`,
  );
  execFileSync('/usr/sbin/slapadd', ['-f', config, '-l', join(FIXTURES, 'directory.ldif')]);
  const [ldap, ldaps] = [await free(), await free()];
  const child = spawn('/usr/sbin/slapd', ['-f', config, '-h', `ldap://127.0.0.1:${ldap}/ ldaps://127.0.0.1:${ldaps}/`, '-d', '0'], { stdio: 'ignore' });
  const { connect } = await import('node:net');
  const up = (port) =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
  const deadline = Date.now() + 30_000;
  while (!((await up(ldap)) && (await up(ldaps)))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('slapd did not listen');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    dir,
    ldaps,
    caFile: join(dir, 'tls/ca.crt'),
    /** Adds the entries of `ldif` to the directory, as an administrator would. */
    add(ldif) {
      execFileSync('ldapadd', ['-x', '-H', `ldap://127.0.0.1:${ldap}`, '-D', LDAP_ADMIN, '-w', LDAP_ADMIN_PASSWORD], { input: ldif });
    },
    /** Removes `dn` from the directory, as an administrator would. */
    delete(dn) {
      execFileSync('ldapdelete', ['-x', '-H', `ldap://127.0.0.1:${ldap}`, '-D', LDAP_ADMIN, '-w', LDAP_ADMIN_PASSWORD, dn]);
    },
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
