// make stats's parsing and arithmetic, on Envoy admin output captured from the real mesh
// (fixtures/, written by fixtures/capture.ts). The end-to-end check is in compose/test.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import {
  bucketsDelta,
  histogramBuckets,
  histogramQuantile,
  parseClusters,
  parsePrometheus,
  parseStatsJson,
  sampleValue,
  type Buckets,
} from '../../lib/envoy-admin.js';
import type { Container, Snapshot } from '../collect.js';
import { buildReport, expiresIn, renderReport } from '../report.js';

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
const LOCAL = { envoy_cluster_name: 'local_service' };

test('/clusters?format=json: three healthy hosts with their counters; zero counters read as 0', (t) => {
  const hosts = parseClusters(fixture('edge-clusters.json'), 'usersvc');
  t.is(hosts.length, 3);
  t.true(hosts.every((h) => h.healthy && h.flags.length === 0));
  t.true(hosts.every((h) => /^172\.\d+\.\d+\.\d+:8080$/.test(h.address)));
  t.true(
    hosts.every((h) => h.counters.rq_total! > 0 && h.counters.rq_success === h.counters.rq_total),
  );
  t.true(hosts.every((h) => h.counters.rq_error === 0)); // present without a value in the JSON
});

test('/clusters?format=json: a host failing its active health check is unhealthy, with the reasons', (t) => {
  const hosts = parseClusters(fixture('edge-clusters-unhealthy.json'), 'usersvc');
  const sick = hosts.filter((h) => !h.healthy);
  t.is(sick.length, 1);
  t.deepEqual(sick[0]!.flags, ['failed_active_hc', 'active_hc_timeout']);
  t.is(hosts.filter((h) => h.healthy).length, 2);
});

test('/clusters?format=json: a cluster with no hosts is an empty list; an unknown cluster is an error', (t) => {
  t.deepEqual(parseClusters(fixture('edge-clusters-empty.json'), 'usersvc'), []);
  t.throws(() => parseClusters(fixture('edge-clusters.json'), 'nope'), {
    message: /no cluster named nope/,
  });
});

test('/stats?format=json: counters, and histograms as cumulative and interval quantiles', (t) => {
  const stats = parseStatsJson(fixture('edge-stats.json'));
  const total = stats.values.get('http.edge.downstream_rq_total')!;
  t.true(total > 0);
  t.is(
    total,
    ['1xx', '2xx', '3xx', '4xx', '5xx'].reduce(
      (sum, c) => sum + stats.values.get(`http.edge.downstream_rq_${c}`)!,
      0,
    ),
  );
  const q = stats.cumulative.get('cluster.usersvc.upstream_rq_time')!;
  t.true(q.get(50)! > 0 && q.get(99)! >= q.get(50)!);
  // The whole, unfiltered output parses too: every counter and gauge, every histogram.
  const full = parseStatsJson(fixture('edge-stats-full.json'));
  t.true(full.values.size > 500);
  t.true(full.cumulative.has('http.edge.downstream_rq_time'));
  t.is(full.values.get('http.edge.downstream_rq_total'), total);
});

test('/stats/prometheus: every sample of the full output parses, labels included', (t) => {
  const text = fixture('sidecar-prometheus-full.txt');
  const samples = parsePrometheus(text);
  t.is(samples.length, text.split('\n').filter((l) => l && !l.startsWith('#')).length);
  t.true(samples.every((s) => !Number.isNaN(s.value)));
  t.is(
    sampleValue(samples, 'envoy_listener_http_downstream_rq_xx', {
      envoy_http_conn_manager_prefix: 'ingress',
      envoy_listener_address: '0.0.0.0_8080',
      envoy_response_code_class: '5',
    }),
    0,
  );
  t.throws(() => parsePrometheus('not a sample line at all {'), {
    message: /not a Prometheus sample/,
  });
});

test('/stats/prometheus: the sidecar counts, its latency buckets and its database connections', (t) => {
  const samples = parsePrometheus(fixture('sidecar-prometheus.txt'));
  const total = sampleValue(samples, 'envoy_cluster_upstream_rq_total', LOCAL);
  const classes = ['2', '4', '5'].map((c) =>
    sampleValue(samples, 'envoy_cluster_upstream_rq_xx', {
      ...LOCAL,
      envoy_response_code_class: c,
    }),
  );
  t.true(total > 0);
  t.is(
    classes.reduce((a, b) => a + b),
    total,
  );
  const buckets = histogramBuckets(samples, 'envoy_cluster_upstream_rq_time', LOCAL);
  t.deepEqual(
    buckets.slice(0, 3).map(([le]) => le),
    [0.5, 1, 2],
  ); // the finer buckets envoy/sidecar.yaml sets
  t.is(buckets.at(-1)![0], Infinity);
  t.is(buckets.at(-1)![1], total);
  t.true(
    sampleValue(samples, 'envoy_cluster_upstream_cx_active', { envoy_cluster_name: 'postgres' }) >=
      1,
  );
});

test('histogramQuantile interpolates inside the bucket, as Prometheus does', (t) => {
  const b: Buckets = [
    [1, 0],
    [2, 10],
    [5, 20],
    [Infinity, 20],
  ];
  t.is(histogramQuantile(b, 0.5), 2); // rank 10: the top of the (1, 2] bucket
  t.is(histogramQuantile(b, 0.25), 1.5);
  t.is(histogramQuantile(b, 0.75), 3.5);
  t.is(
    histogramQuantile(
      [
        [1, 0],
        [Infinity, 0],
      ],
      0.5,
    ),
    null,
  );
  t.is(
    histogramQuantile(
      [
        [1, 0],
        [10, 0],
        [Infinity, 4],
      ],
      0.99,
    ),
    10,
  ); // beyond the last bound: the last bound
  t.deepEqual(
    bucketsDelta(
      [
        [1, 5],
        [2, 9],
        [Infinity, 9],
      ],
      [
        [1, 5],
        [2, 6],
        [Infinity, 6],
      ],
    ),
    [
      [1, 0],
      [2, 3],
      [Infinity, 3],
    ],
  );
});

/** A snapshot of the captured mesh, with the containers the test says are there. */
function capturedSnapshot(
  clustersFile: string,
  containers: Container[],
  takenAt = 1_700_000_000_000,
): Snapshot {
  const sidecar = parsePrometheus(fixture('sidecar-prometheus.txt'));
  return {
    takenAt,
    admin: 'http://127.0.0.1:8001',
    cluster: 'usersvc',
    hosts: parseClusters(fixture(clustersFile), 'usersvc'),
    canaryHosts: [],
    edge: parseStatsJson(fixture('edge-stats.json')),
    replicas: containers.map((container) => ({
      container,
      sidecar: container.state === 'running' ? sidecar : { error: 'container exited' },
    })),
  };
}
const container = (
  n: number,
  address: string | null,
  state = 'running',
  exitCode = 0,
  track: Container['track'] = 'stable',
): Container => ({
  id: `c${n}`,
  name: `usermesh_usersvc_${n}`,
  state,
  exitCode,
  address,
  version: track === 'canary' ? 'v2' : 'v1',
  track,
});

test('report: one row per replica, joined to the edge by address; unhealthy, exited and orphan hosts said so', (t) => {
  const hosts = parseClusters(fixture('edge-clusters-unhealthy.json'), 'usersvc');
  const sick = hosts.find((h) => !h.healthy)!;
  const well = hosts.filter((h) => h.healthy);
  const report = buildReport(
    capturedSnapshot('edge-clusters-unhealthy.json', [
      container(1, sick.address),
      container(2, well[0]!.address),
      container(3, null, 'exited', 137),
      container(4, '10.9.9.9:8080'),
    ]),
  );
  t.deepEqual(report.edge.replicas, { healthy: 2, total: 3 });
  const rows = new Map(report.replicas.map((r) => [r.name ?? r.address!, r]));
  const row = (key: string) => rows.get(key)!;
  t.is(row('usermesh_usersvc_1').health, 'unhealthy (failed_active_hc, active_hc_timeout)');
  t.is(row('usermesh_usersvc_1').edge!.sent, sick.counters.rq_total!);
  t.is(row('usermesh_usersvc_2').health, 'healthy');
  t.is(row('usermesh_usersvc_3').health, 'exited (137)');
  t.is(row('usermesh_usersvc_3').sidecar, null);
  t.is(row('usermesh_usersvc_3').error, 'container exited');
  t.is(row('usermesh_usersvc_4').health, 'not in edge');
  t.is(row(well[1]!.address).health, 'healthy, no container');
  const s = row('usermesh_usersvc_2').sidecar!;
  t.is(s['2xx'] + s['4xx'] + s['5xx'], s.requests);
  t.true(s.latencyMs.p50! > 0 && s.latencyMs.p99! >= s.latencyMs.p50!);
  t.true(s.db.active >= 1);
  t.is(report.windowSeconds, null);
  t.is(
    report.edge.requests.total,
    parseStatsJson(fixture('edge-stats.json')).values.get('http.edge.downstream_rq_total')!,
  );
});

test("report: with an earlier snapshot, counts become rates per second and latency is the window's", (t) => {
  const address = parseClusters(fixture('edge-clusters.json'), 'usersvc')[0]!.address;
  const before = capturedSnapshot('edge-clusters.json', [container(1, address)]);
  const now = capturedSnapshot(
    'edge-clusters.json',
    [container(1, address)],
    before.takenAt + 2000,
  );
  // 2 s later: 40 more requests through the edge, 20 more to this host, all answered in (5, 6] ms.
  now.edge.values.set(
    'http.edge.downstream_rq_total',
    now.edge.values.get('http.edge.downstream_rq_total')! + 40,
  );
  // ... of which 6 were creates or logins over their client's limit (a counter new since `before`).
  now.edge.values.set('limit_hash.http_local_rate_limit.rate_limited', 6);
  now.hosts[0]!.counters = {
    ...now.hosts[0]!.counters,
    rq_total: now.hosts[0]!.counters.rq_total! + 20,
    rq_success: now.hosts[0]!.counters.rq_success! + 20,
  };
  now.replicas[0]!.sidecar = (now.replicas[0]!.sidecar as ReturnType<typeof parsePrometheus>).map(
    (s) =>
      s.name === 'envoy_cluster_upstream_rq_time_bucket' &&
      s.labels.envoy_cluster_name === 'local_service' &&
      (s.labels.le === '+Inf' || Number(s.labels.le) >= 6)
        ? { ...s, value: s.value + 20 }
        : s,
  );
  const report = buildReport(now, before);
  t.is(report.windowSeconds, 2);
  t.is(report.edge.requests.total, 20);
  t.deepEqual(report.replicas[0]!.edge, { sent: 10, succeeded: 10 });
  t.is(report.edge.retries, 0);
  t.deepEqual(report.edge.rateLimited, { hash: 3, read: 0 });
  t.regex(renderReport(report), /rate limited \(429\) 3\/s: 3 creates and logins, 0 other/);
  const latency = report.replicas[0]!.sidecar!.latencyMs;
  t.true(latency.p50! > 5 && latency.p50! <= 6);
  t.true(latency.p99! > 5 && latency.p99! <= 6);
});

test("render: a header, the edge's figures, one line per replica; no replicas is said in words", (t) => {
  const hosts = parseClusters(fixture('edge-clusters.json'), 'usersvc');
  const text = renderReport(
    buildReport(
      capturedSnapshot(
        'edge-clusters.json',
        hosts.map((h, i) => container(i + 1, h.address)),
      ),
    ),
  );
  t.regex(text, /3 of 3 replicas healthy/);
  t.regex(
    text,
    /^REPLICA +VERSION +ADDRESS +HEALTH \(edge\) +SENT +OK +P50 \(sidecar\) +P99 +DB CONNS +CERT EXPIRES +REFUSED TLS\/RBAC$/m,
  );
  t.is(text.split('\n').filter((l) => l.startsWith('usermesh_usersvc_')).length, 3);
  const empty = renderReport(buildReport(capturedSnapshot('edge-clusters-empty.json', [])));
  t.regex(empty, /0 of 0 replicas healthy/);
  t.regex(empty, /no usersvc replicas: scale up with make scale N=3/);
});

test('a canary: its replicas joined to its own cluster, the two versions side by side with requests, success and p99', (t) => {
  const hosts = parseClusters(fixture('edge-clusters.json'), 'usersvc');
  const snap = capturedSnapshot('edge-clusters.json', [
    container(1, hosts[0]!.address),
    container(2, hosts[1]!.address),
    container(3, hosts[2]!.address, 'running', 0, 'canary'),
  ]);
  // The canary's host, as the edge lists it in usersvc_canary; its figures in the edge's stats.
  snap.hosts = hosts.slice(0, 2);
  snap.canaryHosts = [hosts[2]!];
  snap.edge.values
    .set('cluster.usersvc.upstream_rq_total', 180)
    .set('cluster.usersvc.upstream_rq_5xx', 0);
  snap.edge.values
    .set('cluster.usersvc_canary.upstream_rq_total', 20)
    .set('cluster.usersvc_canary.upstream_rq_5xx', 1);
  snap.edge.cumulative.set('cluster.usersvc_canary.upstream_rq_time', new Map([[99, 12.5]]));
  const report = buildReport(snap);
  t.like(report.tracks[0], {
    track: 'stable',
    versions: ['v1'],
    replicas: 2,
    requests: 180,
    successRate: 100,
  });
  t.like(report.tracks[1], {
    track: 'canary',
    cluster: 'usersvc_canary',
    versions: ['v2'],
    replicas: 1,
    requests: 20,
    successRate: 95,
    p99Ms: 12.5,
  });
  t.is(report.replicas[2]!.health, 'healthy', "found in the canary's cluster");
  const text = renderReport(report);
  t.regex(text, /^TRACK +VERSION +REPLICAS +REQUESTS +SUCCESS +P99 \(edge\)$/m);
  t.regex(text, /^canary +v2 +1 +20 +95 % +12\.5 ms$/m);
  t.notRegex(
    renderReport(
      buildReport(capturedSnapshot('edge-clusters.json', [container(1, hosts[0]!.address)])),
    ),
    /^TRACK/m,
    'no canary, no table',
  );
});

test('no mesh: one line on stderr and exit 1, no stack trace', async (t) => {
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      'node',
      ['bin/meshctl.js', 'stats', '--json'],
      {
        cwd: new URL('../../..', import.meta.url).pathname,
        env: { ...process.env, EDGE_ADMIN_URL: 'http://127.0.0.1:9' }, // the discard port: nothing listens
      },
      (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
  t.is(result.code, 1);
  t.is(
    result.stderr,
    "stats: the mesh is not up: nothing answers at http://127.0.0.1:9 (the edge's admin). Start it with: make up\n",
  );
});

test('trust: certificate expiry and refused callers per sidecar, from its ingress listener and RBAC counters', (t) => {
  // Lines as a sidecar's /stats/prometheus writes them (Envoy 1.40), after refusals.
  const trust = parsePrometheus(
    [
      'envoy_listener_ssl_connection_error{envoy_listener_address="0.0.0.0_8080"} 1',
      'envoy_listener_ssl_fail_verify_error{envoy_listener_address="0.0.0.0_8080"} 2',
      'envoy_listener_ssl_fail_verify_no_cert{envoy_listener_address="0.0.0.0_8080"} 3',
      'envoy_listener_ssl_fail_verify_san{envoy_listener_address="0.0.0.0_8080"} 0',
      'envoy_http_rbac_denied{envoy_http_conn_manager_prefix="ingress"} 4',
      'envoy_cluster_ssl_certificate_expiration_unix_time_seconds{envoy_tls_certificate="identity",envoy_cluster_name="postgres"} 1795481897',
      'envoy_listener_ssl_certificate_expiration_unix_time_seconds{envoy_tls_certificate="identity",envoy_listener_address="0.0.0.0_8080"} 1795481897',
      'envoy_listener_ssl_certificate_expiration_unix_time_seconds{envoy_tls_certificate="trust",envoy_listener_address="0.0.0.0_8080"} 2110754973',
    ].join('\n'),
  );
  const hosts = parseClusters(fixture('edge-clusters.json'), 'usersvc');
  const snap = capturedSnapshot(
    'edge-clusters.json',
    hosts.map((h, i) => container(i + 1, h.address)),
  );
  snap.replicas[0]!.sidecar = [
    ...(snap.replicas[0]!.sidecar as ReturnType<typeof parsePrometheus>),
    ...trust,
  ];
  snap.edge.values.set(
    'cluster.usersvc.ssl.certificate.identity.expiration_unix_time_seconds',
    1795481897,
  );
  snap.takenAt = (1795481897 - 5400) * 1000; // an hour and a half before they expire
  const report = buildReport(snap);
  t.deepEqual(report.replicas[0]!.sidecar!.trust, {
    certExpiresAt: 1795481897,
    tlsRefused: 6,
    rbacDenied: 4,
  });
  t.deepEqual(report.replicas[1]!.sidecar!.trust, {
    certExpiresAt: null,
    tlsRefused: 0,
    rbacDenied: 0,
  });
  const text = renderReport(report);
  t.regex(text, /the edge's certificate expires in 1\.5 h/);
  t.regex(text, /^usermesh_usersvc_1 .* in 1\.5 h +6\/4$/m);
  t.is(expiresIn(1795481897, 1795481897 * 1000 + 1), 'EXPIRED');
  t.is(expiresIn(1795481897, (1795481897 - 600) * 1000), 'in 10 min');
});

test("docs/observability.md's --json example has exactly the fields a report has", (t) => {
  /** Every key path of a JSON value, arrays read through their first element. */
  const paths = (value: unknown, at = ''): string[] => {
    if (Array.isArray(value)) return value.length ? paths(value[0], `${at}[]`) : [];
    if (value === null || typeof value !== 'object') return [at];
    return Object.entries(value).flatMap(([k, v]) => [`${at}.${k}`, ...paths(v, `${at}.${k}`)]);
  };
  const page = readFileSync(new URL('../../../docs/observability.md', import.meta.url), 'utf8');
  const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(page)![1]!) as unknown;
  const hosts = parseClusters(fixture('edge-clusters-unhealthy.json'), 'usersvc');
  const report = buildReport(
    capturedSnapshot('edge-clusters-unhealthy.json', [
      container(1, hosts.find((h) => h.healthy)!.address),
    ]),
  );
  const fields = (v: unknown) => [...new Set(paths(v))].sort();
  t.deepEqual(fields(example), fields(JSON.parse(JSON.stringify(report))));
});
