// The mesh's price list: what each feature of the shipped Envoy configs costs per request. The
// pair of proxies a request crosses (the edge, then the replica's sidecar) is run once as
// shipped and once per feature with that one feature taken out, each pair in containers of
// its own in front of the same Node process, under the same loads; and two floors beside them:
// two Envoys that only route, and two that only route over mutual TLS (mTLS is not optional
// here, so that is the floor the shipped pair is held to).
//
// This file is the pure part: the configs, and what each feature is. price-run.ts runs them,
// price-report.ts prints the list. The pair is built from the configs as they run: the edge's
// rendered bootstrap (read from a running edge), its live routes and clusters (.mesh/edge), and
// envoy/sidecar.yaml; the harness changes only what must change for a second pair to run beside
// the real one (ports, the listeners no request crosses, where the sidecar is).
import { parse } from 'yaml';
import { floorConfig } from './floor.js';
import { withoutTls } from './plaintext.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- Envoy configs are open-ended YAML trees */
type Tree = any;

/** The two proxies' configs, their live files, and their command-line extras. */
export interface Pair {
  edge: Tree; // bootstrap
  routes: Tree; // the RDS file (resources: [RouteConfiguration])
  clusters: Tree; // the CDS file (resources: [Cluster])
  sidecar: Tree; // bootstrap
  edgeArgs: string[];
  sidecarArgs: string[];
  /** Clients reach the edge over HTTPS (its `https` listener), not plain HTTP. */
  https?: boolean;
  /** Two edges on the same ports (SO_REUSEPORT), as compose runs them; one unless 2. */
  edges?: 1 | 2;
  /**
   * The tracers of the templates (envoy/edge.yaml and sidecar.yaml, sampling 0 %), which the
   * running configs carry only while the edge traces: for the extra that puts them back.
   */
  tracers: { edge: Tree; sidecar: Tree };
}

// Where the price list's sidecar listens, beside the replica's own sidecar (8080, admin 9901)
// in the replica's network namespace; and the edge, in a container of its own.
export const PRICE_SIDECAR_PORT = 8081;
export const PRICE_SIDECAR_ADMIN = 9911;
export const PRICE_EDGE_PORT = 8000;
export const PRICE_EDGE_HTTPS_PORT = 8443;

const clone = <T>(tree: T): T => JSON.parse(JSON.stringify(tree)) as T;
const listener = (bootstrap: Tree, name: string): Tree =>
  bootstrap.static_resources.listeners.find((l: Tree) => l.name === name);
const hcmOf = (l: Tree): Tree =>
  l.filter_chains[0].filters.find(
    (f: Tree) => f.name === 'envoy.filters.network.http_connection_manager',
  ).typed_config;
/** The port of the edge's admin, as rendered (the price list's own probes ask it). */
export const edgeAdminPort = (p: Pair): number =>
  Number(p.edge.admin.address.socket_address.port_value);
/** A second edge's bootstrap: the first one's, its admin on the next port. */
export function secondEdge(p: Pair): Tree {
  const edge = clone(p.edge);
  edge.admin.address.socket_address.port_value = edgeAdminPort(p) + 1;
  return edge;
}
/** The HTTP connection manager of the edge's (or the sidecar's) ingress listener. */
export const edgeHcm = (p: Pair): Tree => hcmOf(listener(p.edge, 'ingress'));
export const sidecarHcm = (p: Pair): Tree => hcmOf(listener(p.sidecar, 'ingress'));
const dropFilter = (hcm: Tree, name: string) => {
  hcm.http_filters = hcm.http_filters.filter((f: Tree) => f.name !== name);
};
/** Removes `key` wherever it appears in the tree. */
export function dropKey(tree: Tree, key: string): void {
  if (Array.isArray(tree)) tree.forEach((t) => dropKey(t, key));
  else if (tree && typeof tree === 'object') {
    delete tree[key];
    Object.values(tree).forEach((t) => dropKey(t, key));
  }
}
const usersvc = (p: Pair): Tree => p.clusters.resources.find((c: Tree) => c.name === 'usersvc');

/**
 * The shipped pair, as the harness runs it: the edge's `ingress` and `https` listeners (not its
 * admin window or metrics listener: no request of the list crosses them), routing to one address, the
 * replica's, where the price list's sidecar listens; the sidecar's `ingress` listener only, on
 * ports of its own (the replica's own sidecar keeps 8080 and 9901 in the same namespace).
 */
export function shippedPair(
  renderedEdge: string,
  liveRoutes: string,
  liveClusters: string,
  sidecarYaml: string,
  replicaAddress: string,
  templates: { edge: string; sidecar: string },
  edgeWorkers = 1,
): Pair {
  const edge = clone(parse(renderedEdge));
  edge.static_resources.listeners = [listener(edge, 'ingress'), listener(edge, 'https')];
  listener(edge, 'ingress').address.socket_address.port_value = PRICE_EDGE_PORT;
  listener(edge, 'https').address.socket_address.port_value = PRICE_EDGE_HTTPS_PORT;
  const clusters = clone(parse(liveClusters));
  clusters.resources = clusters.resources.filter((c: Tree) => c.name === 'usersvc');
  const p = { edge, routes: clone(parse(liveRoutes)), clusters } as Pair;
  usersvc(p).load_assignment.endpoints = [
    {
      lb_endpoints: [
        {
          endpoint: {
            address: {
              socket_address: { address: replicaAddress, port_value: PRICE_SIDECAR_PORT },
            },
          },
        },
      ],
    },
  ];
  const sidecar = clone(parse(sidecarYaml));
  sidecar.static_resources.listeners = [listener(sidecar, 'ingress')];
  listener(sidecar, 'ingress').address.socket_address.port_value = PRICE_SIDECAR_PORT;
  sidecar.admin.address.socket_address.port_value = PRICE_SIDECAR_ADMIN;
  const admin = sidecar.static_resources.clusters.find((c: Tree) => c.name === 'admin');
  admin.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value =
    PRICE_SIDECAR_ADMIN;
  // Zipkin's collector is found by DNS, and on the list's private network (--internal) a
  // lookup waits for resolvers it cannot reach, holding the edge's start: a static address
  // instead. Nothing the list sends is traced (0 %, as shipped without OBSERVE=1).
  for (const bootstrap of [edge, sidecar]) {
    const zipkin = bootstrap.static_resources.clusters.find((c: Tree) => c.name === 'zipkin');
    zipkin.type = 'STATIC';
    for (const key of ['dns_lookup_family', 'dns_refresh_rate', 'respect_dns_ttl'])
      delete zipkin[key];
    zipkin.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address =
      '127.0.0.1';
  }
  const edgeTracer = clone(hcmOf(listener(parse(templates.edge), 'ingress')).tracing);
  edgeTracer.random_sampling.value = 0;
  const tracers = {
    edge: edgeTracer,
    sidecar: clone(hcmOf(listener(parse(templates.sidecar), 'ingress')).tracing),
  };
  // As the entrypoints start them: the sidecar with one worker, the edge with EDGE_WORKERS.
  return {
    ...p,
    tracers,
    sidecar,
    edgeArgs: ['--concurrency', String(edgeWorkers)],
    sidecarArgs: ['--concurrency', '1'],
  };
}

/** A floor pair: two Envoys that only route (floor.ts), over mutual TLS when `mtls`. */
export function floorPair(shipped: Pair, replicaAddress: string, mtls: boolean): Pair {
  const edge = JSON.parse(
    floorConfig('0.0.0.0', PRICE_EDGE_PORT, {
      addresses: [replicaAddress],
      port: PRICE_SIDECAR_PORT,
      http2: true,
    }),
  );
  const sidecar = JSON.parse(
    floorConfig(replicaAddress, PRICE_SIDECAR_PORT, {
      addresses: ['127.0.0.1'],
      port: 5000,
      http2: false,
    }),
  );
  if (mtls) {
    // Certificates through SDS need the proxy to name itself, as the shipped ones do.
    edge.node = shipped.edge.node;
    sidecar.node = shipped.sidecar.node;
    // The shipped pair's own TLS settings, both ends: the same certificates, versions and checks.
    edge.static_resources.clusters[0].transport_socket = clone(usersvc(shipped).transport_socket);
    sidecar.static_resources.listeners[0].filter_chains[0].transport_socket = clone(
      listener(shipped.sidecar, 'ingress').filter_chains[0].transport_socket,
    );
  }
  return { ...shipped, edge, sidecar, routes: null, clusters: null };
}

/** What a probe of a running pair can ask (price-run.ts answers). */
export interface Probe {
  /** An admin path of the edge's or the sidecar's Envoy (stats, config_dump, ...). */
  admin(proxy: 'edge' | 'sidecar', path: string): Promise<string>;
  /** The machine's cores (Envoy's default worker count). */
  cores: number;
  /** How many of the pair's edges accepted a connection from a client so far. */
  edgesServing(): Promise<number>;
  /** What the edge wrote on stdout and stderr so far. */
  edgeLog(): Promise<string>;
  /** One HTTP/1.1 request from the load generator; the status and the headers, lower-cased. */
  request(
    to: 'edge' | 'sidecar-plaintext',
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: string }>;
}

export interface Feature {
  name: string;
  what: string; // what it is, in a line
  lose: string; // what turning it off loses
  /** Takes the feature out of the pair (in place). */
  off(p: Pair): void;
  /** Whether a running pair has the feature: the smoke test's proof that `off` took it out. */
  present(probe: Probe): Promise<boolean>;
}

const statCount = async (probe: Probe, proxy: 'edge' | 'sidecar', stat: RegExp) => {
  const stats = await probe.admin(proxy, '/stats');
  return [...stats.matchAll(new RegExp(`^${stat.source}: (\\d+)$`, 'gm'))].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
};
// Whether the proxy's running config holds `text` (the dump's own extension list names every
// filter Envoy was built with, so a filter is looked for by its config's full type URL).
const configHas = async (probe: Probe, proxy: 'edge' | 'sidecar', text: string) =>
  (await probe.admin(proxy, '/config_dump')).includes(text);
const typeUrl = (type: string) => `"type.googleapis.com/envoy.extensions.filters.http.${type}"`;

/** The shipped configs' features, each measured by taking it out alone. */
export const FEATURES: Feature[] = [
  {
    name: 'mtls',
    what: "mutual TLS from the edge to the sidecar, and the sidecar's identity check that needs it",
    lose: 'anything on appmesh can call a replica, and read or change what passes',
    off(p) {
      p.clusters = withoutTls(p.clusters);
      p.sidecar = withoutTls(p.sidecar);
    },
    present: async (probe) =>
      (await probe.request('sidecar-plaintext', '/user/health').catch(() => ({ status: 0 })))
        .status !== 200,
  },
  {
    name: 'rbac',
    what: "the sidecar's RBAC filter: only the edge's identity may call",
    lose: 'any mesh identity (Prometheus, the database) can call a replica',
    off: (p) => dropFilter(sidecarHcm(p), 'envoy.filters.http.rbac'),
    present: async (probe) =>
      (await statCount(probe, 'sidecar', /http\.ingress\.rbac\.allowed/)) > 0,
  },
  {
    name: 'access-log',
    what: "the edge's JSON access log line for every request, on stdout",
    lose: "each request's line (status, flags, duration, replica); the counters stay",
    off: (p) => {
      delete edgeHcm(p).access_log;
    },
    present: async (probe) => /"path":"\/user\/health"/.test(await probe.edgeLog()),
  },
  {
    name: 'rate-limits',
    what: "the edge's token buckets per client address, on every route",
    lose: 'a client can send as fast as the mesh answers, and guess passwords as fast as it hashes',
    off: (p) => {
      dropFilter(edgeHcm(p), 'envoy.filters.http.local_ratelimit');
      dropKey(p.routes, 'typed_per_filter_config');
    },
    present: async (probe) =>
      (await statCount(probe, 'edge', /limit_\w+\.http_local_rate_limit\.enabled/)) > 0,
  },
  {
    name: 'jwt',
    what: "the edge's token check (jwt_authn), which reads only DELETE and logout requests",
    lose: 'forged and expired tokens reach a replica, which still refuses them',
    off: (p) => dropFilter(edgeHcm(p), 'envoy.filters.http.jwt_authn'),
    present: (probe) => configHas(probe, 'edge', typeUrl('jwt_authn.v3.JwtAuthentication')),
  },
  {
    name: 'health-check-filter',
    what: "the sidecar's health-check filter: a draining replica's /user/health answered 503 by Envoy",
    lose: 'a rollout must wait for the edge to see the service itself fail',
    off: (p) => dropFilter(sidecarHcm(p), 'envoy.filters.http.health_check'),
    present: (probe) => configHas(probe, 'sidecar', typeUrl('health_check.v3.HealthCheck')),
  },
  {
    name: 'request-ids',
    what: 'an x-request-id made by the edge for every request, and kept by the sidecar',
    lose: "the id that ties a request's log lines together (edge, sidecar, Node); a trace needs it too",
    off: (p) => {
      edgeHcm(p).generate_request_id = false;
      delete sidecarHcm(p).preserve_external_request_id;
    },
    // (The service makes an id of its own when none comes: the answer's header proves nothing.)
    present: (probe) => configHas(probe, 'edge', '"generate_request_id": true'),
  },
  {
    name: 'header-hygiene',
    what: "the edge's header and path rules: mesh-only headers removed, paths normalised, underscores refused",
    lose: 'a client can set the trace and request ids, and reach routes by other spellings of a path',
    off: (p) => {
      const edge = edgeHcm(p);
      for (const key of [
        'early_header_mutation_extensions',
        'normalize_path',
        'merge_slashes',
        'path_with_escaped_slashes_action',
      ])
        delete edge[key];
      for (const hcm of [edge, sidecarHcm(p)])
        delete hcm.common_http_protocol_options?.headers_with_underscores_action;
    },
    present: async (probe) =>
      (await probe.request('edge', '/user/health', { x_user: 'a' })).status === 400,
  },
  {
    name: 'http-inspector',
    what: "the edge's HTTP inspector and 5 s first-bytes timeout on the plain listener",
    lose: 'a connection that sends nothing is held until the idle timeout (60 s), not 5 s',
    off: (p) => {
      const ingress = listener(p.edge, 'ingress');
      for (const key of [
        'listener_filters',
        'listener_filters_timeout',
        'continue_on_listener_filters_timeout',
      ])
        delete ingress[key];
    },
    present: async (probe) => (await statCount(probe, 'edge', /http_inspector\.http11_found/)) > 0,
  },
  {
    name: 'stats-config',
    what: "the sidecar's finer latency buckets and 1 s stats flush",
    lose: "make stats's p50/p99 of the service (Envoy's default buckets are 0.5, 1, 5, 10 ms ...)",
    off: (p) => {
      delete p.sidecar.stats_config;
      delete p.sidecar.stats_flush_interval;
    },
    present: (probe) => configHas(probe, 'sidecar', '"histogram_bucket_settings"'),
  },
  {
    name: 'retries-outlier',
    what: "the edge's retry policy on reads, its outlier detector and circuit breakers",
    lose: 'a read that meets a dying replica fails instead of going to another one',
    off: (p) => {
      dropKey(p.routes, 'retry_policy');
      delete usersvc(p).outlier_detection;
      delete usersvc(p).circuit_breakers;
    },
    present: (probe) => configHas(probe, 'edge', '"outlier_detection"'),
  },
  {
    name: 'health-checks',
    what: "the edge's active health check of every replica, once a second",
    lose: 'a new replica gets traffic before it answers, a dead one until requests fail',
    off: (p) => {
      delete usersvc(p).health_checks;
    },
    present: async (probe) =>
      (await statCount(probe, 'edge', /cluster\.usersvc\.health_check\.attempt/)) > 0,
  },
  {
    name: 'overload',
    what: "the edge's memory budget (overload manager) and 32 KiB buffers per connection",
    lose: 'a flood grows the edge until the kernel kills it, rather than slowing it down',
    off: (p) => {
      delete p.edge.overload_manager;
      delete listener(p.edge, 'ingress').per_connection_buffer_limit_bytes;
    },
    present: (probe) => configHas(probe, 'edge', '"overload_manager"'),
  },
  {
    name: 'local-replies',
    what: "the JSON error shape of the proxies' own answers (local_reply_config)",
    lose: "the edge's 404, 429, 503 and the sidecar's 403 become Envoy's plain text",
    off: (p) => {
      for (const hcm of [edgeHcm(p), sidecarHcm(p)]) delete hcm.local_reply_config;
    },
    present: (probe) => configHas(probe, 'edge', '"local_reply_config"'),
  },
];

/**
 * Settings the list also prices, not features: one change each, set rather than taken out.
 * The edge's worker count: EDGE_WORKERS (1) as shipped, against Envoy's default of one per core.
 */
export const OPTIONS: Feature[] = [
  {
    name: 'edge-worker-per-core',
    what: "the edge with one worker thread per core (Envoy's default) instead of EDGE_WORKERS (1)",
    lose: 'on few cores, more edge threads than cores (two edges): they take turns, at more CPU per request',
    off: (p) => {
      p.edgeArgs = [];
    },
    present: async (probe) =>
      (await statCount(probe, 'edge', /server\.concurrency/)) !== probe.cores,
  },
];

/**
 * Costs the list adds to the shipped pair rather than takes out: each is priced as the pair with
 * it less the shipped pair, and proven by the pair with it having it and the shipped pair not.
 * (`off` puts it in; `lose` says what it buys.) HTTPS from clients: the same pair, its load sent
 * to the edge's `https` listener (vegeta speaks HTTP/2 there, as curl and browsers do; wrk
 * HTTP/1.1), over kept-alive connections, so a handshake is rare. The second edge: the list's
 * shipped pair has one edge, compose runs two on the same ports; both edges' CPU and memory
 * are counted.
 */
export const EXTRAS: Feature[] = [
  {
    name: 'https-clients',
    what: "clients over HTTPS (the edge's 8443 listener: TLS 1.3, kept-alive connections) instead of plain HTTP",
    lose: 'what a client sends and gets is private and cannot be changed on the way',
    off: (p) => {
      p.https = true;
    },
    present: async (probe) =>
      (await statCount(probe, 'edge', /listener\.[^:\s]*_8443\.ssl\.handshake/)) > 0,
  },
  {
    name: 'tracers',
    what: "both proxies' Zipkin tracers, sampling nothing: what the edge and the sidecars carried at 0 % before they left them out",
    lose: 'nothing the mesh uses: the tracers come back with make up OBSERVE=1, which traces every request',
    off: (p) => {
      edgeHcm(p).tracing = clone(p.tracers.edge);
      sidecarHcm(p).tracing = clone(p.tracers.sidecar);
    },
    present: (probe) =>
      configHas(probe, 'sidecar', '"type.googleapis.com/envoy.config.trace.v3.ZipkinConfig"'),
  },
  {
    name: 'second-edge',
    what: 'a second edge on the same ports, as compose runs two (the kernel spreads connections over both)',
    lose: 'an edge can restart, roll or crash with the other still answering: no request lost',
    off: (p) => {
      p.edges = 2;
    },
    present: async (probe) => (await probe.edgesServing()) === 2,
  },
  {
    // Compose's shape before EDGE_WORKERS: against `second-edge`, the worker count's price where
    // it matters, two edges on the machine's cores.
    name: 'two-edges-worker-per-core',
    what: "two edges on the same ports, each with a worker per core (Envoy's default): compose's shape before EDGE_WORKERS",
    lose: "as second-edge; read against it: what a worker per core costs or buys with compose's two edges",
    off: (p) => {
      p.edges = 2;
      p.edgeArgs = [];
    },
    present: async (probe) =>
      (await probe.edgesServing()) === 2 &&
      (await statCount(probe, 'edge', /server\.concurrency/)) === probe.cores,
  },
];

/** A configuration the list measures: the shipped pair, a floor, or the pair with one change. */
export interface Variant {
  name: string; // shipped, floor, mtls-floor, or `no-<feature>`, or an option's name
  pair: Pair;
  feature?: Feature;
}

/** Every variant's name, in the list's order. */
export const VARIANT_NAMES = [
  'shipped',
  'floor',
  'mtls-floor',
  ...FEATURES.map((f) => `no-${f.name}`),
  ...OPTIONS.map((f) => f.name),
  ...EXTRAS.map((f) => f.name),
];

/** Every variant, shipped first: the floors, then one per feature and option. */
export function variants(shipped: Pair, replicaAddress: string): Variant[] {
  const changed = (f: Feature, prefix: string): Variant => {
    const pair = clone(shipped);
    f.off(pair);
    // The features are taken out of the plain listener's connection manager; HTTPS from clients
    // meets the same one (in edge.yaml, one YAML anchor for both).
    listener(pair.edge, 'https').filter_chains[0].filters = clone(
      listener(pair.edge, 'ingress').filter_chains[0].filters,
    );
    return { name: `${prefix}${f.name}`, pair, feature: f };
  };
  return [
    { name: 'shipped', pair: shipped },
    { name: 'floor', pair: floorPair(shipped, replicaAddress, false) },
    { name: 'mtls-floor', pair: floorPair(shipped, replicaAddress, true) },
    ...FEATURES.map((f) => changed(f, 'no-')),
    ...OPTIONS.map((f) => changed(f, '')),
    ...EXTRAS.map((f) => changed(f, '')),
  ];
}
