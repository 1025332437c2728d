// Runs the price list (price-list.ts): every variant of the proxy pair, one after another in
// front of the same replica's Node process, in rounds whose order rotates, so that a drift of
// the machine spreads over all variants rather than landing on one. Each variant in each round:
//   the pair started (two containers: the edge on a private network, the sidecar in the
//   replica's network namespace), a warm-up, then three loads from a load generator in the
//   replica's namespace: GET /user/health at 200 rps (latency), at 1000 rps (CPU per request
//   at a fixed rate) and with 64 connections as fast as they go (throughput, and its CPU per
//   request); each proxy's CPU from its container's cgroup, its private memory from /proc.
// In the first round, each variant with a feature taken out is checked to lack it, and the
// shipped pair to have every one (the probes of price-list.ts): a price is only worth reading
// for a configuration that really differs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify } from 'yaml';
import { containerLogs, docker, removeNetwork, serviceContainers } from '../lib/docker.js';
import { edgeAdmin, parseRawResponse } from '../lib/edges.js';
import { EDGE_LIVE_DIR, ROOT } from '../lib/paths.js';
import { JWKS_FILE, SECRETS_DIR } from '../lib/secrets.js';
import { LOADGEN, one, startLoadgen, untilListening, vegeta, wrk, type Progress } from './bench.js';
import { readCgroup, readProcs, type LoadResult } from './measure.js';
import {
  EXTRAS,
  FEATURES,
  OPTIONS,
  PRICE_EDGE_HTTPS_PORT,
  PRICE_EDGE_PORT,
  PRICE_SIDECAR_ADMIN,
  PRICE_SIDECAR_PORT,
  edgeAdminPort,
  secondEdge,
  shippedPair,
  variants,
  type Pair,
  type Probe,
  type Variant,
} from './price-list.js';
import { Failure } from '../lib/errors.js';

export const PRICE_NETWORK = 'usermesh_bench_price';
const EDGE = 'usermesh_bench_price_edge';
const EDGE2 = 'usermesh_bench_price_edge2'; // a second edge, in the first one's namespace
const SIDECAR = 'usermesh_bench_price_sidecar';

export interface PriceSettings {
  seconds: number; // each measured load
  rounds: number; // each variant measured this many times, in rotating order
  warmupSeconds: number;
  settleSeconds: number; // idle before each measured load
  latencyRate: number; // rps of the latency load
  cpuRate: number; // rps of the fixed-rate CPU load
  connections: number; // of the throughput load
  only?: string[]; // some variants only (shipped always)
}

export const PRICE_FULL: PriceSettings = {
  seconds: 10,
  rounds: 3,
  warmupSeconds: 2,
  settleSeconds: 1,
  latencyRate: 200,
  cpuRate: 1000,
  connections: 64,
};
export const PRICE_SMOKE: PriceSettings = {
  seconds: 1,
  rounds: 1,
  warmupSeconds: 0,
  settleSeconds: 0,
  latencyRate: 100,
  cpuRate: 200,
  connections: 8,
};

/** One load's result, with each proxy's CPU per request over it (microseconds). */
export interface PricedLoad {
  result: LoadResult;
  edgeUs: number;
  sidecarUs: number;
}

export interface PriceRun {
  variant: string;
  round: number;
  latency: PricedLoad;
  atRate: PricedLoad;
  max: PricedLoad;
  memoryMB: { edge: number; sidecar: number }; // private (RssAnon), after the loads
}

export interface PriceResults {
  date: string;
  machine: { cores: number; cpu: string; kernel: string };
  envoy: string;
  settings: PriceSettings;
  /** `adds`: an extra (price-list.ts EXTRAS), priced as the pair with it less the shipped pair. */
  variants: { name: string; feature?: string; what?: string; lose?: string; adds?: boolean }[];
  runs: PriceRun[];
  /** Per feature, checked on the running proxies: whether the shipped pair has it, and its variant. */
  proofs: { feature: string; inShipped: boolean; inVariant: boolean | null; adds?: boolean }[];
}

/** The round's order: the list rotated by the round, so no variant always runs first or last. */
export const rotated = <T>(list: T[], round: number): T[] =>
  list.map((_, i) => list[(i + round) % list.length]!);

// One HTTP/1.1 exchange through bash's /dev/tcp, in `container`: the raw answer ('' if none).
const raw = (container: string, host: string, port: number, request: string) =>
  docker(
    [
      'exec',
      '-i',
      container,
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${host}/${port} || exit 0; cat >&3; timeout 5 cat <&3 || true`,
    ],
    { input: request, timeoutMs: 15_000 },
  ).catch(() => '');

const httpRequest = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  [
    `${method} ${path} HTTP/1.1`,
    'Host: localhost',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    'Content-Length: 0',
    'Connection: close',
    '',
    '',
  ].join('\r\n');

async function address(container: string): Promise<string> {
  const ip = (
    await docker([
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${PRICE_NETWORK}").IPAddress}}`,
      container,
    ])
  ).trim();
  if (!ip) throw new Failure(`${container} has no address on ${PRICE_NETWORK}`);
  return ip;
}

/** Removes the pair (whatever of it runs). */
const stopPair = () => docker(['rm', '-f', EDGE, EDGE2, SIDECAR]).catch(() => '');

/** Removes the pair, the load generator and the private network, whoever joined it first let go. */
async function cleanUp(): Promise<void> {
  await stopPair();
  await docker(['rm', '-f', LOADGEN]).catch(() => '');
  await removeNetwork(PRICE_NETWORK);
}

/** Starts a variant's two proxies; the edge's address. Files in `dir`, rewritten per variant. */
async function startPair(pair: Pair, replica: string, dir: string): Promise<string> {
  await stopPair();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(`${dir}/live`, { recursive: true });
  const write = (name: string, tree: unknown) =>
    writeFileSync(`${dir}/${name}`, stringify(tree), { mode: 0o644 });
  write('edge.yaml', pair.edge);
  // A second edge shares the first one's ports (SO_REUSEPORT: the kernel spreads connections
  // over both), as compose's two edges share edge-port's; its admin on the next port.
  if (pair.edges === 2) write('edge2.yaml', secondEdge(pair));
  write('sidecar.yaml', pair.sidecar);
  if (pair.routes) write('live/routes.yaml', pair.routes);
  if (pair.clusters) write('live/clusters.yaml', pair.clusters);
  const run = (name: string, network: string, mounts: string[], config: string, args: string[]) =>
    docker([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      network,
      '-e',
      'SERVICE_VERSION=price-list',
      ...mounts.flatMap((m) => ['-v', m]),
      '--entrypoint',
      'envoy',
      'usermesh/edge',
      '-c',
      config,
      '--disable-hot-restart',
      '--log-level',
      'warn',
      ...args,
    ]);
  await run(
    SIDECAR,
    `container:${replica}`,
    [`${dir}/sidecar.yaml:/etc/price/sidecar.yaml:ro`, `${SECRETS_DIR}/usersvc:/run/mesh:ro`],
    '/etc/price/sidecar.yaml',
    pair.sidecarArgs,
  );
  const edgeMounts = [
    `${dir}:/etc/price:ro`,
    `${dir}/live:/etc/envoy/live:ro`,
    `${SECRETS_DIR}/edge:/run/mesh:ro`,
    `${SECRETS_DIR}/edge-public:/run/edge-public:ro`,
    `${JWKS_FILE}:/etc/envoy/jwks.json:ro`,
  ];
  await run(EDGE, PRICE_NETWORK, edgeMounts, '/etc/price/edge.yaml', pair.edgeArgs);
  if (pair.edges === 2)
    await run(EDGE2, `container:${EDGE}`, edgeMounts, '/etc/price/edge2.yaml', pair.edgeArgs);
  return address(EDGE);
}

const edgeNames = (pair: Pair) => (pair.edges === 2 ? [EDGE, EDGE2] : [EDGE]);

/** Full container ids, for their cgroups. */
const idsOf = async (names: string[]) =>
  (await docker(['inspect', '-f', '{{.Id}}', ...names])).split('\n').filter(Boolean);

/** A load, with each proxy's CPU per request over it (the edges' summed), from their cgroups. */
async function priced(
  pair: Pair,
  load: () => Promise<LoadResult>,
  settle: number,
): Promise<PricedLoad> {
  await new Promise((resolve) => setTimeout(resolve, settle * 1000));
  const groups = [await idsOf(edgeNames(pair)), await idsOf([SIDECAR])];
  const cpu = () => groups.map((ids) => ids.reduce((sum, id) => sum + readCgroup(id).cpuMicros, 0));
  const before = cpu();
  const result = await load();
  const after = cpu();
  const us = (i: number) =>
    Math.round(((after[i]! - before[i]!) / Math.max(1, result.requests)) * 10) / 10;
  return { result, edgeUs: us(0), sidecarUs: us(1) };
}

const privateMB = async (containers: string[]) => {
  let sum = 0;
  for (const c of containers)
    sum += (await readProcs(c)).find((p) => p.command === 'envoy')?.privateMB ?? 0;
  return Math.round(sum * 10) / 10;
};

/** Answers a probe's questions about the running pair. */
function probeOf(pair: Pair, edgeIp: string, replicaIp: string, cores: number): Probe {
  const adminPort = (proxy: 'edge' | 'sidecar') =>
    proxy === 'edge' ? edgeAdminPort(pair) : PRICE_SIDECAR_ADMIN;
  return {
    cores,
    async admin(proxy, path) {
      const answer = await raw(
        proxy === 'edge' ? EDGE : SIDECAR,
        '127.0.0.1',
        adminPort(proxy),
        httpRequest(path),
      );
      return parseRawResponse(answer).body;
    },
    async edgesServing() {
      let serving = 0;
      for (const [i, name] of edgeNames(pair).entries()) {
        const stats = parseRawResponse(
          await raw(
            name,
            '127.0.0.1',
            edgeAdminPort(pair) + i,
            httpRequest('/stats?filter=downstream_cx_total'),
          ),
        ).body;
        if (/^listener\.0\.0\.0\.0_\d+\.downstream_cx_total: [1-9]/m.test(stats)) serving++;
      }
      return serving;
    },
    edgeLog: async () => {
      const logs = await docker(['logs', EDGE]).catch(() => '');
      return logs;
    },
    async request(to, path, headers = {}) {
      const answer = await raw(
        LOADGEN,
        to === 'edge' ? edgeIp : replicaIp,
        to === 'edge' ? PRICE_EDGE_PORT : PRICE_SIDECAR_PORT,
        httpRequest(path, headers),
      );
      const head = answer.split('\r\n\r\n')[0] ?? '';
      return {
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        headers: head.toLowerCase(),
      };
    },
  };
}

// Until the pair answers 200 to /user/health through both proxies (the edge has health-checked
// its one sidecar), or 30 s.
async function untilServing(probe: Probe, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await probe.request('edge', '/user/health')).status !== 200) {
    if (Date.now() > deadline) throw new Failure(`the ${name} pair does not serve after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function measureVariant(
  v: Variant,
  round: number,
  ctx: {
    replica: string;
    replicaIp: string;
    dir: string;
    settings: PriceSettings;
    cores: number;
  },
): Promise<{ run: PriceRun; probe: Probe }> {
  const { settings: s } = ctx;
  const edgeIp = await startPair(v.pair, ctx.replica, ctx.dir);
  const url = v.pair.https
    ? `https://${edgeIp}:${PRICE_EDGE_HTTPS_PORT}/user/health`
    : `http://${edgeIp}:${PRICE_EDGE_PORT}/user/health`;
  const probe = probeOf(v.pair, edgeIp, ctx.replicaIp, ctx.cores);
  try {
    await untilListening(url);
    await untilServing(probe, v.name);
  } catch (err) {
    // Say why: an Envoy that refused its config says so in its last lines.
    const last = async (c: string) => (await containerLogs(c, 5).catch(() => '')).trim();
    throw new Failure(
      `${(err as Error).message}\nthe edge: ${await last(EDGE)}\nthe sidecar: ${await last(SIDECAR)}`,
    );
  }
  if (s.warmupSeconds > 0) await wrk(url, s.connections, s.warmupSeconds);
  const p = v.pair;
  const latency = await priced(p, () => vegeta(url, s.latencyRate, s.seconds), s.settleSeconds);
  const atRate = await priced(p, () => vegeta(url, s.cpuRate, s.seconds), s.settleSeconds);
  const max = await priced(p, () => wrk(url, s.connections, s.seconds), s.settleSeconds);
  const memoryMB = { edge: await privateMB(edgeNames(p)), sidecar: await privateMB([SIDECAR]) };
  return { run: { variant: v.name, round, latency, atRate, max, memoryMB }, probe };
}

async function machine(replica: string): Promise<PriceResults['machine'] & { envoy: string }> {
  const inside = async (command: string) =>
    (await docker(['exec', LOADGEN, 'sh', '-c', command])).trim();
  return {
    cores: Number(await inside('nproc')),
    cpu: await inside("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
    kernel: await inside('uname -r'),
    envoy:
      /\/(\d+\.\d+\.\d+)\//.exec(await docker(['exec', replica, 'envoy', '--version']))?.[1] ??
      'unknown',
  };
}

/** The running edge's worker count (EDGE_WORKERS, as its entrypoint gave it to Envoy). */
async function workersOf(edge: string): Promise<number> {
  const stats = await edgeAdmin(edge).call('/stats?filter=server.concurrency');
  const workers = Number(/^server\.concurrency: (\d+)$/m.exec(stats)?.[1]);
  if (!workers)
    throw new Failure(`the edge's admin did not say its worker count: ${stats.slice(0, 80)}`);
  return workers;
}

/** Runs the list. `scale` is meshctl scale's; the replicas are put back as they were. */
export async function runPriceList(
  settings: PriceSettings,
  progress: Progress,
  scale: (n: number) => Promise<void>,
): Promise<PriceResults> {
  const [edge] = await serviceContainers('edge');
  if (!edge) throw new Failure('no running edge container: bring the mesh up first (make up)');
  const before = (await serviceContainers('usersvc')).length;
  await scale(1);
  const replica = await one('usersvc');
  const dir = mkdtempSync(`${tmpdir()}/usermesh-price-`);
  try {
    await cleanUp();
    await docker(['network', 'create', '--internal', PRICE_NETWORK]);
    await docker(['network', 'connect', PRICE_NETWORK, replica]);
    const replicaIp = await address(replica);
    const shipped = shippedPair(
      await docker(['exec', edge, 'cat', '/tmp/edge.yaml']),
      readFileSync(`${EDGE_LIVE_DIR}/routes.yaml`, 'utf8'),
      readFileSync(`${EDGE_LIVE_DIR}/clusters.yaml`, 'utf8'),
      // As its entrypoint rendered it (the image's /etc/envoy/sidecar.yaml is the template).
      await docker(['exec', replica, 'cat', '/tmp/sidecar.yaml']),
      replicaIp,
      {
        edge: readFileSync(`${ROOT}envoy/edge.yaml`, 'utf8'),
        sidecar: readFileSync(`${ROOT}envoy/sidecar.yaml`, 'utf8'),
      },
      await workersOf(edge),
    );
    const list = variants(shipped, replicaIp).filter(
      (v) => !settings.only || v.name === 'shipped' || settings.only.includes(v.name),
    );
    await startLoadgen(`container:${replica}`);
    const { envoy, ...host } = await machine(replica);
    const results: PriceResults = {
      date: new Date().toISOString(),
      machine: host,
      envoy,
      settings,
      variants: list.map((v) => ({
        name: v.name,
        ...(v.feature
          ? { feature: v.feature.name, what: v.feature.what, lose: v.feature.lose }
          : {}),
        ...(v.feature && EXTRAS.includes(v.feature) ? { adds: true } : {}),
      })),
      runs: [],
      proofs: [],
    };
    const ctx = { replica, replicaIp, dir, settings, cores: host.cores };
    for (let round = 0; round < settings.rounds; round++) {
      for (const v of rotated(list, round)) {
        const { run, probe } = await measureVariant(v, round, ctx);
        results.runs.push(run);
        progress(
          `round ${round + 1}/${settings.rounds} ${v.name.padEnd(24)} p99 ${run.latency.result.latencyMs.p99} ms at ${settings.latencyRate} rps; at ${settings.cpuRate} rps edge ${run.atRate.edgeUs} us + sidecar ${run.atRate.sidecarUs} us per request; max ${run.max.result.rps} rps`,
        );
        if (round === 0) await prove(v, probe, list, results.proofs);
      }
    }
    return results;
  } finally {
    await cleanUp();
    rmSync(dir, { recursive: true, force: true });
    await scale(Math.max(1, before));
  }
}

// The shipped pair has every feature; a variant lacks the one taken out (an extra: the other way).
async function prove(
  v: Variant,
  probe: Probe,
  list: Variant[],
  into: PriceResults['proofs'],
): Promise<void> {
  if (v.name === 'shipped') {
    for (const f of [...FEATURES, ...OPTIONS, ...EXTRAS].filter((f) =>
      list.some((l) => l.feature === f),
    ))
      into.push({
        feature: f.name,
        inShipped: await f.present(probe),
        inVariant: null,
        ...(EXTRAS.includes(f) ? { adds: true } : {}),
      });
  } else if (v.feature) {
    const entry = into.find((p) => p.feature === v.feature!.name);
    if (entry) entry.inVariant = await v.feature.present(probe);
  }
}
