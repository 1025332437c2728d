// make bench's parsers and report, on output captured from the real tools in the real mesh
// (fixtures/: vegeta and wrk as bench.ts runs them, /proc as measure.ts reads it, and the
// results of a smoke run). The bench itself runs in compose/test/bench.test.ts.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { parse } from 'yaml';
import type { Results } from '../bench.js';
import { parseProcs, parseVegeta, parseWrk, splitTimes, usage } from '../measure.js';
import { withoutTls } from '../plaintext.js';
import { renderChart, renderResults, tlsCosts, verdicts } from '../report.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

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

test('wrk: the JSON line of report.lua after wrk\'s own text', (t) => {
  const { output, cpuSeconds } = splitTimes(fixture('wrk.txt')); // 8 connections for 2 s
  t.regex(output, /Running 2s test/);
  const r = parseWrk(output);
  t.true(r.requests > 1000);
  t.is(r.ok, 1);
  t.true(Math.abs(r.rps - r.requests / r.seconds) < 1);
  const l = r.latencyMs;
  t.true(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max && l.p50 < 100);
  t.true(cpuSeconds > 0);
  t.throws(() => parseWrk('unable to connect to 127.0.0.1:5000 Connection refused'), { message: /wrk printed no result/ });
  t.is(parseWrk('{"requests":10,"duration_us":1000000,"p50":1,"p90":2,"p99":3,"max":4,"non2xx":2,"errors":3}').ok, 0.5);
});

test('/proc: a replica\'s envoy and node with CPU time and RSS; the edge\'s envoy', (t) => {
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
  const before = [{ pid: 7, command: 'envoy', cpuSeconds: 10, kernelSeconds: 4, rssMB: 30, privateMB: 10 }];
  const after = [{ pid: 7, command: 'envoy', cpuSeconds: 13, kernelSeconds: 6, rssMB: 32, privateMB: 12 }];
  t.deepEqual(usage(before, after, 'envoy', 10), { cores: 0.3, kernelShare: 0.67, rssMB: 32, privateMB: 12 });
  t.is(usage(before, [{ ...after[0]!, pid: 8 }], 'envoy', 10), null, 'a restarted process is not compared');
  t.is(usage(before, after, 'node', 10), null);
  // The container's health check runs `node -e ...` now and then: the service's node is the
  // one in both samples, whatever else of that name comes and goes.
  const service = { pid: 9, command: 'node', cpuSeconds: 50, kernelSeconds: 10, rssMB: 100, privateMB: 50 };
  const check = { pid: 300, command: 'node', cpuSeconds: 0.1, kernelSeconds: 0, rssMB: 40, privateMB: 20 };
  t.deepEqual(usage([service], [check, { ...service, cpuSeconds: 55, kernelSeconds: 11 }], 'node', 10), { cores: 0.5, kernelShare: 0.2, rssMB: 100, privateMB: 50 });
});

const smoke = () => JSON.parse(fixture('results-smoke.json')) as Results;

test('report: every run in a table, each against the direct path, and the targets', (t) => {
  const results = smoke();
  const text = renderResults(results);
  for (const path of ['direct', 'sidecar', 'mesh']) t.regex(text, new RegExp(`GET /user/health +100 +${path} `));
  t.regex(text, /GET \/user\/health +direct +\d+ +1\.00 /); // throughput: direct is 1.00 x itself
  t.regex(text, /Full mesh throughput by number of replicas/);
  t.regex(text, /Istio 1\.20 publishes \+0\.228 ms p90, \+0\.298 ms p99/);
  t.regex(text, /full mesh throughput on GET \/user\/health: \d\.\d\d x direct \(target >= 0\.5: (met|MISSED)\)/);
  const v = verdicts(results);
  const rps = (path: string) => results.runs.find((r) => r.endpoint === 'health' && r.path === path && 'connections' in r.load)!.result.rps;
  t.is(v.throughputRatio, rps('mesh') / rps('direct'));
  t.is(v.p99Overhead.length, 2); // one per endpoint at the smoke run's one rate
  t.true(v.sidecarRssMB! > 5 && v.sidecarPrivateMB! > 1 && v.sidecarPrivateMB! < v.sidecarRssMB!);
});

test('chart: an SVG with a bar per path and percentile in each panel', (t) => {
  const svg = renderChart(smoke());
  t.true(svg.startsWith('<svg') && svg.endsWith('</svg>'));
  t.is((svg.match(/<rect x="[\d.]+" y="[\d.]+" width="20"/g) ?? []).length, 2 * 3 * 3); // 2 panels x 3 percentiles x 3 paths
  t.regex(svg, /GET \/user\/&lt;name&gt; at 100 rps/);
});

test('plaintext configs: every TLS transport socket and identity RBAC filter gone, the admin window\'s address rule kept', (t) => {
  const configs = ['edge.yaml', 'sidecar.yaml', 'postgres-sidecar.yaml'].map((f) => parse(readFileSync(new URL(`../../../envoy/${f}`, import.meta.url), 'utf8')) as unknown);
  const [edge, sidecar, postgres] = configs.map((c) => JSON.stringify(withoutTls(c)));
  for (const text of [edge, sidecar, postgres]) {
    t.false(text!.includes('transport_socket'));
    t.false(text!.includes('"authenticated"'));
    t.true(text!.includes('"listeners"'));
  }
  t.true(edge!.includes('"direct_remote_ip"'), 'the edge admin window still answers the host only');
  t.true(sidecar!.includes('envoy.filters.http.health_check'), 'the rest of the chain is untouched');
  t.true(JSON.stringify(configs[1]).includes('transport_socket'), 'the input is not modified');
  const clusters = parse(readFileSync(new URL('../../../envoy/edge-clusters.yaml', import.meta.url), 'utf8')) as unknown;
  t.false(JSON.stringify(withoutTls(clusters)).includes('transport_socket'), 'the edge\'s live clusters too');
});

test('report: mutual TLS against plaintext, paired by endpoint and load, with the targets', (t) => {
  const results = smoke();
  // The smoke run's mesh runs, as if measured again without TLS at 20 % more throughput and 0.1 ms less p50.
  results.plaintext = results.runs.filter((r) => r.path === 'mesh').map((r) => ({
    ...r,
    result: { ...r.result, rps: r.result.rps * 1.2, latencyMs: { ...r.result.latencyMs, p50: r.result.latencyMs.p50 - 0.1 } },
  }));
  const costs = tlsCosts(results);
  t.is(costs.length, results.plaintext.length);
  t.true(costs.every((c) => c.mtls.length === 1 && c.mtls[0]!.path === 'mesh' && c.mtls[0]!.endpoint === c.plaintext.endpoint));
  t.true(costs.every((c) => Math.abs(c.p50 - 0.1) < 1e-9 && Math.abs(c.rps - (1 / 1.2 - 1)) < 1e-9));
  const text = renderResults(results);
  t.regex(text, /What mutual TLS costs/);
  t.regex(text, /mTLS over plaintext, GET \/user\/health at the highest throughput: 16\.7 % less throughput \(target: at most 10 % less: MISSED\)/);
  t.regex(text, /mTLS over plaintext, GET \/user\/health at \d+ rps: p50 \+0\.100 ms \(target <= 0\.2 ms: met\)/);
  t.notRegex(renderResults(smoke()), /What mutual TLS costs/, 'no section when there was no plaintext pass');
});
