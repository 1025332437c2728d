// What make bench runs, in order. Five paths to the same replica; the first four measured from
// a load generator inside that replica's network namespace (docker run --network
// container:<replica>), so they start at the same place:
//   direct   127.0.0.1:5000   the Node service itself (reachable only inside its container)
//   floor    floor edge:8100  two minimal Envoys, router only, then Node (floor.ts): Envoy's own cost
//   sidecar  127.0.0.1:8080   through the replica's Envoy: mutual TLS as the edge (its certificate)
//   mesh     edge:8000        through the edge Envoy and the sidecar: what clients get
//   host     127.0.0.1:8000   the mesh from a load generator on the host (--network host), through
//                            the published port and Docker's userland proxy: what users measure
//   https    127.0.0.1:8443   the same over HTTPS (kept-alive TLS 1.3 connections): what client
//                            TLS costs, beside the host row
// For each path and endpoint: fixed rates (vegeta, open loop), then the highest throughput
// with a fixed number of connections (wrk; vegeta with as many workers on the sidecar path,
// since wrk cannot present a client certificate), with the CPU and RSS of the edge, the
// sidecar and Node meanwhile (and of docker-proxy, on the host path). Then the full mesh once
// more with mutual TLS taken out (plaintext.ts), the same loads side by side: what mTLS costs.
// Then the full mesh's throughput with 1, 2, 3, 5, 10 replicas, with the CPU and memory of every
// container of the mesh, from their cgroups; and, when the floor path is measured, the floor's
// two hops over the same replicas next to it: does Envoy itself lose as much as replicas grow?
// And the mesh once more with as many connections per replica as the 1-replica run had in all:
// with the load growing as the replicas do, is what the fixed load loses only batching?
import { compose } from '../lib/compose.js';
import { edgeHttpsUrl, edgeUrl } from '../lib/edges.js';
import { composeContainers, docker, engineInfo, serviceContainers } from '../lib/docker.js';
import { FLOOR_EDGE, floorProxies, floorSidecar, startFloor, stopFloor } from './floor.js';
import {
  addUsage,
  cgroupTotals,
  parseVegeta,
  parseWrk,
  countsPerRequest,
  readCgroup,
  readHostProcs,
  readProcs,
  readSystemCounters,
  splitTimes,
  usage,
  withTimes,
  type CgroupSample,
  type LoadResult,
  type ProcSample,
  type Usage,
} from './measure.js';
import { writePlaintextOverride } from './plaintext.js';
import { untilHealthy } from '../lib/edge-hosts.js';
import { ROOT } from '../lib/paths.js';
import { PROJECT_NAME } from '../lib/settings.js';
import { Failure } from '../lib/errors.js';

export interface Settings {
  seconds: number; // each measured run
  warmupSeconds: number; // wrk on the path before its first measured run
  settleSeconds: number; // idle before each measured run
  rates: number[]; // requests per second, for the fixed-rate runs
  connections: number; // for the throughput runs
  replicas: number[]; // the scaling runs
  endpoints: EndpointName[];
  paths: PathName[];
  plaintext: boolean; // also measure the full mesh without mutual TLS, to show what mTLS costs
}

// Where each path's load goes (the floor's address is known once its proxies run).
export const PATHS = {
  direct: 'http://127.0.0.1:5000',
  floor: 'floor',
  sidecar: 'https://127.0.0.1:8080',
  mesh: 'http://edge:8000',
  // Where the host reaches the edge: EDGE_PORT, a port or ADDRESS:PORT (lib/edges.ts).
  host: edgeUrl(),
  https: edgeHttpsUrl(),
} as const;
export type PathName = keyof typeof PATHS;
/** The paths measured from the host, through the published ports. */
const fromHost = (path: PathName) => path === 'host' || path === 'https';
export const PATH_NAMES = Object.keys(PATHS) as PathName[];
export const ENDPOINTS = { health: '/user/health', read: '/user/benchuser' } as const;
export type EndpointName = keyof typeof ENDPOINTS;

export const FULL: Settings = {
  seconds: 15,
  warmupSeconds: 3,
  settleSeconds: 2,
  rates: [200, 1000],
  connections: 64,
  replicas: [1, 2, 3, 5, 10],
  endpoints: ['health', 'read'],
  paths: PATH_NAMES,
  plaintext: true,
};
export const SMOKE: Settings = {
  seconds: 1,
  warmupSeconds: 0,
  settleSeconds: 0,
  rates: [100],
  connections: 8,
  replicas: [1, 2],
  endpoints: ['health', 'read'],
  paths: PATH_NAMES,
  plaintext: true,
};

export interface Run {
  endpoint: EndpointName;
  path: PathName;
  load: { rate: number } | { connections: number };
  result: LoadResult;
  // CPU (cores) and RSS (MB) over the run; null when the process was not found. dbproxy is
  // the Envoy beside PostgreSQL; hostProxy the docker-proxy in front of the published edge
  // port (host path only; none where the engine runs with userland-proxy false).
  usage: {
    edge: Usage | null;
    sidecar: Usage | null;
    node: Usage | null;
    dbproxy?: Usage | null;
    hostProxy?: Usage | null;
  };
  // The whole machine's context switches and interrupts per request over the run.
  perRequest?: { switches: number; interrupts: number };
}

export interface Results {
  date: string;
  machine: { cores: number; cpu: string; kernel: string; docker: string };
  versions: { envoy: string; node: string; postgres: string; vegeta: string; wrk: string };
  /** The host and https paths' addresses: the edge as configured (EDGE_PORT, EDGE_HTTPS_PORT). */
  settings: Settings & { loadgen: string; hostUrl?: string; httpsUrl?: string };
  runs: Run[];
  /** The full mesh without mutual TLS, the same loads as its runs in `runs` (absent if not measured). */
  plaintext?: Run[];
  /** The same mesh loads with mutual TLS once more, after the plaintext pass: the drift between passes shows. */
  mtlsAgain?: Run[];
  scaling: Scaling[];
}

/** The full mesh at one number of replicas: its throughput, and every container's CPU (cores) and memory (MB) meanwhile. */
export interface Scaling {
  replicas: number;
  result: LoadResult;
  cores?: number;
  memoryMB?: number;
  perRequest?: { switches: number; interrupts: number };
  /** The floor's two hops over the same replicas (a floor sidecar in each), the same load; CPU of the floor proxies and the replicas. */
  floor?: ScalingRun;
  /** The full mesh again with `connections` per replica (the load grows with the replicas): is what is lost batching? */
  perReplica?: ScalingRun & { connections: number };
}

export interface ScalingRun {
  result: LoadResult;
  cores: number;
  perRequest: { switches: number; interrupts: number };
}

export const LOADGEN = 'usermesh_bench_loadgen';
const HOST_LOADGEN = 'usermesh_bench_loadgen_host';
const LONG = 15 * 60_000; // a load run, however long it was asked to be

export async function one(service: string): Promise<string> {
  const [id] = await serviceContainers(service);
  if (!id) throw new Failure(`no running ${service} container: bring the mesh up first (make up)`);
  return id;
}

// Recreates the mesh with one replica, from the compose file plus `override` (or alone), and
// waits until the edge routes to it. The data volume and secrets/ stay.
async function recreate(override?: string): Promise<void> {
  const files = ['compose/docker-compose.yml', ...(override ? [override] : [])].join(':');
  await compose(['up', '-d', '--no-build', '--scale', 'usersvc=1'], {
    env: { COMPOSE_FILE: files, COMPOSE_PROJECT_NAME: PROJECT_NAME },
    timeoutMs: 5 * 60_000,
  });
  await untilHealthy('usersvc', 1);
}

// The load generator holds the edge's identity (secrets/edge, mounted as the edge mounts it),
// to reach a sidecar directly: the sidecar lets in nothing else.
export async function startLoadgen(network: string, name = LOADGEN): Promise<void> {
  await docker(['rm', '-f', name]).catch(() => '');
  await docker([
    'run',
    '-d',
    '--rm',
    '--name',
    name,
    '--network',
    network,
    '-v',
    `${ROOT}secrets/edge:/run/mesh:ro`,
    'usermesh/loadgen',
  ]);
}

// Until something listens at host:port, seen from the load generator (the floor's proxies start).
export async function untilListening(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const deadline = Date.now() + 30_000;
  while (
    !(await docker(['exec', LOADGEN, 'bash', '-c', `exec 3<>/dev/tcp/${hostname}/${port}`]).then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Failure(`nothing listens at ${url} after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// Client certificate for https URLs; the sidecar's is a SPIFFE identity, not a host name, so
// vegeta does not check it (-insecure): this measures the cost, the e2e tests the trust.
const TLS = '-cert=/run/mesh/cert.pem -key=/run/mesh/key.pem -insecure';

/** At a fixed rate (open loop); or, with rate 0, as fast as `workers` connections allow. */
export async function vegeta(
  url: string,
  rate: number,
  seconds: number,
  workers = 0,
  from = LOADGEN,
): Promise<LoadResult> {
  const load = rate > 0 ? `-rate=${rate}/s` : `-rate=0 -workers=${workers} -max-workers=${workers}`;
  const attack = `vegeta attack ${load} -duration=${seconds}s -timeout=10s ${url.startsWith('https') ? TLS : ''} | vegeta report -type=json`;
  const { output, cpuSeconds } = splitTimes(
    await docker(['exec', '-i', from, 'sh', '-c', withTimes(attack)], {
      input: `GET ${url}\n`,
      timeoutMs: LONG,
    }),
  );
  const result = parseVegeta(output);
  return { ...result, loadgenCores: Math.round((cpuSeconds / result.seconds) * 100) / 100 };
}

export async function wrk(
  url: string,
  connections: number,
  seconds: number,
  from = LOADGEN,
): Promise<LoadResult> {
  const command = `wrk -t1 -c${connections} -d${seconds}s -s /etc/wrk/report.lua ${url}`;
  const { output, cpuSeconds } = splitTimes(
    await docker(['exec', from, 'sh', '-c', withTimes(command)], { timeoutMs: LONG }),
  );
  const result = parseWrk(output);
  return { ...result, loadgenCores: Math.round((cpuSeconds / result.seconds) * 100) / 100 };
}

export type Progress = (line: string) => void;

// Every running container of the mesh; the replicas and the floor's proxies (full ids: cgroups are named by them).
const meshContainers = () => composeContainers({ full: true });
const floorContainers = async () => [
  ...(await composeContainers({ service: 'usersvc', full: true })),
  ...(await floorProxies()),
];

/** These containers, by id, with their cgroups' CPU and memory now. */
const cgroups = (containers: string[]): Map<string, CgroupSample> =>
  new Map(containers.map((id) => [id, readCgroup(id)]));

/**
 * Runs the bench. `scale` is meshctl scale's (the replicas drained as they go, the edges
 * routing to every one before it returns): the command wires it in. Its phases, in order:
 * every path at every load, the full mesh without mutual TLS and with it again, the scaling.
 */
export async function runBench(
  settings: Settings,
  progress: Progress,
  scale: (n: number) => Promise<void>,
): Promise<Results> {
  const edges = await serviceContainers('edge');
  if (edges.length === 0)
    throw new Failure('no running edge container: bring the mesh up first (make up)');
  const postgres = await one('postgres');
  const before = (await serviceContainers('usersvc')).length;
  progress(`scaling usersvc to 1 replica (it runs ${before} now; put back at the end)`);
  await scale(1);
  const [replica] = await serviceContainers('usersvc');
  if (!replica) throw new Failure('no usersvc replica after scaling to 1');
  await createBenchUser();
  try {
    await startLoadgen(`container:${replica}`);
    const run: BenchRun = {
      settings,
      progress,
      results: await describeRun(settings, replica, postgres),
      mesh: { edges, replica, postgres },
    };
    await measurePaths(run);
    if (settings.plaintext) await measureTlsCost(run);
    await measureScaling(run, scale);
    return run.results;
  } finally {
    await stopFloor();
    await docker(['rm', '-f', LOADGEN, HOST_LOADGEN]).catch(() => '');
    await scale(Math.max(1, before));
  }
}

/** What the phases of one run share: the mesh's containers are those of the moment (the
 * plaintext pass recreates them). */
interface BenchRun {
  settings: Settings;
  progress: Progress;
  results: Results;
  mesh: { edges: string[]; replica: string; postgres: string };
}

async function createBenchUser(): Promise<void> {
  const put = await fetch(`${edgeUrl()}/user/benchuser`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fullname: 'Bench User', password: 'bench-password-1' }),
  });
  if (put.status !== 201 && put.status !== 409)
    throw new Failure(`could not create the bench user: ${put.status}`);
}

/** The results' header: the machine, every program's version, the settings. */
async function describeRun(
  settings: Settings,
  replica: string,
  postgres: string,
): Promise<Results> {
  const inLoadgen = async (...args: string[]) => (await docker(['exec', LOADGEN, ...args])).trim();
  return {
    date: new Date().toISOString(),
    machine: {
      cores: Number(await inLoadgen('nproc')),
      cpu: await inLoadgen('sh', '-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
      kernel: await inLoadgen('uname', '-r'),
      docker: await engineInfo(),
    },
    versions: {
      envoy:
        /\/(\d+\.\d+\.\d+)\//.exec(await docker(['exec', replica, 'envoy', '--version']))?.[1] ??
        'unknown',
      node: (await docker(['exec', replica, 'node', '--version'])).trim(),
      postgres: (
        await docker(['exec', '-u', 'postgres', postgres, 'psql', '-tAc', 'show server_version'])
      ).trim(),
      vegeta: /Version: (\S+)/.exec(await inLoadgen('vegeta', '-version'))?.[1] ?? 'unknown',
      wrk: await inLoadgen('sh', '-c', 'wrk -v 2>&1 | head -1 | cut -d" " -f2'),
    },
    settings: {
      ...settings,
      hostUrl: PATHS.host,
      httpsUrl: PATHS.https,
      loadgen: `vegeta attack -rate=R/s -duration=${settings.seconds}s (open loop); wrk -t1 -c${settings.connections} -d${settings.seconds}s (closed loop; on the mTLS sidecar path vegeta -rate=0 -max-workers=${settings.connections}), both in the replica's network namespace (on the host path, in the host's)`,
    },
    runs: [],
    scaling: [],
  };
}

/**
 * CPU and RSS of the processes that matter. On the floor path, the edge and the sidecar are
 * the floor's two proxies; on the host path, docker-proxy is sampled too. Compose's two edges
 * each have a container (a process namespace) of their own: each is sampled.
 */
async function sample({ mesh }: BenchRun, path: PathName) {
  const floor = path === 'floor';
  const [e, s, r, p, h] = await Promise.all([
    Promise.all((floor ? [FLOOR_EDGE] : mesh.edges).map(readProcs)),
    readProcs(floor ? floorSidecar(0) : mesh.replica),
    readProcs(mesh.replica),
    readProcs(mesh.postgres),
    fromHost(path) ? readHostProcs() : Promise.resolve([] as ProcSample[]),
  ]);
  return { e, s, r, p, h };
}

/** One load on one path, with every process's CPU and memory over it, into `into`. */
async function measure(
  run: BenchRun,
  into: Run[],
  endpoint: EndpointName,
  path: PathName,
  load: Run['load'],
  go: () => Promise<LoadResult>,
): Promise<void> {
  // Let the previous run's aftermath (garbage collection, closing connections) pass.
  await new Promise((resolve) => setTimeout(resolve, run.settings.settleSeconds * 1000));
  const a = await sample(run, path);
  const counted = readSystemCounters();
  const result = await go();
  const counts = countsPerRequest(counted, readSystemCounters(), result.requests);
  const b = await sample(run, path);
  into.push({
    endpoint,
    path,
    load,
    result,
    usage: {
      // Compose's edges, added up.
      edge: addUsage(a.e.map((before, i) => usage(before, b.e[i] ?? [], 'envoy', result.seconds))),
      sidecar: usage(a.s, b.s, 'envoy', result.seconds),
      node: usage(a.r, b.r, 'node', result.seconds),
      dbproxy: usage(a.p, b.p, 'envoy', result.seconds),
      ...(fromHost(path) ? { hostProxy: usage(a.h, b.h, 'docker-proxy', result.seconds) } : {}),
    },
    perRequest: counts,
  });
  const { results } = run;
  const what = 'rate' in load ? `${load.rate} rps` : `max, ${load.connections} conns`;
  const pass =
    into === results.plaintext ? 'plaintext ' : into === results.mtlsAgain ? 'mTLS again ' : '';
  run.progress(
    `${pass}${endpoint.padEnd(6)} ${path.padEnd(7)} ${what.padEnd(16)} ${result.rps} rps, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ok ${(result.ok * 100).toFixed(1)} %`,
  );
}

/** Every path at every load: the fixed rates, then the highest throughput. */
async function measurePaths(run: BenchRun): Promise<void> {
  const { settings } = run;
  const base: Record<PathName, string> = { ...PATHS };
  if (settings.paths.includes('floor')) {
    base.floor = await startFloor([run.mesh.replica]);
    await untilListening(base.floor);
  }
  if (settings.paths.some(fromHost)) await startLoadgen('host', HOST_LOADGEN);
  for (const endpoint of settings.endpoints) {
    for (const path of settings.paths) {
      const url = `${base[path]}${ENDPOINTS[endpoint]}`;
      const from = fromHost(path) ? HOST_LOADGEN : LOADGEN;
      // wrk speaks TLS but cannot show a client certificate: vegeta does, for the sidecar.
      const most = (seconds: number) =>
        path === 'sidecar'
          ? vegeta(url, 0, seconds, settings.connections)
          : wrk(url, settings.connections, seconds, from);
      if (settings.warmupSeconds > 0) await most(settings.warmupSeconds);
      for (const rate of settings.rates)
        await measure(run, run.results.runs, endpoint, path, { rate }, () =>
          vegeta(url, rate, settings.seconds, 0, from),
        );
      await measure(
        run,
        run.results.runs,
        endpoint,
        path,
        { connections: settings.connections },
        () => most(settings.seconds),
      );
    }
  }
  await stopFloor();
  await docker(['rm', '-f', HOST_LOADGEN]).catch(() => '');
}

/**
 * The full mesh's loads again without mutual TLS, then with it once more (mTLS, plaintext,
 * mTLS: a drift of the machine between passes shows, rather than passing for a cost).
 */
async function measureTlsCost(run: BenchRun): Promise<void> {
  const { settings, results } = run;
  const meshPass = async (into: Run[]) => {
    run.mesh = {
      edges: await serviceContainers('edge'),
      replica: await one('usersvc'),
      postgres: await one('postgres'),
    };
    await startLoadgen(`container:${run.mesh.replica}`);
    for (const endpoint of settings.endpoints) {
      const url = `${PATHS.mesh}${ENDPOINTS[endpoint]}`;
      if (settings.warmupSeconds > 0) await wrk(url, settings.connections, settings.warmupSeconds);
      for (const rate of settings.rates)
        await measure(run, into, endpoint, 'mesh', { rate }, () =>
          vegeta(url, rate, settings.seconds),
        );
      await measure(run, into, endpoint, 'mesh', { connections: settings.connections }, () =>
        wrk(url, settings.connections, settings.seconds),
      );
    }
  };
  run.progress(
    'the full mesh without mutual TLS (plaintext configs mounted by a compose override), for comparison',
  );
  results.plaintext = [];
  results.mtlsAgain = [];
  try {
    await recreate(writePlaintextOverride(ROOT));
    await meshPass(results.plaintext);
  } finally {
    run.progress('mutual TLS back on');
    await recreate();
  }
  await meshPass(results.mtlsAgain);
}

/** The highest throughput at `url` over `connections`, with the CPU and memory of `containers`. */
async function throughput(
  settings: Settings,
  url: string,
  containers: () => Promise<string[]>,
  connections = settings.connections,
) {
  if (settings.warmupSeconds > 0) await wrk(url, connections, settings.warmupSeconds);
  await new Promise((resolve) => setTimeout(resolve, settings.settleSeconds * 1000));
  const start = cgroups(await containers());
  const counted = readSystemCounters();
  const result = await wrk(url, connections, settings.seconds);
  const perRequest = countsPerRequest(counted, readSystemCounters(), result.requests);
  return {
    result,
    perRequest,
    ...cgroupTotals(start, cgroups(await containers()), result.seconds),
  };
}

/**
 * Scaling: a load generator of its own on appmesh, as any client of the edge would be; every
 * container of the mesh's CPU and memory from its cgroup (the load generator's apart). At each
 * count, the load grown per replica, then the floor over the same replicas.
 */
async function measureScaling(run: BenchRun, scale: (n: number) => Promise<void>): Promise<void> {
  const { settings, progress } = run;
  const health = `${PATHS.mesh}${ENDPOINTS.health}`;
  await startLoadgen('appmesh');
  for (const n of settings.replicas) {
    await scale(n);
    const { result, cores, memoryMB, perRequest } = await throughput(
      settings,
      health,
      meshContainers,
    );
    const point: Scaling = { replicas: n, result, cores, memoryMB, perRequest };
    run.results.scaling.push(point);
    progress(
      `scaling: ${n} replica(s): ${result.rps} rps, p99 ${result.latencyMs.p99} ms, mesh ${cores} cores, ${memoryMB} MB, ${perRequest.switches} context switches per request`,
    );
    if (n > 1) {
      const connections = settings.connections * n;
      const more = await throughput(settings, health, meshContainers, connections);
      point.perReplica = {
        connections,
        result: more.result,
        cores: more.cores,
        perRequest: more.perRequest,
      };
      progress(
        `scaling: ${n} replica(s), ${connections} connections: ${more.result.rps} rps, p99 ${more.result.latencyMs.p99} ms, mesh ${more.cores} cores, ${more.perRequest.switches} context switches per request`,
      );
    }
    if (!settings.paths.includes('floor')) continue;
    const url = await startFloor(await serviceContainers('usersvc'), [LOADGEN]);
    await untilListening(url);
    const floor = await throughput(settings, `${url}${ENDPOINTS.health}`, floorContainers);
    await stopFloor();
    point.floor = { result: floor.result, cores: floor.cores, perRequest: floor.perRequest };
    progress(
      `scaling: the floor over ${n} replica(s): ${floor.result.rps} rps, p99 ${floor.result.latencyMs.p99} ms, ${floor.cores} cores, ${floor.perRequest.switches} context switches per request`,
    );
  }
}
