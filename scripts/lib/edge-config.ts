// The edge's live configuration: its routes (RDS) and clusters (CDS), written from the templates
// envoy/edge-routes.yaml and envoy/edge-clusters.yaml into .mesh/edge/, which the edge watches.
// Fills in the rate limits (each edge process's share), and while a canary runs adds its
// cluster and its routes (a weighted split, and x-canary: 1 always to the canary). Pure but for
// writeLiveFile: the tests render it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { CanaryState } from './canary.js';
import { UsageError } from './errors.js';
import { publishedPort } from './ports.js';
import { ROOT } from './paths.js';

export { UsageError };

export interface Limits {
  EDGE_LIMIT_HASH_PER_S: number; // creates and logins per second and client address ...
  EDGE_LIMIT_HASH_BURST: number; // ... and how many may come at once
  EDGE_LIMIT_READ_PER_S: number; // every other /user request, per second and client address
  EDGE_LIMIT_READ_BURST: number;
}

/** The defaults: docs/architecture.md, "The edge's defences". */
export const DEFAULT_LIMITS: Limits = {
  EDGE_LIMIT_HASH_PER_S: 1,
  EDGE_LIMIT_HASH_BURST: 10,
  EDGE_LIMIT_READ_PER_S: 100,
  EDGE_LIMIT_READ_BURST: 200,
};

/**
 * The edge's per-client limits, lifted: the fuzzer and the bench send far past a client's fair
 * share from one address. The next meshctl up without them puts the defaults back.
 */
export const LIFTED_LIMITS = {
  EDGE_LIMIT_HASH_PER_S: '1000000',
  EDGE_LIMIT_HASH_BURST: '1000000',
  EDGE_LIMIT_READ_PER_S: '1000000',
  EDGE_LIMIT_READ_BURST: '1000000',
};

export interface EdgeSettings {
  limits: Limits;
  /**
   * How many edge processes share the clients (compose: 2, on one set of ports; Kubernetes: 2
   * pods; Swarm: 1). Each enforces its share of the limits, so that a client whose connections
   * land on several edges still gets no more than the limits say in all.
   */
  edges: number;
  /** null: no canary. Otherwise the percentage of traffic (0 to 100) it gets by weight. */
  canaryWeight: number | null;
  /**
   * Who may pin a request to the canary with x-canary: the mesh's own tools, with the key of
   * this canary (lib/canary.ts); and clients with x-canary: 1 only if `clients`. None: nobody.
   */
  canaryPin?: { key: string; clients: boolean };
  /** What plain HTTP gets (EDGE_HTTP); the default serves it, as local and public do. */
  http?: PlainHttp;
}

/**
 * EDGE_HTTP: what the plain port (8000) does. local (the default): serves, published on the
 * host's loopback only; redirect: a 308 to HTTPS for every request, published on every
 * address; public: serves, on every address (behind a balancer that terminates TLS).
 * httpsPort: where the redirect points (EDGE_HTTPS_PORT, the published HTTPS port).
 */
export interface PlainHttp {
  mode: 'local' | 'redirect' | 'public';
  httpsPort: number;
}

const PLAIN_MODES = ['local', 'redirect', 'public'] as const;

export function plainHttpFromEnv(env: Record<string, string | undefined>): PlainHttp {
  const mode = env.EDGE_HTTP?.trim() || 'local';
  if (!(PLAIN_MODES as readonly string[]).includes(mode))
    throw new UsageError(`EDGE_HTTP must be local, redirect or public, got "${mode}"`);
  const port = env.EDGE_HTTPS_PORT?.trim();
  return {
    mode: mode as PlainHttp['mode'],
    httpsPort: port ? whole('EDGE_HTTPS_PORT', port, 1, 65535) : 8443,
  };
}

/**
 * Where compose publishes the plain port: EDGE_PORT (8000) on the host's loopback unless
 * EDGE_HTTP opens it to every address; an EDGE_PORT of ADDRESS:PORT is taken as it is.
 */
export function plainHttpPublish(http: PlainHttp, settings: { EDGE_PORT?: string }): string {
  const { address, port } = publishedPort(settings, 'EDGE_PORT');
  if (address) return settings.EDGE_PORT!.trim();
  return `${http.mode === 'local' ? '127.0.0.1' : '0.0.0.0'}:${port}`;
}

const whole = (name: string, raw: string, min: number, max: number): number => {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
};

/** The rate limits from the environment; an empty or missing variable is its default. */
export function limitsFromEnv(env: Record<string, string | undefined>): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const raw = env[name]?.trim();
    if (raw) limits[name] = whole(name, raw, 1, 999_999_999);
  }
  return limits;
}

/** The edge's settings from the environment (the limits, EDGE_HTTP), for this many edges. */
export const edgeSettingsFromEnv = (
  env: Record<string, string | undefined>,
  edges: number,
  canaryWeight: number | null = null,
): EdgeSettings => ({
  limits: limitsFromEnv(env),
  http: plainHttpFromEnv(env),
  edges,
  canaryWeight,
});

/**
 * The edge's settings on compose: from the environment, with the canary that runs (its weight
 * and pins, lib/canary.ts), if one does. The rollout writes them; meshctl check renders them
 * again to compare.
 */
export const composeEdgeSettings = (
  env: Record<string, string | undefined>,
  canary: Pick<CanaryState, 'weight' | 'key' | 'clientsPin'> | null,
  edges = COMPOSE_EDGES,
): EdgeSettings => ({
  ...edgeSettingsFromEnv(env, edges, canary?.weight ?? null),
  ...(canary ? { canaryPin: { key: canary.key, clients: canary.clientsPin } } : {}),
});

/**
 * EDGE_HTTP where no port can be published on a host's loopback only (Swarm's host-mode ports,
 * a Kubernetes Service): local cannot be had there, so plain HTTP only redirects to HTTPS,
 * unless public says to serve it (behind a balancer of yours that terminates TLS).
 */
export function remotePlainHttp(env: Record<string, string | undefined>): PlainHttp {
  const http = plainHttpFromEnv(env);
  return http.mode === 'public' ? http : { ...http, mode: 'redirect' };
}

/** The edge's settings for Swarm and Kubernetes: as edgeSettingsFromEnv, with remotePlainHttp. */
export const remoteEdgeSettingsFromEnv = (
  env: Record<string, string | undefined>,
  edges: number,
): EdgeSettings => ({ ...edgeSettingsFromEnv(env, edges), http: remotePlainHttp(env) });

/** WEIGHT=10: the canary's share of traffic, in percent. */
export const weightFrom = (raw: string | undefined, fallback = 10): number =>
  raw?.trim() ? whole('WEIGHT', raw.trim(), 0, 100) : fallback;

// The templates are Envoy config as plain data.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
type Any = Record<string, any>;
const clone = <T>(value: T): T => structuredClone(value);

export const STABLE = 'usersvc';
export const CANARY = 'usersvc_canary';
/** The canary's replicas answer to this DNS name on appmesh (their compose service). */
export const CANARY_HOST = 'usersvc-canary';

/** Compose's edge processes, on one set of ports (compose/docker-compose.yml: the edge's scale). */
export const COMPOSE_EDGES = 2;

/**
 * One edge's share of the limits, as the template's placeholders: a bucket refills with the
 * per-second rate once every `edges` seconds and holds 1/edges of the burst (rounded up).
 */
function perEdge(limits: Limits, edges: number): Record<string, number | string> {
  if (!Number.isInteger(edges) || edges < 1)
    throw new UsageError(`the number of edges must be a whole number from 1, got ${edges}`);
  const share = Object.fromEntries(
    Object.entries(limits).map(([name, value]) => [
      name,
      name.endsWith('_BURST') ? Math.ceil(value / edges) : value,
    ]),
  );
  return { ...share, EDGE_LIMIT_FILL_INTERVAL: `${edges}s` };
}

/**
 * A template of the mesh's Envoy files without its tracer: the lines from `# tracing: begin` to
 * `# tracing: end`, as envoy/render-edge.sh (TRACE_PERCENT 0) and user-service/entrypoint.sh
 * (SIDECAR_TRACING=0) leave them out with sed; a unit test holds the two to the same output.
 */
export const withoutTracer = (template: string): string =>
  template.replace(/^.*# tracing: begin\n[\s\S]*?^.*# tracing: end\n/m, '');

/** The mesh's one template rule (envoy/render.sh applies it in the images): a value that is exactly "${NAME}" becomes the value of NAME. */
function fill(node: unknown, values: Record<string, number | string>): unknown {
  if (Array.isArray(node)) return node.map((n) => fill(n, values));
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, fill(v, values)]));
  const placeholder = typeof node === 'string' ? /^\$\{(\w+)\}$/.exec(node) : null;
  if (!placeholder) return node;
  const value = values[placeholder[1]!];
  if (value === undefined)
    throw new Error(`the edge's template names an unknown setting: ${String(node)}`);
  return value;
}

/**
 * The route configuration. With a canary, each route to usersvc becomes two: the same match
 * plus `x-canary: KEY` (and `1` where clients may pin themselves) to the canary alone (first,
 * so it wins), and the original split by weight. The edge never forwards x-canary.
 */
export function routesFor(template: string, settings: EdgeSettings): Any {
  const doc = fill(parse(template), perEdge(settings.limits, settings.edges)) as Any;
  if (settings.http?.mode === 'redirect') {
    // Envoy sets x-forwarded-proto from the client's own connection (use_remote_address),
    // so this matches plain HTTP only, whatever the client sends.
    for (const host of doc.resources[0].virtual_hosts as Any[])
      (host.routes as Any[]).unshift({
        match: {
          prefix: '/',
          headers: [{ name: 'x-forwarded-proto', string_match: { exact: 'http' } }],
        },
        decorator: { operation: 'redirect to https', propagate: false },
        redirect: {
          https_redirect: true,
          port_redirect: settings.http.httpsPort,
          response_code: 'PERMANENT_REDIRECT',
        },
      });
  }
  const weight = settings.canaryWeight;
  if (weight === null) return doc;
  const pin = settings.canaryPin;
  const pinMatch = pin && {
    name: 'x-canary',
    string_match: pin.clients
      ? { safe_regex: { regex: `1|${pin.key.replace(/[^0-9a-f]/g, '')}` } }
      : { exact: pin.key },
  };
  for (const host of doc.resources[0].virtual_hosts as Any[]) {
    host.routes = (host.routes as Any[]).flatMap((route) => {
      if (route.route?.cluster !== STABLE) return [route];
      const pinned = clone(route);
      pinned.match.headers = [...(pinned.match.headers ?? []), pinMatch];
      pinned.route.cluster = CANARY;
      const split = clone(route);
      if (weight > 0) {
        delete split.route.cluster;
        split.route.weighted_clusters = {
          clusters: [
            { name: STABLE, weight: 100 - weight },
            { name: CANARY, weight },
          ].filter((c) => c.weight > 0),
        };
      }
      return pinMatch ? [pinned, split] : [split];
    });
  }
  return doc;
}

/** The clusters: usersvc, and with a canary usersvc_canary, the same cluster for its replicas' DNS name. */
export function clustersFor(template: string, settings: EdgeSettings): Any {
  const doc = parse(template) as Any;
  if (settings.canaryWeight === null) return doc;
  const canary: Any = clone((doc.resources as Any[]).find((c) => c.name === STABLE)!);
  canary.name = CANARY;
  canary.load_assignment.cluster_name = CANARY;
  canary.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address =
    CANARY_HOST;
  (doc.resources as Any[]).push(canary);
  return doc;
}

/** The file Envoy reads: the resources with a version_info naming their content. */
export function liveFile(doc: Any, template: string): { text: string; version: string } {
  const version = createHash('sha256')
    .update(JSON.stringify(doc.resources))
    .digest('hex')
    .slice(0, 12);
  const header = `# Written by meshctl (scripts/lib/edge-config.ts) from envoy/${template}: edit that, then make up (make kubernetes for kubernetes/).\n`;
  return {
    version,
    text:
      header +
      stringify(
        { version_info: version, resources: doc.resources },
        { aliasDuplicateObjects: false, lineWidth: 0 },
      ),
  };
}

/**
 * Writes one live file so that Envoy sees it whole: a temporary file in the same directory,
 * renamed over the old one (a move into the watched directory is what Envoy reloads on).
 */
export function writeLiveFile(dir: string, name: string, text: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const temporary = `${dir}/.${name}.tmp`;
  writeFileSync(temporary, text, { mode: 0o644 });
  renameSync(temporary, `${dir}/${name}`);
}

const template = (name: string) => readFileSync(`${ROOT}envoy/${name}`, 'utf8');

export interface Applied {
  routes: string; // the version_info of each file
  clusters: string;
}

/** Both live files for these settings, from the templates in envoy/. */
export const renderEdgeFiles = (settings: EdgeSettings) => ({
  routes: liveFile(routesFor(template('edge-routes.yaml'), settings), 'edge-routes.yaml'),
  clusters: liveFile(clustersFor(template('edge-clusters.yaml'), settings), 'edge-clusters.yaml'),
});

/** Only writes both files into `dir` (Swarm configs, Kubernetes' ConfigMap); their versions. */
export function writeEdgeFiles(dir: string, settings: EdgeSettings): Applied {
  const { routes, clusters } = renderEdgeFiles(settings);
  writeLiveFile(dir, 'routes.yaml', routes.text);
  writeLiveFile(dir, 'clusters.yaml', clusters.text);
  return { routes: routes.version, clusters: clusters.version };
}
