// The edge's CA, for clients (scripts/mesh-ca/mesh-ca.sh new-edge-ca), made by the real openssl:
// critical name constraints (localhost, the loopback addresses, EDGE_HOSTNAMES) and no CA under
// it, so that a certificate it signs for any other name fails verification.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';

const CA_SCRIPT = new URL('../mesh-ca.sh', import.meta.url).pathname;
const dir = mkdtempSync(`${tmpdir()}/edge-ca-`);
const env = { ...process.env, MESH_CA_DIR: dir, EDGE_HOSTNAMES: 'mesh.example, 10.1.2.3' };
const caScript = (...args: string[]) =>
  execFileSync('bash', [CA_SCRIPT, ...args], { env, encoding: 'utf8' });
const verify = (cert: string) =>
  spawnSync('openssl', ['verify', '-CAfile', `${dir}/edge-ca/ca.pem`, cert], { encoding: 'utf8' });

test.before(() => {
  caScript('new-edge-ca', `${dir}/edge-ca`);
});

test("the edge CA: critical name constraints for the edge's names only, and no CA under it", (t) => {
  const text = execFileSync(
    'openssl',
    ['x509', '-in', `${dir}/edge-ca/ca.pem`, '-noout', '-text'],
    {
      encoding: 'utf8',
    },
  );
  t.regex(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  const constraints = /Name Constraints: critical\s+Permitted:\s+((?:\s*(?:DNS|IP):\S+)+)/.exec(
    text,
  )?.[1];
  t.deepEqual(constraints?.trim().split(/\s+/), [
    'DNS:localhost',
    'IP:127.0.0.0/255.0.0.0',
    'IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF',
    'DNS:mesh.example',
    'IP:10.1.2.3/255.255.255.255',
  ]);
});

test('a certificate it signs for a name of the edge verifies; for any other name it does not', (t) => {
  for (const name of ['localhost', 'mesh.example', 'api.mesh.example']) {
    caScript('issue', name, `${dir}/${name}`, '1', `${dir}/edge-ca`);
    t.is(verify(`${dir}/${name}/cert.pem`).status, 0, name);
  }
  for (const name of ['evil.example', 'example.com', 'mesh.example.evil']) {
    caScript('issue', name, `${dir}/${name}`, '1', `${dir}/edge-ca`);
    const result = verify(`${dir}/${name}/cert.pem`);
    t.not(result.status, 0, name);
    t.regex(result.stdout + result.stderr, /permitted subtree violation/, name);
  }
});
