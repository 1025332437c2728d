// make bench's results as text tables (each row also as a ratio to the direct path), the
// targets the issue set, and an SVG chart of latency by path. Pure functions of Results.
import { formatTable } from '../lib/table.js';
import type { EndpointName, PathName, Results, Run, ScalingRun } from './bench.js';
import type { Usage } from './measure.js';

// Published figures we compare with (istio.io performance pages).
export const ISTIO = {
  version: '1.20',
  rate: 1000,
  p90: 0.228,
  p99: 0.298,
  sidecarMBPer1000Rps: 60,
  sidecarCoresPer1000Rps: 0.2,
};
export const TARGETS = {
  p99OverheadMs: 1,
  throughputRatio: 0.5,
  scalingRatio: 0.8,
  sidecarPrivateMB: 20,
  mtlsThroughputCost: 0.1,
  mtlsP50Ms: 0.2,
};

const ENDPOINT_LABEL: Record<EndpointName, string> = {
  health: 'GET /user/health',
  read: 'GET /user/<name>',
};
const f = (n: number, digits = 2) => n.toFixed(digits);
const signed = (n: number) => `${n < 0 ? '-' : '+'}${Math.abs(n).toFixed(3)}`;
const use = (u: Usage | null) =>
  u ? `${f(u.cores)} / ${u.rssMB.toFixed(0)} (${u.privateMB.toFixed(0)})` : '-';

const counted = (c: Run['perRequest'], key: 'switches' | 'interrupts') =>
  c ? c[key].toFixed(1) : '-';
const perRequest = (u: Usage | null, run: Run) =>
  u ? ((u.cores / run.result.rps) * 1e6).toFixed(0) : '-';

const isRate = (r: Run): r is Run & { load: { rate: number } } => 'rate' in r.load;
/** The direct-path run that `run` is compared with: same endpoint, same load. */
function directOf(results: Results, run: Run): Run | undefined {
  return results.runs.find(
    (d) =>
      d.path === 'direct' &&
      d.endpoint === run.endpoint &&
      JSON.stringify(d.load) === JSON.stringify(run.load),
  );
}

export interface Verdicts {
  p99Overhead: { endpoint: EndpointName; rate: number; p90: number; p99: number }[]; // mesh minus direct, ms
  throughputRatio: number | null; // mesh / direct on /user/health
  sidecarRssMB: number | null; // the most the sidecar held in any run (VmRSS)
  sidecarPrivateMB: number | null; // and of that, its own (RssAnon)
  // Throughput at the most replicas / at the fewest; the floor's too, and the mesh's with the load grown per replica, where measured.
  scalingRatio: {
    replicas: number;
    ratio: number;
    floor: number | null;
    perReplica: number | null;
  } | null;
}

export function verdicts(results: Results): Verdicts {
  const p99Overhead = results.runs
    .filter((r) => r.path === 'mesh' && isRate(r))
    .map((r) => {
      const d = directOf(results, r)!;
      return {
        endpoint: r.endpoint,
        rate: (r.load as { rate: number }).rate,
        p90: r.result.latencyMs.p90 - d.result.latencyMs.p90,
        p99: r.result.latencyMs.p99 - d.result.latencyMs.p99,
      };
    });
  const meshMax = results.runs.find(
    (r) => r.path === 'mesh' && r.endpoint === 'health' && !isRate(r),
  );
  const directMax = meshMax && directOf(results, meshMax);
  const most = (pick: (u: Usage) => number) => {
    // The shipped sidecar's: the floor path's sidecar is a minimal Envoy of the bench's own.
    const values = results.runs.flatMap((r) =>
      r.usage.sidecar && r.path !== 'floor' ? [pick(r.usage.sidecar)] : [],
    );
    return values.length ? Math.max(...values) : null;
  };
  return {
    p99Overhead,
    throughputRatio: meshMax && directMax ? meshMax.result.rps / directMax.result.rps : null,
    sidecarRssMB: most((u) => u.rssMB),
    sidecarPrivateMB: most((u) => u.privateMB),
    scalingRatio: scalingRatio(results),
  };
}

function scalingRatio(results: Results): Verdicts['scalingRatio'] {
  const first = results.scaling[0];
  const last = results.scaling.at(-1);
  if (!first || !last || last === first) return null;
  const floor = first.floor && last.floor ? last.floor.result.rps / first.floor.result.rps : null;
  const perReplica = last.perReplica ? last.perReplica.result.rps / first.result.rps : null;
  return { replicas: last.replicas, ratio: last.result.rps / first.result.rps, floor, perReplica };
}

export interface TlsCost {
  endpoint: EndpointName;
  load: Run['load'];
  plaintext: Run;
  mtls: Run[]; // the pass before the plaintext one, and the pass after it (when there was one)
  /** mTLS minus plaintext, with the mTLS passes averaged: p50 and p99 in ms, throughput as a fraction. */
  p50: number;
  p99: number;
  rps: number;
}

const sameLoad = (a: Run, b: Run) =>
  a.path === b.path &&
  a.endpoint === b.endpoint &&
  JSON.stringify(a.load) === JSON.stringify(b.load);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The full mesh's runs with mutual TLS (before and after) paired with the same loads without it. */
export function tlsCosts(results: Results): TlsCost[] {
  return (results.plaintext ?? []).flatMap((plaintext) => {
    const mtls = [...results.runs, ...(results.mtlsAgain ?? [])].filter((r) =>
      sameLoad(r, plaintext),
    );
    if (mtls.length === 0) return [];
    const p = plaintext.result;
    return [
      {
        endpoint: plaintext.endpoint,
        load: plaintext.load,
        plaintext,
        mtls,
        p50: mean(mtls.map((r) => r.result.latencyMs.p50)) - p.latencyMs.p50,
        p99: mean(mtls.map((r) => r.result.latencyMs.p99)) - p.latencyMs.p99,
        rps: mean(mtls.map((r) => r.result.rps)) / p.rps - 1,
      },
    ];
  });
}

/** CPU per request (us) of the three proxies together: edge, sidecar, and the Envoy beside PostgreSQL. */
const proxiesPerRequest = (run: Run) =>
  ((['edge', 'sidecar', 'dbproxy'] as const).reduce(
    (sum, k) => sum + (run.usage[k]?.cores ?? 0),
    0,
  ) /
    run.result.rps) *
  1e6;

/** Each run of `path`, with the run of `beside` at the same endpoint and load (if measured). */
const pairedRuns = (results: Results, path: PathName, beside: PathName): [Run, Run][] =>
  results.runs
    .filter((r) => r.path === path)
    .flatMap((run) => {
      const other = results.runs.find(
        (r) =>
          r.path === beside &&
          r.endpoint === run.endpoint &&
          JSON.stringify(r.load) === JSON.stringify(run.load),
      );
      return other ? [[run, other] as [Run, Run]] : [];
    });

/** A run's load, as the tables show it. */
const loadLabel = (run: Run) =>
  isRate(run)
    ? `${run.load.rate} rps`
    : `max, ${(run.load as { connections: number }).connections} conns`;

/** The host path next to the mesh path: what the published port and docker-proxy add. */
function renderHostPath(results: Results): string[] {
  const hosts = results.runs.filter((r) => r.path === 'host');
  if (hosts.length === 0) return [];
  const out = [
    '',
    'The host path: the same mesh from the host, through the published port (docker-proxy), next to the mesh path',
  ];
  out.push(
    formatTable(
      [
        'endpoint',
        'load',
        'mesh rps',
        'host rps',
        'host x mesh',
        'mesh p99 ms',
        'host p99 ms',
        'docker-proxy cpu',
        'docker-proxy us/req',
      ],
      pairedRuns(results, 'host', 'mesh').map(([h, m]) => {
        const proxy = h.usage.hostProxy;
        return [
          ENDPOINT_LABEL[h.endpoint],
          loadLabel(h),
          m.result.rps.toFixed(0),
          h.result.rps.toFixed(0),
          f(h.result.rps / m.result.rps),
          f(m.result.latencyMs.p99, 3),
          f(h.result.latencyMs.p99, 3),
          proxy ? f(proxy.cores) : 'none',
          proxy ? perRequest(proxy, h) : '-',
        ];
      }),
    ),
  );
  return out;
}

/** The https path next to the host path: what client TLS at the edge costs, the same loads. */
function renderClientTls(results: Results): string[] {
  const rows = pairedRuns(results, 'https', 'host').map(([s, h]) => [
    ENDPOINT_LABEL[s.endpoint],
    loadLabel(s),
    h.result.rps.toFixed(0),
    s.result.rps.toFixed(0),
    f(s.result.rps / h.result.rps),
    f(h.result.latencyMs.p99, 3),
    f(s.result.latencyMs.p99, 3),
    perRequest(h.usage.edge, h),
    perRequest(s.usage.edge, s),
  ]);
  if (rows.length === 0) return [];
  const header = [
    'endpoint',
    'load',
    'http rps',
    'https rps',
    'https x http',
    'http p99 ms',
    'https p99 ms',
    'edge us/req http',
    'edge us/req https',
  ];
  return [
    '',
    `Client TLS: the same mesh from the host over HTTPS (${results.settings.httpsUrl ?? 'https://127.0.0.1:8443'}, kept-alive TLS 1.3) next to plain HTTP (${results.settings.hostUrl ?? 'http://127.0.0.1:8000'})`,
    formatTable(header, rows),
  ];
}

/**
 * Where the mesh's cost comes from, at the highest throughput: Envoy itself (floor over
 * direct), our configuration (the plaintext mesh over floor, when measured) and mutual TLS
 * (mesh over plaintext); CPU per request of the two proxies in the request's path.
 */
export function costSplit(results: Results): {
  endpoint: EndpointName;
  steps: { name: string; rps: number; proxiesUs: number | null; p99: number }[];
}[] {
  return results.settings.endpoints.flatMap((endpoint) => {
    const most = (runs: Run[] | undefined, path: PathName) =>
      runs?.find((r) => r.endpoint === endpoint && r.path === path && !isRate(r));
    const two = (r: Run) =>
      r.usage.edge && r.usage.sidecar
        ? ((r.usage.edge.cores + r.usage.sidecar.cores) / r.result.rps) * 1e6
        : null;
    const named: [string, Run | undefined][] = [
      ['direct', most(results.runs, 'direct')],
      ['floor', most(results.runs, 'floor')],
      ['plaintext mesh', most(results.plaintext, 'mesh')],
      ['mesh', most(results.runs, 'mesh')],
    ];
    const steps = named.flatMap(([name, r]) =>
      r
        ? [
            {
              name,
              rps: r.result.rps,
              proxiesUs: name === 'direct' ? 0 : two(r),
              p99: r.result.latencyMs.p99,
            },
          ]
        : [],
    );
    return steps.some((x) => x.name === 'floor') ? [{ endpoint, steps }] : [];
  });
}

function renderCostSplit(results: Results): string[] {
  const split = costSplit(results);
  if (split.length === 0) return [];
  const out = [
    '',
    "What the mesh's cost is made of, at the highest throughput: Envoy itself (floor), our configuration (plaintext mesh over floor),",
    'mutual TLS (mesh over plaintext); proxies us/req = CPU of the two Envoys in the path per request',
  ];
  out.push(
    formatTable(
      ['endpoint', 'path', 'rps', 'rps x direct', 'p99 ms', 'proxies us/req', 'added us/req'],
      split.flatMap(({ endpoint, steps }) =>
        steps.map((x, i) => {
          const prev = steps[i - 1];
          return [
            ENDPOINT_LABEL[endpoint],
            x.name,
            x.rps.toFixed(0),
            f(x.rps / steps[0]!.rps),
            f(x.p99, 3),
            x.proxiesUs === null ? '-' : x.proxiesUs.toFixed(0),
            prev && x.proxiesUs !== null && prev.proxiesUs !== null
              ? signed(x.proxiesUs - prev.proxiesUs).replace(/\.\d+$/, '')
              : '-',
          ];
        }),
      ),
    ),
  );
  return out;
}

function renderTlsCost(results: Results): string[] {
  const costs = tlsCosts(results);
  if (costs.length === 0) return [];
  const out = [
    '',
    'What mutual TLS costs: the full mesh with it, without it, and with it again, same loads, same run',
    '(plaintext = the configs with TLS and identity RBAC taken out; the changes compare plaintext with the mean of the two mTLS passes)',
  ];
  const latency = (r: Run) => `${f(r.result.latencyMs.p50, 3)} / ${f(r.result.latencyMs.p99, 3)}`;
  out.push(
    formatTable(
      [
        'endpoint',
        'load',
        'mTLS p50 / p99 ms',
        'plaintext',
        'mTLS again',
        'p50 +ms',
        'p99 +ms',
        'rps mTLS / plain / mTLS',
        'rps change',
      ],
      costs.map((c) => [
        ENDPOINT_LABEL[c.endpoint],
        'rate' in c.load ? `${c.load.rate} rps` : `max, ${c.load.connections} conns`,
        latency(c.mtls[0]!),
        latency(c.plaintext),
        c.mtls[1] ? latency(c.mtls[1]) : '-',
        signed(c.p50),
        signed(c.p99),
        [c.mtls[0]!, c.plaintext, ...c.mtls.slice(1)]
          .map((r) => r.result.rps.toFixed(0))
          .join(' / '),
        `${(c.rps * 100).toFixed(1)} %`,
      ]),
    ),
  );
  const most = costs.filter((c) => !('rate' in c.load));
  out.push(
    '',
    'CPU per request at the highest throughput, us (edge + sidecar + the Envoy beside PostgreSQL = proxies; node for scale)',
  );
  const us = (u: Usage | null | undefined, run: Run) =>
    u ? ((u.cores / run.result.rps) * 1e6).toFixed(0) : '-';
  const passes = (c: TlsCost): [string, Run][] => [
    ['mTLS', c.mtls[0]!],
    ['plaintext', c.plaintext],
    ...c.mtls.slice(1).map((r): [string, Run] => ['mTLS again', r]),
  ];
  out.push(
    formatTable(
      ['endpoint', 'pass', 'edge', 'sidecar', 'db proxy', 'proxies', 'node'],
      most.flatMap((c) =>
        passes(c).map(([name, r]) => [
          ENDPOINT_LABEL[c.endpoint],
          name,
          us(r.usage.edge, r),
          us(r.usage.sidecar, r),
          us(r.usage.dbproxy, r),
          proxiesPerRequest(r).toFixed(0),
          us(r.usage.node, r),
        ]),
      ),
    ),
  );
  return out;
}

export function renderResults(results: Results): string {
  return [
    ...renderHeader(results),
    ...renderRateTable(results),
    ...renderMaxTable(results),
    ...renderScaling(results),
    ...renderWhereCpuWent(results),
    ...renderHostPath(results),
    ...renderClientTls(results),
    ...renderCostSplit(results),
    ...renderTlsCost(results),
    ...renderTargets(results),
  ].join('\n');
}

/** What ran where: versions, the machine, the paths, how to read a cell. */
function renderHeader(results: Results): string[] {
  const { machine: m, versions: v, settings: s } = results;
  return [
    `make bench, ${results.date.slice(0, 16).replace('T', ' ')} UTC: Envoy ${v.envoy}, Node ${v.node}, PostgreSQL ${v.postgres}`,
    `machine: ${m.cores} cores (${m.cpu}), kernel ${m.kernel}, Docker ${m.docker}. The load generator, both Envoys, Node`,
    `and PostgreSQL all share these ${m.cores} cores: every figure includes that contention.`,
    `load: ${s.loadgen}; vegeta ${v.vegeta}, wrk ${v.wrk}.`,
    'paths: direct = Node on 127.0.0.1:5000, floor = two minimal Envoys (router only, no TLS) -> Node, sidecar = its Envoy on :8080',
    "(mutual TLS, as the edge), mesh = edge:8000 -> sidecar (mutual TLS) -> Node; all four from inside the replica's network namespace.",
    `host = the mesh from the host, through the published port at ${s.hostUrl ?? 'http://127.0.0.1:8000'} (Docker's userland proxy, where the engine runs one).`,
    'cpu/MB: CPU in cores over the run (1.00 = one core busy) / RSS in MB at its end (in brackets: private',
    "memory, RssAnon; the rest of RSS is the binary's pages, shared with the page cache).",
  ];
}

/** Latency at a fixed rate, every path, against direct. */
function renderRateTable(results: Results): string[] {
  const s = results.settings;
  const out: string[] = [
    '',
    `Latency at a fixed request rate (vegeta, open loop, ${s.seconds} s per run)`,
  ];
  const rateRows = results.runs.filter(isRate).map((r) => {
    const d = directOf(results, r)!;
    const direct = r.path === 'direct';
    const lat = r.result.latencyMs;
    return [
      ENDPOINT_LABEL[r.endpoint],
      String(r.load.rate),
      r.path,
      f(lat.p50, 3),
      f(lat.p90, 3),
      f(lat.p99, 3),
      direct ? '1.00' : f(lat.p99 / d.result.latencyMs.p99),
      direct ? '-' : signed(lat.p90 - d.result.latencyMs.p90),
      direct ? '-' : signed(lat.p99 - d.result.latencyMs.p99),
      (r.result.ok * 100).toFixed(1),
      use(r.usage.edge),
      use(r.usage.sidecar),
      use(r.usage.node),
      f(r.result.loadgenCores ?? 0),
    ];
  });
  out.push(
    formatTable(
      [
        'endpoint',
        'rps',
        'path',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'p99 x direct',
        'p90 +ms',
        'p99 +ms',
        'ok %',
        'edge cpu/MB',
        'sidecar cpu/MB',
        'node cpu/MB',
        'vegeta cpu',
      ],
      rateRows,
    ),
  );

  return out;
}

/** Highest throughput, every path, against direct. */
function renderMaxTable(results: Results): string[] {
  const s = results.settings;
  const out: string[] = [];
  out.push(
    '',
    `Highest throughput with ${s.connections} connections (wrk -t1, closed loop, ${s.seconds} s per run)`,
  );
  const maxRows = results.runs
    .filter((r) => !isRate(r))
    .map((r) => {
      const d = directOf(results, r)!;
      const lat = r.result.latencyMs;
      return [
        ENDPOINT_LABEL[r.endpoint],
        r.path,
        r.result.rps.toFixed(0),
        f(r.result.rps / d.result.rps),
        f(lat.p50, 3),
        f(lat.p99, 3),
        f(lat.p99 / d.result.latencyMs.p99),
        (r.result.ok * 100).toFixed(1),
        use(r.usage.edge),
        use(r.usage.sidecar),
        use(r.usage.node),
        f(r.result.loadgenCores ?? 0),
        counted(r.perRequest, 'switches'),
      ];
    });
  out.push(
    formatTable(
      [
        'endpoint',
        'path',
        'rps',
        'rps x direct',
        'p50 ms',
        'p99 ms',
        'p99 x direct',
        'ok %',
        'edge cpu/MB',
        'sidecar cpu/MB',
        'node cpu/MB',
        'wrk cpu',
        'switches/req',
      ],
      maxRows,
    ),
  );

  return out;
}

/** The full mesh by number of replicas; the same with the load grown per replica; the floor's. */
// p99 ms, ok %, cpu, cpu us/req, switches/req, irq/req: the tail of the scaling tables.
const scalingColumns = (r: ScalingRun) => [
  f(r.result.latencyMs.p99, 3),
  (r.result.ok * 100).toFixed(1),
  f(r.cores),
  ((r.cores / r.result.rps) * 1e6).toFixed(0),
  counted(r.perRequest, 'switches'),
  counted(r.perRequest, 'interrupts'),
];

function renderScaling(results: Results): string[] {
  if (!results.scaling.length) return [];
  const { machine: m, settings: s } = results;
  const out: string[] = [];
  const one = results.scaling[0]!.result.rps;
  out.push(
    '',
    `Full mesh throughput by number of replicas (GET /user/health, wrk -t1 -c${s.connections}; ${m.cores} cores for all of them)`,
  );
  out.push(
    '(mesh cpu and memory: every container of the mesh together, from their cgroups; the load generator apart.',
    " switches and irq: the whole machine's context switches and interrupts per request, /proc/stat)",
  );
  out.push(
    formatTable(
      [
        'replicas',
        'rps',
        `x ${results.scaling[0]!.replicas}`,
        'p50 ms',
        'p99 ms',
        'ok %',
        'mesh cpu',
        'cpu us/req',
        'memory MB',
        'switches/req',
        'irq/req',
        'wrk cpu',
      ],
      results.scaling.map((x) => [
        String(x.replicas),
        x.result.rps.toFixed(0),
        f(x.result.rps / one),
        f(x.result.latencyMs.p50, 3),
        f(x.result.latencyMs.p99, 3),
        (x.result.ok * 100).toFixed(1),
        x.cores === undefined ? '-' : f(x.cores),
        x.cores === undefined ? '-' : ((x.cores / x.result.rps) * 1e6).toFixed(0),
        x.memoryMB === undefined ? '-' : String(x.memoryMB),
        counted(x.perRequest, 'switches'),
        counted(x.perRequest, 'interrupts'),
        f(x.result.loadgenCores ?? 0),
      ]),
    ),
  );
  return [...out, ...renderGrownLoad(results), ...renderFloorScaling(results)];
}

/** The full mesh with the load grown per replica: was what the fixed load lost only batching? */
function renderGrownLoad(results: Results): string[] {
  const s = results.settings;
  const one = results.scaling[0]?.result.rps ?? 0;
  const out: string[] = [];
  const grown = results.scaling.filter((x) => x.perReplica);
  if (!grown.length) return [];
  out.push(
    '',
    `The full mesh again with ${s.connections} connections per replica (the load grows with the replicas), right after each run above:`,
  );
  out.push(
    'with as many requests in flight per replica as at 1 replica, is what the fixed load lost only batching?',
  );
  out.push(
    formatTable(
      [
        'replicas',
        'connections',
        'rps',
        `x ${results.scaling[0]!.replicas}`,
        'p99 ms',
        'ok %',
        'mesh cpu',
        'cpu us/req',
        'switches/req',
        'irq/req',
      ],
      grown.map((x) => {
        const g = x.perReplica!;
        return [
          String(x.replicas),
          String(g.connections),
          g.result.rps.toFixed(0),
          f(g.result.rps / one),
          ...scalingColumns(g),
        ];
      }),
    ),
  );
  return out;
}

/** The floor over the same replicas: does Envoy itself lose as much as the mesh? */
function renderFloorScaling(results: Results): string[] {
  const out: string[] = [];
  const floors = results.scaling.filter((x) => x.floor);
  if (!floors.length) return [];
  const floorOne = floors[0]!.floor!.result.rps;
  out.push(
    '',
    `The floor (two minimal Envoys, router only, no TLS) over the same replicas, the same load, right after each mesh run above:`,
  );
  out.push(
    "does Envoy itself lose as much as the mesh when replicas are added? (cpu: the floor's proxies and the replicas, from their cgroups)",
  );
  out.push(
    formatTable(
      [
        'replicas',
        'floor rps',
        `x ${floors[0]!.replicas}`,
        'mesh x floor',
        'p99 ms',
        'ok %',
        'cpu',
        'cpu us/req',
        'switches/req',
        'irq/req',
      ],
      floors.map((x) => {
        const fl = x.floor!;
        return [
          String(x.replicas),
          fl.result.rps.toFixed(0),
          f(fl.result.rps / floorOne),
          f(x.result.rps / fl.result.rps),
          ...scalingColumns(fl),
        ];
      }),
    ),
  );
  return out;
}

/** Each process's share at the mesh's highest throughput, and Node's CPU per request by load. */
function renderWhereCpuWent(results: Results): string[] {
  const out: string[] = [];
  const meshMax = results.runs.find(
    (r) => r.endpoint === 'health' && r.path === 'mesh' && !isRate(r),
  );
  if (meshMax) {
    const share = (name: string, u: Usage | null) =>
      u
        ? `${name} ${f(u.cores)} cores (${(u.kernelShare * 100).toFixed(0)} % in the kernel)`
        : `${name} -`;
    const u = meshMax.usage;
    out.push(
      '',
      `Where the CPU went at the full mesh's highest throughput on GET /user/health: ${share('edge', u.edge)}, ${share('sidecar', u.sidecar)},`,
    );
    out.push(
      `${share('node', u.node)}, wrk ${f(meshMax.result.loadgenCores ?? 0)} cores: per request, edge ${perRequest(u.edge, meshMax)} us, sidecar ${perRequest(u.sidecar, meshMax)} us, node ${perRequest(u.node, meshMax)} us of CPU.`,
    );
  }
  // The same process and request at each load: what a wake-up for few requests costs here.
  const direct = results.runs.filter(
    (r) => r.endpoint === 'health' && r.path === 'direct' && r.usage.node,
  );
  if (direct.length > 1) {
    const at = (r: Run) => ('rate' in r.load ? `${r.load.rate} rps` : 'the highest throughput');
    out.push(
      '',
      `Node's CPU per request on the direct path, GET /user/health, by load (the fewer requests per wake-up, the more each costs): ${direct.map((r) => `${perRequest(r.usage.node, r)} us at ${at(r)}`).join(', ')}.`,
    );
  }

  return out;
}

/** The targets, met or missed, with Istio's published figures beside them. */
function renderTargets(results: Results): string[] {
  const s = results.settings;
  const out: string[] = [];
  const vd = verdicts(results);
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  out.push('', 'Targets');
  for (const c of tlsCosts(results)) {
    const what = `${ENDPOINT_LABEL[c.endpoint]} ${'rate' in c.load ? `at ${c.load.rate} rps` : 'at the highest throughput'}`;
    if ('rate' in c.load) {
      out.push(
        `- mTLS over plaintext, ${what}: p50 ${signed(c.p50)} ms (target <= ${TARGETS.mtlsP50Ms} ms: ${met(c.p50 <= TARGETS.mtlsP50Ms)})`,
      );
    } else {
      const cost = -c.rps;
      const change = `${Math.abs(cost * 100).toFixed(1)} % ${cost >= 0 ? 'less' : 'more'} throughput`;
      out.push(
        `- mTLS over plaintext, ${what}: ${change} (target: at most ${TARGETS.mtlsThroughputCost * 100} % less: ${met(cost <= TARGETS.mtlsThroughputCost)})`,
      );
    }
  }
  for (const o of vd.p99Overhead) {
    out.push(
      `- full mesh over direct, ${ENDPOINT_LABEL[o.endpoint]} at ${o.rate} rps: p90 ${signed(o.p90)} ms, p99 ${signed(o.p99)} ms (target p99 < ${TARGETS.p99OverheadMs} ms: ${met(o.p99 < TARGETS.p99OverheadMs)})`,
    );
  }
  out.push(
    `  Istio ${ISTIO.version} publishes +${ISTIO.p90} ms p90, +${ISTIO.p99} ms p99 for its two proxies at ${ISTIO.rate} rps (its own hardware).`,
  );
  if (vd.throughputRatio !== null)
    out.push(
      `- full mesh throughput on GET /user/health: ${f(vd.throughputRatio)} x direct (target >= ${TARGETS.throughputRatio}: ${met(vd.throughputRatio >= TARGETS.throughputRatio)})`,
    );
  if (vd.scalingRatio) {
    const ratio = vd.scalingRatio;
    out.push(
      `- full mesh throughput at ${ratio.replicas} replicas: ${f(ratio.ratio)} x ${results.scaling[0]!.replicas} (target >= ${TARGETS.scalingRatio}: ${met(ratio.ratio >= TARGETS.scalingRatio)})`,
    );
    if (ratio.floor !== null)
      out.push(
        `  the floor's two minimal Envoys over the same replicas: ${f(ratio.floor)} x ${results.scaling[0]!.replicas}`,
      );
    if (ratio.perReplica !== null)
      out.push(
        `  the full mesh with ${s.connections} connections per replica: ${f(ratio.perReplica)} x ${results.scaling[0]!.replicas}`,
      );
  }
  if (vd.sidecarRssMB !== null && vd.sidecarPrivateMB !== null) {
    out.push(
      `- sidecar private memory (RssAnon), the most in any run: ${vd.sidecarPrivateMB.toFixed(1)} MB (target < ${TARGETS.sidecarPrivateMB} MB: ${met(vd.sidecarPrivateMB < TARGETS.sidecarPrivateMB)}); RSS with the binary's shared pages ${vd.sidecarRssMB.toFixed(1)} MB`,
    );
    out.push(
      `  Istio: about ${ISTIO.sidecarMBPer1000Rps} MB and ${ISTIO.sidecarCoresPer1000Rps} cores per sidecar per 1000 rps.`,
    );
  }
  return out;
}

const COLORS: Record<PathName, string> = {
  direct: '#4c78a8',
  floor: '#9d755d',
  sidecar: '#f58518',
  mesh: '#54a24b',
  host: '#e45756',
  https: '#b279a2',
};

/** Latency by path: one panel per endpoint and rate, bars for p50, p90 and p99. */
export function renderChart(results: Results): string {
  const panels = results.runs
    .filter((r) => isRate(r) && r.path === 'direct')
    .map((d) => ({
      title: `${ENDPOINT_LABEL[d.endpoint]} at ${(d.load as { rate: number }).rate} rps`,
      runs: results.runs.filter(
        (r) => r.endpoint === d.endpoint && JSON.stringify(r.load) === JSON.stringify(d.load),
      ),
    }));
  const W = 320,
    H = 240,
    top = 60,
    left = 50,
    plotH = 150,
    plotW = 250;
  const width = Math.max(1, panels.length) * W;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + top}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14">Latency by path, ms (vegeta, open loop; Envoy ${esc(results.versions.envoy)}, Node ${esc(results.versions.node)}, ${results.machine.cores} cores)</text>`,
  ];
  (Object.keys(COLORS) as PathName[]).forEach((p, i) => {
    parts.push(
      `<rect x="${10 + i * 90}" y="30" width="12" height="12" fill="${COLORS[p]}"/><text x="${26 + i * 90}" y="40">${p}</text>`,
    );
  });
  panels.forEach((panel, i) => {
    const x0 = i * W + left;
    const y0 = top + 20;
    const max = Math.max(...panel.runs.map((r) => r.result.latencyMs.p99)) * 1.1 || 1;
    const y = (v: number) => y0 + plotH - (v / max) * plotH;
    parts.push(`<text x="${x0}" y="${top + 8}">${esc(panel.title)}</text>`);
    parts.push(
      `<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + plotH}" stroke="#888"/><line x1="${x0}" y1="${y0 + plotH}" x2="${x0 + plotW}" y2="${y0 + plotH}" stroke="#888"/>`,
    );
    for (const tick of [0, 0.5, 1])
      parts.push(
        `<text x="${x0 - 4}" y="${y((tick * max) / 1.1) + 4}" text-anchor="end">${f((tick * max) / 1.1)}</text>`,
      );
    (['p50', 'p90', 'p99'] as const).forEach((q, qi) => {
      const gx = x0 + 10 + qi * 80;
      panel.runs.forEach((r, ri) => {
        const v = r.result.latencyMs[q];
        parts.push(
          `<rect x="${gx + ri * 15}" y="${y(v)}" width="13" height="${y0 + plotH - y(v)}" fill="${COLORS[r.path]}"><title>${r.path} ${q}: ${v} ms</title></rect>`,
        );
      });
      parts.push(`<text x="${gx + 32}" y="${y0 + plotH + 14}" text-anchor="middle">${q}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}
