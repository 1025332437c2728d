// A client outside the host's loopback, as one on another machine: a network namespace of the
// test's own, joined to the host by a veth pair, reaching the published HTTPS port at the
// host's address on that link (OUTSIDE_HOST: the mesh's certificate must name it, as
// EDGE_HOSTNAMES does for a real host), trusting the install's CA. Its connections arrive
// through Docker's DNAT rather than its userland proxy (127.0.0.1's path), with an address of
// their own at the edge. Removed by stop().
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const NS = 'usermesh-client';
const HOST_IF = 'umc-host';
const HOST_IP = '10.231.99.1';
/** The host's address as the outside client reaches it. */
export const OUTSIDE_HOST = HOST_IP;
const CA = new URL('../../secrets/ca.pem', import.meta.url).pathname;
const NS_IP = '10.231.99.2';

// Steady GETs from `workers` loops for `seconds`, then one JSON line: totals and failures.
const LOAD = `
const [url, seconds, workers] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const stopAt = Date.now() + seconds * 1000;
let total = 0;
const failures = [];
await Promise.all(Array.from({ length: workers }, async () => {
  while (Date.now() < stopAt) {
    total++;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(10000) });
      await r.arrayBuffer();
      if (r.status !== 200) failures.push('status ' + r.status);
    } catch (e) {
      failures.push(String(e.cause?.code ?? e.message));
    }
  }
}));
console.log(JSON.stringify({ total, failures }));
`;

// One GET with a 5 s deadline: its status (0 if none) and time, as a JSON line.
const GET = `
const started = Date.now();
const status = await fetch(process.argv[2], { signal: AbortSignal.timeout(5000) }).then(
  async (r) => (await r.arrayBuffer(), r.status),
  () => 0,
);
console.log(JSON.stringify({ status, ms: Date.now() - started }));
`;

const sh = (command: string, timeoutMs = 30_000) =>
  exec('bash', ['-c', command], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });

export interface OutsideClient {
  /** The edge's published port as this client reaches it. */
  base: string;
  /** `workers` loops of GET base+path for `seconds`; how many, and which failed. */
  load(
    path: string,
    seconds: number,
    workers?: number,
  ): Promise<{ total: number; failures: string[] }>;
  /** One GET of base+path: its status (0: no answer) and how long it took. */
  get(path: string): Promise<{ status: number; ms: number }>;
  /** A command run in this client's network namespace, as an argv. */
  inside(argv: string[]): string[];
  stop(): Promise<void>;
}

export async function outsideClient(): Promise<OutsideClient> {
  await sh(`ip netns del ${NS} 2>/dev/null; ip link del ${HOST_IF} 2>/dev/null; true`);
  await sh(`ip netns add ${NS} && ip link add ${HOST_IF} type veth peer name umc-ns && ip link set umc-ns netns ${NS}
    ip addr add ${HOST_IP}/30 dev ${HOST_IF} && ip link set ${HOST_IF} up
    nsenter --net=/var/run/netns/${NS} sh -c 'ip link set lo up && ip addr add ${NS_IP}/30 dev umc-ns && ip link set umc-ns up && ip route add default via ${HOST_IP}'`);
  const script = `${mkdtempSync(`${tmpdir()}/outside-`)}/load.mjs`;
  writeFileSync(script, LOAD);
  writeFileSync(script.replace('load.mjs', 'get.mjs'), GET);
  const base = `https://${HOST_IP}:8443`;
  return {
    base,
    async load(path, seconds, workers = 4) {
      const { stdout } = await sh(
        `NODE_EXTRA_CA_CERTS=${CA} nsenter --net=/var/run/netns/${NS} node ${script} ${base}${path} ${seconds} ${workers}`,
        (seconds + 60) * 1000,
      );
      return JSON.parse(stdout) as { total: number; failures: string[] };
    },
    async get(path) {
      const { stdout } = await sh(
        `NODE_EXTRA_CA_CERTS=${CA} nsenter --net=/var/run/netns/${NS} node ${script.replace('load.mjs', 'get.mjs')} ${base}${path}`,
      );
      return JSON.parse(stdout) as { status: number; ms: number };
    },
    inside: (argv) => ['nsenter', `--net=/var/run/netns/${NS}`, ...argv],
    async stop() {
      await sh(`ip netns del ${NS} 2>/dev/null; ip link del ${HOST_IF} 2>/dev/null; true`);
    },
  };
}
