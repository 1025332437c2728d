// Parsers for the three Envoy admin outputs the tools read (make stats, make up). Pure functions,
// so the tests run them on output captured from the real Envoy (scripts/stats/test/fixtures/).
//   /clusters?format=json   one entry per upstream host: address, health flags, counters
//   /stats?format=json      counters and gauges, and histograms as Envoy's computed quantiles
//   /stats/prometheus       the same counters, and histograms as cumulative buckets

/** One upstream host of a cluster, as /clusters?format=json describes it. */
export interface Host {
  address: string; // ip:port
  healthy: boolean;
  /** Why it is not healthy, in /clusters' own words (failed_active_hc, ...); empty when healthy. */
  flags: string[];
  counters: Record<string, number>; // rq_total, rq_success, rq_error, rq_timeout, cx_connect_fail, cx_active, ...
}

interface ClustersJson {
  cluster_statuses?: {
    name: string;
    host_statuses?: {
      address?: { socket_address?: { address?: string; port_value?: number } };
      stats?: { name: string; value?: string }[];
      health_status?: Record<string, unknown>;
    }[];
  }[];
}

// health_status booleans and the flag /clusters (text) prints for each.
const HEALTH_FLAGS: Record<string, string> = {
  failed_active_health_check: 'failed_active_hc',
  failed_outlier_check: 'failed_outlier_check',
  failed_active_degraded_check: 'degraded_active_hc',
  pending_dynamic_removal: 'pending_dynamic_removal',
  pending_active_hc: 'pending_active_hc',
  excluded_via_immediate_hc_fail: 'excluded_via_immediate_hc_fail',
  active_hc_timeout: 'active_hc_timeout',
};

/** The hosts of one cluster; [] when the cluster has none. Throws if the cluster is unknown. */
export function parseClusters(text: string, cluster: string): Host[] {
  const json = JSON.parse(text) as ClustersJson;
  const found = json.cluster_statuses?.find((c) => c.name === cluster);
  if (!found) throw new Error(`Envoy has no cluster named ${cluster}`);
  return (found.host_statuses ?? []).map((h) => {
    const status = h.health_status ?? {};
    const flags = Object.entries(HEALTH_FLAGS)
      .filter(([key]) => status[key] === true)
      .map(([, flag]) => flag);
    const eds = typeof status.eds_health_status === 'string' ? status.eds_health_status : 'HEALTHY';
    if (eds !== 'HEALTHY') flags.push(`eds_${eds.toLowerCase()}`);
    // Counters that are zero have no "value" (proto3 JSON leaves out default values).
    const counters = Object.fromEntries((h.stats ?? []).map((s) => [s.name, Number(s.value ?? 0)]));
    const socket = h.address?.socket_address ?? {};
    return {
      address: `${socket.address}:${socket.port_value}`,
      healthy: flags.length === 0,
      flags,
      counters,
    };
  });
}

/** A histogram's quantiles by percentile (50, 99, ...), in ms; null when nothing was recorded. */
export type Quantiles = Map<number, number | null>;

export interface StatsJson {
  values: Map<string, number>; // counters and gauges by Envoy stat name
  cumulative: Map<string, Quantiles>; // since Envoy started
  interval: Map<string, Quantiles>; // over Envoy's last stats flush interval (5 s by default)
}

interface StatsJsonRaw {
  stats?: (
    | { name: string; value: number }
    | {
        histograms: {
          supported_quantiles: number[];
          computed_quantiles: {
            name: string;
            values: { cumulative: number | null; interval: number | null }[];
          }[];
        };
      }
  )[];
}

export function parseStatsJson(text: string): StatsJson {
  const json = JSON.parse(text) as StatsJsonRaw;
  const out: StatsJson = { values: new Map(), cumulative: new Map(), interval: new Map() };
  for (const entry of json.stats ?? []) {
    if ('histograms' in entry) {
      const { supported_quantiles: qs, computed_quantiles: hs } = entry.histograms;
      for (const h of hs) {
        out.cumulative.set(h.name, new Map(qs.map((q, i) => [q, h.values[i]?.cumulative ?? null])));
        out.interval.set(h.name, new Map(qs.map((q, i) => [q, h.values[i]?.interval ?? null])));
      }
    } else {
      out.values.set(entry.name, entry.value);
    }
  }
  return out;
}

/** One sample of the Prometheus text format: `name{label="value",...} 12`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample: ${line.slice(0, 80)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? '').matchAll(LABEL))
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`; 0 if none. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const s = samples.find(
    (x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v),
  );
  return s?.value ?? 0;
}

/** Cumulative bucket counts of a Prometheus histogram: [upper bound in ms, count ≤ bound]. */
export type Buckets = [number, number][];

export function histogramBuckets(
  samples: Sample[],
  name: string,
  labels: Record<string, string>,
): Buckets {
  return samples
    .filter(
      (x) =>
        x.name === `${name}_bucket` && Object.entries(labels).every(([k, v]) => x.labels[k] === v),
    )
    .map((x): [number, number] => [
      x.labels.le === '+Inf' ? Infinity : Number(x.labels.le),
      x.value,
    ])
    .sort((a, b) => a[0] - b[0]);
}

/** Bucket counts of `now` minus `before`: the histogram of what happened in between. */
export function bucketsDelta(now: Buckets, before: Buckets): Buckets {
  return now.map(([le, count]) => [le, count - (before.find(([b]) => b === le)?.[1] ?? 0)]);
}

/**
 * The q-quantile (0..1) of a histogram, interpolating linearly inside the bucket it falls in,
 * as Prometheus's histogram_quantile() does. null when the histogram is empty. A quantile in
 * the +Inf bucket is reported as the highest finite bound.
 */
export function histogramQuantile(buckets: Buckets, q: number): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      const inBucket = count - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = count;
  }
  return lower;
}

/**
 * One view of a cluster's hosts from several edges' /clusters: counters summed; a host is
 * healthy only if every edge lists it as healthy (flag `not_in_every_edge` while one has not
 * found it yet), since any edge may take the next client.
 */
export function mergeHosts(perEdge: Host[][]): Host[] {
  const merged = new Map<string, Host>();
  for (const hosts of perEdge) {
    for (const h of hosts) {
      const m = merged.get(h.address) ?? {
        address: h.address,
        healthy: true,
        flags: [],
        counters: {},
      };
      m.flags = [...new Set([...m.flags, ...h.flags])];
      for (const [name, value] of Object.entries(h.counters))
        m.counters[name] = (m.counters[name] ?? 0) + value;
      merged.set(h.address, m);
    }
  }
  for (const m of merged.values()) {
    if (perEdge.some((hosts) => !hosts.some((h) => h.address === m.address)))
      m.flags.push('not_in_every_edge');
    m.healthy = m.flags.length === 0;
  }
  // In the order the first edge lists them, then any it does not.
  return [...merged.values()];
}

/**
 * One view of several edges' /stats: counters and gauges summed, but for a certificate's
 * expiry (the soonest); a histogram's quantiles are the highest of the edges' (Envoy's computed
 * quantiles cannot be merged: this is the slower edge's view).
 */
export function mergeStats(perEdge: StatsJson[]): StatsJson {
  const out: StatsJson = { values: new Map(), cumulative: new Map(), interval: new Map() };
  for (const stats of perEdge) {
    for (const [name, value] of stats.values) {
      const was = out.values.get(name);
      if (was === undefined) out.values.set(name, value);
      else
        out.values.set(
          name,
          name.endsWith('expiration_unix_time_seconds') ? Math.min(was, value) : was + value,
        );
    }
    for (const kind of ['cumulative', 'interval'] as const) {
      for (const [name, quantiles] of stats[kind]) {
        const was = out[kind].get(name) ?? new Map<number, number | null>();
        for (const [q, v] of quantiles) {
          const w = was.get(q) ?? null;
          was.set(q, v === null ? w : w === null ? v : Math.max(v, w));
        }
        out[kind].set(name, was);
      }
    }
  }
  return out;
}
