// make bench's parsers and report, on output captured from the real tools in the real mesh
// (fixtures/: vegeta and wrk as bench.ts runs them, /proc as measure.ts reads it, and the
// results of a smoke run). The bench itself runs in compose/test/bench.test.ts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { parse } from 'yaml';
import { envoyValidate } from '../../../envoy/test/edge-static.js';
import type { Results, Run } from '../bench.js';
import { floorConfig } from '../floor.js';
import {
  addUsage,
  cgroupTotals,
  memoryInUse,
  parseCpuStat,
  parseProcs,
  parseProcStat,
  parseVegeta,
  parseWrk,
  countsPerRequest,
  splitTimes,
  usage,
} from '../measure.js';
import { withoutTls } from '../plaintext.js';
import { costSplit, renderChart, renderResults, tlsCosts, verdicts } from '../report.js';

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

test('vegeta: the JSON report, and the CPU its processes used', (t) => {
  const { output, cpuSeconds } = splitTimes(fixture('vegeta.txt')); // 200 rps for 2 s
  const r = parseVegeta(output);
  t.is(r.requests, 400);
  t.is(r.ok, 1);
  t.true(Math.abs(r.rps - 200) < 5);
  t.true(r.seconds > 1.9 && r.seconds < 2.5);
  const l = r.latencyMs;
  t.true(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max);
  t.true(l.p50 < 100, 'milliseconds, not nanoseconds');
  t.true(cpuSeconds > 0 && cpuSeconds < 2);
});

test("wrk: the JSON line of report.lua after wrk's own text", (t) => {
  const { output, cpuSeconds } = splitTimes(fixture('wrk.txt')); // 8 connections for 2 s
  t.regex(output, /Running 2s test/);
  const r = parseWrk(output);
  t.true(r.requests > 1000);
  t.is(r.ok, 1);
  t.true(Math.abs(r.rps - r.requests / r.seconds) < 1);
  const l = r.latencyMs;
  t.true(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max && l.p50 < 100);
  t.true(cpuSeconds > 0);
  t.throws(() => parseWrk('unable to connect to 127.0.0.1:5000 Connection refused'), {
    message: /wrk printed no result/,
  });
  t.is(
    parseWrk(
      '{"requests":10,"duration_us":1000000,"p50":1,"p90":2,"p99":3,"max":4,"non2xx":2,"errors":3}',
    ).ok,
    0.5,
  );
});

test("/proc: a replica's envoy and node with CPU time and RSS; the edge's envoy", (t) => {
  const replica = parseProcs(fixture('procs-replica.txt'));
  const envoy = replica.find((p) => p.command === 'envoy')!;
  const node = replica.find((p) => p.command === 'node')!;
  t.truthy(envoy);
  t.truthy(node);
  t.true(envoy.rssMB > 5 && envoy.rssMB < 500);
  t.true(envoy.privateMB > 1 && envoy.privateMB < envoy.rssMB);
  t.true(node.rssMB > 20 && node.rssMB < 1000);
  t.true(node.privateMB > 1 && node.privateMB < node.rssMB);
  t.true(envoy.cpuSeconds > 0 && node.cpuSeconds > 0);
  t.true(envoy.kernelSeconds > 0 && envoy.kernelSeconds < envoy.cpuSeconds);
  t.truthy(parseProcs(fixture('procs-edge.txt')).find((p) => p.command === 'envoy'));
});

test('usage: CPU in cores between two samples of the same process; RSS of the later one', (t) => {
  const before = [
    { pid: 7, command: 'envoy', cpuSeconds: 10, kernelSeconds: 4, rssMB: 30, privateMB: 10 },
  ];
  const after = [
    { pid: 7, command: 'envoy', cpuSeconds: 13, kernelSeconds: 6, rssMB: 32, privateMB: 12 },
  ];
  t.deepEqual(usage(before, after, 'envoy', 10), {
    cores: 0.3,
    kernelShare: 0.67,
    rssMB: 32,
    privateMB: 12,
  });
  t.is(
    usage(before, [{ ...after[0]!, pid: 8 }], 'envoy', 10),
    null,
    'a restarted process is not compared',
  );
  t.is(usage(before, after, 'node', 10), null);
  // The container's health check runs `node -e ...` now and then: the service's node is the
  // one in both samples, whatever else of that name comes and goes.
  const service = {
    pid: 9,
    command: 'node',
    cpuSeconds: 50,
    kernelSeconds: 10,
    rssMB: 100,
    privateMB: 50,
  };
  const check = {
    pid: 300,
    command: 'node',
    cpuSeconds: 0.1,
    kernelSeconds: 0,
    rssMB: 40,
    privateMB: 20,
  };
  t.deepEqual(
    usage([service], [check, { ...service, cpuSeconds: 55, kernelSeconds: 11 }], 'node', 10),
    { cores: 0.5, kernelShare: 0.2, rssMB: 100, privateMB: 50 },
  );
});

test('usage of the two edges, each sampled in its own container: added up', (t) => {
  const one = { cores: 0.3, kernelShare: 0.5, rssMB: 20, privateMB: 10 };
  const other = { cores: 0.1, kernelShare: 0.1, rssMB: 18, privateMB: 9 };
  t.deepEqual(addUsage([one, other]), { cores: 0.4, kernelShare: 0.4, rssMB: 38, privateMB: 19 });
  t.deepEqual(addUsage([one, null]), one, 'an edge not found (restarting) counts for nothing');
  t.is(addUsage([null]), null);
  t.is(addUsage([]), null);
});

const smoke = () => JSON.parse(fixture('results-smoke.json')) as Results;

test('report: every run in a table, each against the direct path, and the targets', (t) => {
  const results = smoke();
  const text = renderResults(results);
  for (const path of ['direct', 'sidecar', 'mesh'])
    t.regex(text, new RegExp(`GET /user/health +100 +${path} `));
  t.regex(text, /GET \/user\/health +direct +\d+ +1\.00 /); // throughput: direct is 1.00 x itself
  t.regex(text, /Full mesh throughput by number of replicas/);
  t.regex(text, /Istio 1\.20 publishes \+0\.228 ms p90, \+0\.298 ms p99/);
  t.regex(
    text,
    /full mesh throughput on GET \/user\/health: \d\.\d\d x direct \(target >= 0\.5: (met|MISSED)\)/,
  );
  const v = verdicts(results);
  const rps = (path: string) =>
    results.runs.find((r) => r.endpoint === 'health' && r.path === path && 'connections' in r.load)!
      .result.rps;
  t.is(v.throughputRatio, rps('mesh') / rps('direct'));
  t.is(v.p99Overhead.length, 2); // one per endpoint at the smoke run's one rate
  t.true(v.sidecarRssMB! > 5 && v.sidecarPrivateMB! > 1 && v.sidecarPrivateMB! < v.sidecarRssMB!);
});

test('chart: an SVG with a bar per path and percentile in each panel', (t) => {
  const svg = renderChart(smoke());
  t.true(svg.startsWith('<svg') && svg.endsWith('</svg>'));
  t.is((svg.match(/<rect x="[\d.]+" y="[\d.]+" width="13"/g) ?? []).length, 2 * 3 * 3); // 2 panels x 3 percentiles x 3 paths
  t.regex(svg, /GET \/user\/&lt;name&gt; at 100 rps/);
});

test("plaintext configs: every TLS transport socket and identity RBAC filter gone, the admin window's address rule kept", (t) => {
  const configs = ['edge.yaml', 'sidecar.yaml', 'postgres-sidecar.yaml'].map(
    (f) => parse(readFileSync(new URL(`../../../envoy/${f}`, import.meta.url), 'utf8')) as unknown,
  );
  const [edge, sidecar, postgres] = configs.map((c) => JSON.stringify(withoutTls(c)));
  for (const text of [edge, sidecar, postgres]) {
    t.false(text!.includes('transport_socket'));
    t.false(text!.includes('"authenticated"'));
    t.true(text!.includes('"listeners"'));
  }
  t.true(edge!.includes('"direct_remote_ip"'), 'the edge admin window still answers the host only');
  t.true(
    sidecar!.includes('envoy.filters.http.health_check'),
    'the rest of the chain is untouched',
  );
  t.true(JSON.stringify(configs[1]).includes('transport_socket'), 'the input is not modified');
  const clusters = parse(
    readFileSync(new URL('../../../envoy/edge-clusters.yaml', import.meta.url), 'utf8'),
  ) as unknown;
  t.false(
    JSON.stringify(withoutTls(clusters)).includes('transport_socket'),
    "the edge's live clusters too",
  );
});

test('report: mutual TLS against plaintext, paired by endpoint and load, with the targets', (t) => {
  const results = smoke();
  // The smoke run's mesh runs, as if measured again without TLS at 20 % more throughput and 0.1 ms less p50.
  results.plaintext = results.runs
    .filter((r) => r.path === 'mesh')
    .map((r) => ({
      ...r,
      result: {
        ...r.result,
        rps: r.result.rps * 1.2,
        latencyMs: { ...r.result.latencyMs, p50: r.result.latencyMs.p50 - 0.1 },
      },
    }));
  const costs = tlsCosts(results);
  t.is(costs.length, results.plaintext.length);
  t.true(
    costs.every(
      (c) =>
        c.mtls.length === 1 &&
        c.mtls[0]!.path === 'mesh' &&
        c.mtls[0]!.endpoint === c.plaintext.endpoint,
    ),
  );
  t.true(
    costs.every((c) => Math.abs(c.p50 - 0.1) < 1e-9 && Math.abs(c.rps - (1 / 1.2 - 1)) < 1e-9),
  );
  const text = renderResults(results);
  t.regex(text, /What mutual TLS costs/);
  t.regex(
    text,
    /mTLS over plaintext, GET \/user\/health at the highest throughput: 16\.7 % less throughput \(target: at most 10 % less: MISSED\)/,
  );
  t.regex(
    text,
    /mTLS over plaintext, GET \/user\/health at \d+ rps: p50 \+0\.100 ms \(target <= 0\.2 ms: met\)/,
  );
  t.notRegex(
    renderResults(smoke()),
    /What mutual TLS costs/,
    'no section when there was no plaintext pass',
  );
});

test('floor configs: one listener, the router alone (no TLS, access log, request id, health check or admin), one endpoint per replica, and envoy --mode validate accepts them', (t) => {
  const edge = floorConfig('0.0.0.0', 8100, {
    addresses: ['172.30.0.2', '172.30.0.3'],
    port: 8090,
    http2: true,
  });
  const sidecar = floorConfig('172.30.0.2', 8090, {
    addresses: ['127.0.0.1'],
    port: 5000,
    http2: false,
  });
  const dir = mkdtempSync(`${tmpdir()}/floor-`);
  for (const [name, text] of [
    ['edge', edge],
    ['sidecar', sidecar],
  ] as const) {
    writeFileSync(`${dir}/${name}.yaml`, text);
    const result = envoyValidate(`${dir}/${name}.yaml`);
    t.is(result.status, 0, result.stderr + result.stdout);
    for (const absent of [
      'transport_socket',
      'access_log',
      'health_check',
      'admin',
      'rbac',
      'local_ratelimit',
      'tracing',
    ])
      t.false(text.includes(absent), `${name}: ${absent}`);
  }
  // The parsed configs, walked as plain data: a missing key fails the test.
  /* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */
  const [e, s]: any[] = [parse(edge), parse(sidecar)];
  const hcm = e.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  t.deepEqual(
    hcm.http_filters.map((f: { name: string }) => f.name),
    ['envoy.filters.http.router'],
  );
  t.false(hcm.generate_request_id);
  const protocols = (c: typeof e) =>
    c.static_resources.clusters[0].typed_extension_protocol_options[
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
    ].explicit_http_config;
  t.truthy(protocols(e).http2_protocol_options, 'edge to sidecar over HTTP/2, as the shipped edge');
  t.truthy(
    protocols(s).http_protocol_options,
    'sidecar to Node over HTTP/1.1, as the shipped sidecar',
  );
  t.is(
    s.static_resources.listeners[0].address.socket_address.address,
    '172.30.0.2',
    'the sidecar listens on the private network only',
  );
  const endpoints = (c: typeof e) =>
    c.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints.map(
      (x: any) =>
        `${x.endpoint.address.socket_address.address}:${x.endpoint.address.socket_address.port_value}`,
    );
  t.deepEqual(
    endpoints(e),
    ['172.30.0.2:8090', '172.30.0.3:8090'],
    "the edge balances over every replica's floor sidecar",
  );
  t.deepEqual(endpoints(s), ['127.0.0.1:5000']);
  /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */
});

test('cgroups: CPU from v2 cpu.stat or v1 (ns), memory in use less inactive file pages, totals over containers', (t) => {
  t.is(parseCpuStat('usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n'), 123456);
  t.true(Number.isNaN(parseCpuStat('nothing here')));
  t.is(
    memoryInUse(
      100 * 2 ** 20,
      'cache 0\nrss 0\ninactive_file 0\ntotal_cache 40\ntotal_inactive_file 20971520\n',
    ),
    80 * 2 ** 20,
    'v1: total_inactive_file',
  );
  t.is(
    memoryInUse(100 * 2 ** 20, 'anon 1000\nfile 500\ninactive_file 10485760\nactive_file 2\n'),
    90 * 2 ** 20,
    'v2: inactive_file',
  );
  const before = new Map([
    ['a', { cpuMicros: 1_000_000, memoryBytes: 0 }],
    ['b', { cpuMicros: 0, memoryBytes: 0 }],
  ]);
  const after = new Map([
    ['a', { cpuMicros: 3_000_000, memoryBytes: 50 * 2 ** 20 }],
    ['b', { cpuMicros: 2_000_000, memoryBytes: 30 * 2 ** 20 }],
    ['c', { cpuMicros: 9_000_000, memoryBytes: 20 * 2 ** 20 }], // started during the run: its memory counts, its CPU cannot be split
  ]);
  t.deepEqual(cgroupTotals(before, after, 10), { cores: 0.4, memoryMB: 100 });
});

test("/proc/stat: the machine's context switches and interrupts, per request between two readings", (t) => {
  const text =
    'cpu  201019 0 89567 249591 4040 0 11765 22517 0 0\ncpu0 1 2 3\nintr 5000 12 0 7\nctxt 90000\nbtime 1764678000\n';
  t.deepEqual(parseProcStat(text), { switches: 90000, interrupts: 5000 });
  t.deepEqual(
    countsPerRequest(
      { switches: 90000, interrupts: 5000 },
      { switches: 120000, interrupts: 6500 },
      10000,
    ),
    { switches: 3, interrupts: 0.2 },
  );
  t.deepEqual(
    countsPerRequest({ switches: 1, interrupts: 1 }, { switches: 5, interrupts: 1 }, 0),
    { switches: 4, interrupts: 0 },
    'no division by zero',
  );
});

// The smoke fixture with a floor and a host path, and the scaling runs' cgroup figures, made
// up from its own mesh runs: the report's new sections, on known numbers.
function withNewPaths(): Results {
  const results = smoke();
  const mesh = results.runs.filter((r) => r.path === 'mesh');
  const scaled = (
    r: Run,
    path: Run['path'],
    k: number,
    extra: Partial<Run['usage']> = {},
  ): Run => ({
    ...r,
    path,
    result: { ...r.result, rps: r.result.rps * k },
    usage: { ...r.usage, ...extra },
  });
  const proxy = { cores: 0.2, kernelShare: 0.5, rssMB: 5, privateMB: 2 };
  results.runs.push(
    ...mesh.map((r) => scaled(r, 'floor', 1.5)),
    ...mesh.map((r) => scaled(r, 'host', 0.5, { hostProxy: proxy })),
  );
  results.scaling = [
    {
      ...results.scaling[0]!,
      replicas: 1,
      result: { ...results.scaling[0]!.result, rps: 1000 },
      cores: 1.5,
      memoryMB: 300,
    },
    {
      ...results.scaling[0]!,
      replicas: 10,
      result: { ...results.scaling[0]!.result, rps: 700 },
      cores: 1.8,
      memoryMB: 1200,
      perRequest: { switches: 10.1, interrupts: 2.7 },
    },
  ];
  const floor = (rps: number, cores: number) => ({
    result: { ...results.scaling[0]!.result, rps },
    cores,
    perRequest: { switches: 4, interrupts: 1 },
  });
  results.scaling[0]!.floor = floor(2000, 1.6);
  results.scaling[1]!.floor = floor(1000, 1.7);
  results.scaling[1]!.perReplica = { ...floor(900, 1.8), connections: 80 };
  return results;
}

test("report: the floor and host paths, the cost split, the scaling curve's CPU and memory, and the targets", (t) => {
  const results = withNewPaths();
  const text = renderResults(results);
  for (const path of ['floor', 'host'])
    t.regex(text, new RegExp(`GET /user/health +100 +${path} `));
  t.regex(text, /The host path: the same mesh from the host/);
  t.regex(
    text,
    /GET \/user\/health +max, 8 conns +\d+ +\d+ +0\.50 +[\d.]+ +[\d.]+ +0\.20 +\d+/,
    'host x mesh 0.50, docker-proxy 0.20 cores',
  );
  t.regex(text, /What the mesh's cost is made of/);
  const split = costSplit(results);
  t.deepEqual(
    split.map((x) => x.endpoint),
    ['health', 'read'],
  );
  t.deepEqual(
    split[0]!.steps.map((x) => x.name),
    ['direct', 'floor', 'mesh'],
    'no plaintext pass in this run',
  );
  t.is(split[0]!.steps[0]!.proxiesUs, 0);
  t.true(split[0]!.steps[1]!.rps > split[0]!.steps[2]!.rps);
  // 1.5 cores at 1000 rps = 1500 us per request; 1.8 at 700 = 2571.
  t.regex(text, /\n1 +1000 +1\.00 .* +1\.50 +1500 +300 /);
  t.regex(text, /\n10 +700 +0\.70 .* +1\.80 +2571 +1200 +10\.1 +2\.7 /);
  t.regex(text, /full mesh throughput at 10 replicas: 0\.70 x 1 \(target >= 0\.8: MISSED\)/);
  t.regex(
    text,
    /sidecar private memory \(RssAnon\), the most in any run: [\d.]+ MB \(target < 20 MB: (met|MISSED)\)/,
  );
  t.is(verdicts(results).scalingRatio?.ratio, 0.7);
  // The floor over the same replicas: 2000 -> 1000 rps is 0.50 x 1; the mesh at 10 is 0.70 of the floor at 10; 1.7 cores at 1000 rps = 1700 us.
  t.regex(text, /The floor \(two minimal Envoys/);
  t.regex(text, /\n10 +1000 +0\.50 +0\.70 +[\d.]+ +[\d.]+ +1\.70 +1700 +4\.0 +1\.0\s/);
  t.regex(text, /the floor's two minimal Envoys over the same replicas: 0\.50 x 1/);
  t.is(verdicts(results).scalingRatio?.floor, 0.5);
  t.is(verdicts(smoke()).scalingRatio?.floor, null, 'no floor over the replicas, no floor ratio');
  // 80 connections over 10 replicas: 900 rps is 0.90 of the 1-replica run's 1000; 1.8 cores at 900 rps = 2000 us.
  t.regex(text, /with 8 connections per replica \(the load grows with the replicas\)/);
  t.regex(text, /\n10 +80 +900 +0\.90 +[\d.]+ +[\d.]+ +1\.80 +2000 +4\.0 +1\.0\s/);
  t.regex(text, /the full mesh with 8 connections per replica: 0\.90 x 1/);
  t.is(verdicts(results).scalingRatio?.perReplica, 0.9);
  // Node on the direct path, by load: the fixture's own figures, one per run.
  const direct = results.runs.filter((r) => r.endpoint === 'health' && r.path === 'direct');
  t.regex(
    text,
    new RegExp(
      `Node's CPU per request on the direct path, GET /user/health, by load .*: ${direct.map((r) => `${Math.round((r.usage.node!.cores / r.result.rps) * 1e6)} us at `).join('.*')}`,
    ),
  );
  t.is(
    (renderChart(results).match(/<rect x="[\d.]+" y="[\d.]+" width="13"/g) ?? []).length,
    2 * 3 * 5,
    'a bar for each of 5 paths',
  );
});

test('the report names the edge address the bench used (EDGE_PORT), not a fixed 8000', (t) => {
  const results = smoke();
  results.settings.hostUrl = 'http://127.0.0.1:18000';
  const text = renderResults(results);
  t.regex(text, /through the published port at http:\/\/127\.0\.0\.1:18000/);
  t.notRegex(text, /127\.0\.0\.1:8000/);
});
