// Reads the running mesh once: every edge's admin (scripts/lib/edges.ts: inside each edge's
// container, or the read-only window on the host), merged into one view, the replicas'
// containers from Docker, and each sidecar's stats from inside its own container (`docker
// exec`), so the host never needs to reach a container's address (the same on Docker Desktop).
import { inspectService } from '../lib/containers.js';
import { fetchInside } from '../lib/docker.js';
import { AdminError, EDGE_ADMIN_URL, edgeAdmins } from '../lib/edges.js';
import {
  mergeHosts,
  mergeStats,
  parseClusters,
  parsePrometheus,
  parseStatsJson,
  type Host,
  type Sample,
  type StatsJson,
} from '../lib/envoy-admin.js';
import { Failure } from '../lib/errors.js';

export interface MeshAddress {
  admin: string; // the edge's read-only admin on the host (a swarm manager's; make stats reads compose's edges inside them)
  service: string; // compose service of the replicas
  cluster: string; // the edge's cluster for them
  network: string;
}

export const MESH: MeshAddress = {
  admin: process.env.EDGE_ADMIN_URL ?? EDGE_ADMIN_URL,
  service: 'usersvc', // in the compose project (COMPOSE_PROJECT_NAME, default usermesh)
  cluster: 'usersvc',
  network: 'appmesh',
};

// The edge stats `make stats` shows; the filter keeps the answer to a few kB.
export const EDGE_STATS_FILTER =
  '^(http\\.edge\\.downstream_rq_([1-5]xx|total)' +
  '|cluster\\.usersvc_canary\\.upstream_rq_(time|total|5xx)' +
  '|cluster\\.usersvc\\.(upstream_rq_(time|total|5xx|retry|retry_success|retry_overflow|retry_limit_exceeded)' +
  '|upstream_cx_connect_fail|health_check\\.failure|outlier_detection\\.ejections_enforced_total' +
  '|ssl\\.certificate\\.identity\\.expiration_unix_time_seconds)' +
  '|limit_(hash|read)\\.http_local_rate_limit\\.rate_limited)$';

export const EDGE_STATS_PATH = `/stats?format=json&filter=${encodeURIComponent(EDGE_STATS_FILTER)}`;

// Each sidecar: the service's traffic (cluster local_service; health checks have their own
// cluster), its database connections (cluster postgres), and its trust boundary: when the
// certificate it presents expires, and the callers its ingress refused (TLS, RBAC).
export const SIDECAR_STATS_FILTER =
  '^(cluster\\.(local_service\\.upstream_rq_(time|total|[1-5]xx)|postgres\\.upstream_cx_(active|total|connect_fail))' +
  '|listener\\.0\\.0\\.0\\.0_8080\\.ssl\\.(connection_error|fail_verify_(error|no_cert|san)|certificate\\.identity\\.expiration_unix_time_seconds)' +
  '|http\\.ingress\\.rbac\\.denied)$';
export const SIDECAR_STATS_URL = `http://127.0.0.1:9102/stats/prometheus?filter=${encodeURIComponent(SIDECAR_STATS_FILTER)}`;

/** A replica's container, as Docker sees it. */
export interface Container {
  id: string;
  name: string;
  state: string; // running, exited, paused, ...
  exitCode: number;
  address: string | null; // ip:8080 on appmesh, null when not attached
  version: string; // the service version its image carries
  track: 'stable' | 'canary'; // a stable replica, or one of make canary's
}

export interface Snapshot {
  takenAt: number; // ms since the epoch
  admin: string; // which edges were read: their containers' names, or the window's URL
  cluster: string;
  hosts: Host[]; // the edge's view of the replicas
  canaryHosts: Host[]; // and of the canary's (make canary), if one runs
  edge: StatsJson;
  replicas: { container: Container; sidecar: Sample[] | { error: string } }[];
}

/** The mesh is not there: one line for the user, not a stack trace. */
export class MeshDown extends Failure {}

export async function get(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch {
    throw new MeshDown(
      `the mesh is not up: nothing answers at ${new URL(url).origin} (the edge's admin). Start it with: make up`,
    );
  }
  const body = await response.text();
  if (!response.ok)
    throw new MeshDown(`${url} answered ${response.status}: ${body.trim().slice(0, 200)}`);
  return body;
}

export async function listContainers(mesh: MeshAddress): Promise<Container[]> {
  const tracks = [
    [mesh.service, 'stable'],
    [`${mesh.service}-canary`, 'canary'],
  ] as const;
  const found = await Promise.all(
    tracks.map(async ([service, track]) =>
      (await inspectService(service, mesh.network)).map((c) => ({ ...c, track })),
    ),
  );
  return found.flat().map(({ id, name, state, exitCode, address, version, track }) => ({
    id,
    name,
    state,
    exitCode,
    address,
    version,
    track,
  }));
}

async function readSidecar(container: Container): Promise<Sample[] | { error: string }> {
  if (container.state !== 'running') return { error: `container ${container.state}` };
  try {
    return parsePrometheus(await fetchInside(container.id, SIDECAR_STATS_URL));
  } catch (err) {
    const message = (err as Error).message;
    // A swarm task on another node: docker exec reaches this engine's containers only.
    if (message.includes('No such container'))
      return { error: 'on another node: docker exec reaches this node only' };
    return { error: message };
  }
}

/** Every edge's /clusters and /stats, read at once. */
async function readEdges() {
  try {
    const edges = await edgeAdmins();
    const read = await Promise.all(
      edges.map(async (e) => ({
        clusters: await e.call('/clusters?format=json'),
        stats: await e.call(EDGE_STATS_PATH),
      })),
    );
    return { names: edges.map((e) => e.name).join(' + '), read };
  } catch (err) {
    if (err instanceof AdminError)
      throw new MeshDown(`the mesh is not up: ${err.message}. Start it with: make up`);
    throw err;
  }
}

export async function snapshot(mesh: MeshAddress = MESH): Promise<Snapshot> {
  const [edges, containers] = await Promise.all([readEdges(), listContainers(mesh)]);
  const replicas = await Promise.all(
    containers.map(async (container) => ({ container, sidecar: await readSidecar(container) })),
  );
  const hostsOf = (cluster: string) =>
    mergeHosts(
      edges.read.map((e) =>
        e.clusters.includes(`"${cluster}"`) ? parseClusters(e.clusters, cluster) : [],
      ),
    );
  return {
    takenAt: Date.now(),
    admin: edges.names,
    cluster: mesh.cluster,
    hosts: hostsOf(mesh.cluster),
    canaryHosts: edges.read.some((e) => e.clusters.includes(`"${mesh.cluster}_canary"`))
      ? hostsOf(`${mesh.cluster}_canary`)
      : [],
    edge: mergeStats(edges.read.map((e) => parseStatsJson(e.stats))),
    replicas,
  };
}
