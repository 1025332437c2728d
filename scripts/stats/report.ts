// Turns snapshots of the mesh into the report `make stats` prints: totals since start from one
// snapshot, or per-second rates between two (--watch). Pure: the tests feed it captured output.
import {
  bucketsDelta,
  histogramBuckets,
  histogramQuantile,
  sampleValue,
  type Host,
  type Sample,
} from '../lib/envoy-admin.js';
import type { Snapshot } from './collect.js';
import { formatTable } from '../lib/table.js';

export interface Latency {
  p50: number | null; // ms
  p99: number | null;
}

export interface ReplicaRow {
  name: string | null; // the container's name; null for an address the edge still lists but no container has
  address: string | null;
  version: string | null; // the service version the replica runs
  track: 'stable' | 'canary' | null;
  /** healthy | unhealthy (flags) | not in edge (running, not yet or no longer a host of the edge) | exited (code) | ... */
  health: string;
  edge: { sent: number; succeeded: number } | null; // requests the edge sent this replica, and how many did not fail
  sidecar: {
    requests: number; // requests the sidecar passed to the service (health checks not counted)
    '2xx': number;
    '4xx': number;
    '5xx': number;
    latencyMs: Latency; // the service's response time, measured by its sidecar
    db: { active: number; opened: number; connectFailures: number }; // PostgreSQL connections through the sidecar
    trust: {
      certExpiresAt: number | null; // unix seconds: when the certificate the sidecar presents expires
      tlsRefused: number; // handshakes its ingress refused: no client certificate, an untrusted or expired one, not TLS
      rbacDenied: number; // callers with a valid certificate of an identity other than the edge's
    };
  } | null;
  error?: string; // why the sidecar's stats could not be read
}

/** One set of replicas the edge routes to (the stable ones; a canary's): the version side by side. */
export interface Track {
  track: 'stable' | 'canary';
  cluster: string;
  versions: string[]; // the versions its replicas run (more than one during a rollout)
  replicas: number; // containers running
  requests: number; // the edge sent it, retries included
  successRate: number | null; // the share of those not answered 5xx, in percent
  p99Ms: number | null; // its answers' time, as the edge timed them
}

export interface Report {
  time: string;
  /** null: counts are totals since each Envoy started; a number: counts are per second over that many seconds. */
  windowSeconds: number | null;
  edge: {
    admin: string;
    cluster: string;
    replicas: { healthy: number; total: number };
    requests: { total: number; '2xx': number; '4xx': number; '5xx': number }; // as the clients got them
    retries: number;
    retriesSucceeded: number;
    retriesRefused: number; // retry budget or retry limit said no
    /** Answered 429 by the edge's per-client limits: creates and logins, and everything else. */
    rateLimited: { hash: number; read: number };
    connectFailures: number;
    healthCheckFailures: number;
    outlierEjections: number;
    /** The edge's upstream time. Totals: since start. Rates: over Envoy's last flush interval (5 s). */
    latencyMs: Latency;
    certExpiresAt: number | null; // unix seconds: when the certificate the edge presents expires
  };
  /** The stable track, and the canary's while one runs or the edge still knows it. */
  tracks: Track[];
  replicas: ReplicaRow[];
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const ms = (v: number | null | undefined) => (v === null || v === undefined ? null : round(v, 2));

/** The two snapshots a report compares, and how a figure is read between them. */
interface Window {
  now: Snapshot;
  before?: Snapshot;
  /** null: totals since each Envoy started; else the seconds between the two snapshots. */
  seconds: number | null;
  /** A counter as a total, or as a rate per second since `before`. */
  count: (current: number, previous: number | undefined) => number;
  /** One of the edge's counters, counted so. */
  edgeCount: (name: string) => number;
  /** The edge's time for a cluster's answers at quantile q, in ms: since start, or lately. */
  edgeTimeMs: (cluster: string, q: number) => number | null;
}

function windowOf(now: Snapshot, before?: Snapshot): Window {
  const seconds = before ? (now.takenAt - before.takenAt) / 1000 : null;
  const count = (current: number, previous: number | undefined) =>
    seconds === null ? current : round(Math.max(0, current - (previous ?? 0)) / seconds);
  const edgeCount = (name: string) =>
    count(now.edge.values.get(name) ?? 0, before?.edge.values.get(name));
  const edgeTimeMs = (cluster: string, q: number) =>
    ms(
      (seconds === null ? now.edge.cumulative : now.edge.interval)
        .get(`cluster.${cluster}.upstream_rq_time`)
        ?.get(q),
    );
  return { now, before, seconds, count, edgeCount, edgeTimeMs };
}

/** A report from `now`, with rates against `before` when given. */
export function buildReport(now: Snapshot, before?: Snapshot): Report {
  const w = windowOf(now, before);
  const canaryKnown =
    now.canaryHosts.length > 0 || now.replicas.some((r) => r.container.track === 'canary');
  return {
    time: new Date(now.takenAt).toISOString(),
    windowSeconds: w.seconds === null ? null : round(w.seconds, 2),
    edge: edgeFigures(w),
    tracks: [
      trackOf(w, 'stable', now.cluster),
      ...(canaryKnown ? [trackOf(w, 'canary', `${now.cluster}_canary`)] : []),
    ],
    replicas: replicaRows(w),
  };
}

/** What the edge did: its clients' answers, retries, limits, failures, time. */
function edgeFigures({ now, edgeCount, edgeTimeMs }: Window): Report['edge'] {
  const cluster = (name: string) => edgeCount(`cluster.${now.cluster}.${name}`);
  return {
    admin: now.admin,
    cluster: now.cluster,
    replicas: { healthy: now.hosts.filter((h) => h.healthy).length, total: now.hosts.length },
    requests: {
      total: edgeCount('http.edge.downstream_rq_total'),
      '2xx': edgeCount('http.edge.downstream_rq_2xx'),
      '4xx': edgeCount('http.edge.downstream_rq_4xx'),
      '5xx': edgeCount('http.edge.downstream_rq_5xx'),
    },
    retries: cluster('upstream_rq_retry'),
    retriesSucceeded: cluster('upstream_rq_retry_success'),
    retriesRefused:
      cluster('upstream_rq_retry_overflow') + cluster('upstream_rq_retry_limit_exceeded'),
    rateLimited: {
      hash: edgeCount('limit_hash.http_local_rate_limit.rate_limited'),
      read: edgeCount('limit_read.http_local_rate_limit.rate_limited'),
    },
    connectFailures: cluster('upstream_cx_connect_fail'),
    healthCheckFailures: cluster('health_check.failure'),
    outlierEjections: cluster('outlier_detection.ejections_enforced_total'),
    latencyMs: { p50: edgeTimeMs(now.cluster, 50), p99: edgeTimeMs(now.cluster, 99) },
    certExpiresAt:
      now.edge.values.get(
        `cluster.${now.cluster}.ssl.certificate.identity.expiration_unix_time_seconds`,
      ) || null,
  };
}

/** One set of replicas the edge routes to, and the versions it runs. */
function trackOf(
  { now, edgeCount, edgeTimeMs }: Window,
  name: Track['track'],
  cluster: string,
): Track {
  const requests = edgeCount(`cluster.${cluster}.upstream_rq_total`);
  const failed = edgeCount(`cluster.${cluster}.upstream_rq_5xx`);
  const running = now.replicas.filter(
    (r) => r.container.track === name && r.container.state === 'running',
  );
  return {
    track: name,
    cluster,
    versions: [...new Set(running.map((r) => r.container.version))].sort(),
    replicas: running.length,
    requests,
    successRate: requests > 0 ? round((100 * (requests - failed)) / requests, 2) : null,
    p99Ms: edgeTimeMs(cluster, 99),
  };
}

/** A row per replica container, then one per address the edge lists that no container has. */
function replicaRows({ now, before, count }: Window): ReplicaRow[] {
  // What the edge sent one host: counters from /clusters, matched by address.
  const sentTo = (host: Host) => {
    const was = before?.hosts.find((h) => h.address === host.address)?.counters;
    return {
      sent: count(host.counters.rq_total ?? 0, was?.rq_total),
      succeeded: count(host.counters.rq_success ?? 0, was?.rq_success),
    };
  };
  const hostHealth = (host: Host) =>
    host.healthy ? 'healthy' : `unhealthy (${host.flags.join(', ')})`;

  const rows: ReplicaRow[] = now.replicas.map(({ container, sidecar }) => {
    const host = (container.track === 'canary' ? now.canaryHosts : now.hosts).find(
      (h) => h.address === container.address,
    );
    const previous = before?.replicas.find((r) => r.container.id === container.id)?.sidecar;
    const health =
      container.state !== 'running'
        ? `${container.state} (${container.exitCode})`
        : !host
          ? 'not in edge'
          : hostHealth(host);
    const row: ReplicaRow = {
      name: container.name,
      address: container.address,
      version: container.version,
      track: container.track,
      health,
      edge: host ? sentTo(host) : null,
      sidecar: null,
    };
    if (Array.isArray(sidecar))
      row.sidecar = sidecarFigures(sidecar, Array.isArray(previous) ? previous : undefined, count);
    else row.error = sidecar.error;
    return row;
  });
  // Hosts the edge still lists without a container: a replica that went away a moment ago.
  const addresses = new Set(now.replicas.map((r) => r.container.address));
  for (const host of [...now.hosts, ...now.canaryHosts].filter((h) => !addresses.has(h.address))) {
    rows.push({
      name: null,
      address: host.address,
      version: null,
      track: null,
      health: `${hostHealth(host)}, no container`,
      edge: sentTo(host),
      sidecar: null,
    });
  }
  return rows;
}

function sidecarFigures(
  now: Sample[],
  before: Sample[] | undefined,
  count: (current: number, previous: number | undefined) => number,
): ReplicaRow['sidecar'] {
  const local = { envoy_cluster_name: 'local_service' };
  const db = { envoy_cluster_name: 'postgres' };
  const ingress = { envoy_listener_address: '0.0.0.0_8080' };
  const counter = (name: string, labels: Record<string, string>) =>
    count(sampleValue(now, name, labels), before && sampleValue(before, name, labels));
  const byClass = (c: string) =>
    counter('envoy_cluster_upstream_rq_xx', { ...local, envoy_response_code_class: c });
  // Latency over the window is the histogram of the window: the difference of the buckets.
  let buckets = histogramBuckets(now, 'envoy_cluster_upstream_rq_time', local);
  if (before)
    buckets = bucketsDelta(
      buckets,
      histogramBuckets(before, 'envoy_cluster_upstream_rq_time', local),
    );
  const q = (p: number) => {
    const v = histogramQuantile(buckets, p);
    return v === null ? null : round(v, 2);
  };
  return {
    requests: counter('envoy_cluster_upstream_rq_total', local),
    '2xx': byClass('2'),
    '4xx': byClass('4'),
    '5xx': byClass('5'),
    latencyMs: { p50: q(0.5), p99: q(0.99) },
    db: {
      active: sampleValue(now, 'envoy_cluster_upstream_cx_active', db), // a gauge: always the current value
      opened: counter('envoy_cluster_upstream_cx_total', db),
      connectFailures: counter('envoy_cluster_upstream_cx_connect_fail', db),
    },
    trust: {
      certExpiresAt:
        sampleValue(now, 'envoy_listener_ssl_certificate_expiration_unix_time_seconds', {
          ...ingress,
          envoy_tls_certificate: 'identity',
        }) || null,
      // connection_error counts failed handshakes other than failed verifications: no overlap.
      tlsRefused: [
        'connection_error',
        'fail_verify_error',
        'fail_verify_no_cert',
        'fail_verify_san',
      ]
        .map((s) => counter(`envoy_listener_ssl_${s}`, ingress))
        .reduce((a, b) => a + b, 0),
      rbacDenied: counter('envoy_http_rbac_denied', { envoy_http_conn_manager_prefix: 'ingress' }),
    },
  };
}

/** "in 23.5 h", "in 12 min", "EXPIRED": how long until a certificate expires (unix seconds). */
export function expiresIn(at: number | null, nowMs: number): string {
  if (at === null) return '-';
  const seconds = at - nowMs / 1000;
  if (seconds <= 0) return 'EXPIRED';
  return seconds >= 3600 ? `in ${round(seconds / 3600)} h` : `in ${Math.floor(seconds / 60)} min`;
}

const fmtMs = (v: number | null) => (v === null ? '-' : `${v} ms`);

/** The report as a few lines of text and one table, for a terminal. */
export function renderReport(r: Report): string {
  const e = r.edge;
  const per = r.windowSeconds === null ? '' : '/s';
  const lines = [
    // One edge's window on the host (a swarm manager), or compose's edges by name: `a + b`.
    `${/^https?:/.test(e.admin) ? 'edge' : 'edges'} ${e.admin.replace(/^https?:\/\//, '')}, cluster ${e.cluster}: ${e.replicas.healthy} of ${e.replicas.total} replicas healthy` +
      (r.windowSeconds === null
        ? '   (totals since each Envoy started)'
        : `   (per second, over the last ${r.windowSeconds} s)`),
    `  requests ${e.requests.total}${per}: 2xx ${e.requests['2xx']}, 4xx ${e.requests['4xx']}, 5xx ${e.requests['5xx']}` +
      `   retries ${e.retries} (${e.retriesSucceeded} succeeded, ${e.retriesRefused} refused)`,
    `  rate limited (429) ${e.rateLimited.hash + e.rateLimited.read}${per}: ${e.rateLimited.hash} creates and logins, ${e.rateLimited.read} other`,
    `  connect failures ${e.connectFailures}, health-check failures ${e.healthCheckFailures}, outlier ejections ${e.outlierEjections}` +
      `   upstream p50 ${fmtMs(e.latencyMs.p50)}, p99 ${fmtMs(e.latencyMs.p99)}`,
    `  mutual TLS: the edge's certificate expires ${expiresIn(e.certExpiresAt, Date.parse(r.time))}`,
    '',
  ];
  if (r.tracks.length > 1 || r.tracks.some((x) => x.versions.length > 1)) {
    // A canary, or a rollout half way: the versions side by side, as the edge saw them.
    const rows = r.tracks.map((x) => [
      x.track,
      x.versions.join(', ') || '-',
      String(x.replicas),
      `${x.requests}${per}`,
      x.successRate === null ? '-' : `${x.successRate} %`,
      fmtMs(x.p99Ms),
    ]);
    lines.push(
      formatTable(
        ['TRACK', 'VERSION', 'REPLICAS', `REQUESTS${per}`, 'SUCCESS', 'P99 (edge)'],
        rows,
      ),
      '',
    );
  }
  const header = [
    'REPLICA',
    'VERSION',
    'ADDRESS',
    'HEALTH (edge)',
    `SENT${per}`,
    `OK${per}`,
    'P50 (sidecar)',
    'P99',
    'DB CONNS',
    'CERT EXPIRES',
    `REFUSED TLS/RBAC${per}`,
  ];
  const cells = r.replicas.map((x) => [
    x.name ?? '-',
    x.version ?? '-',
    x.address ?? '-',
    x.health,
    x.edge ? String(x.edge.sent) : '-',
    x.edge ? String(x.edge.succeeded) : '-',
    x.sidecar ? fmtMs(x.sidecar.latencyMs.p50) : '-',
    x.sidecar ? fmtMs(x.sidecar.latencyMs.p99) : '-',
    x.sidecar ? String(x.sidecar.db.active) : x.error ? `(${x.error})` : '-',
    x.sidecar ? expiresIn(x.sidecar.trust.certExpiresAt, Date.parse(r.time)) : '-',
    x.sidecar ? `${x.sidecar.trust.tlsRefused}/${x.sidecar.trust.rbacDenied}` : '-',
  ]);
  if (cells.length === 0)
    return [...lines, `no ${e.cluster} replicas: scale up with make scale N=3`].join('\n');
  return [...lines, formatTable(header, cells)].join('\n');
}
