// Applies the edge's live configuration: renders routes and clusters (lib/edge-config.ts), writes
// them into .mesh/edge/ (mounted into the edges at /etc/envoy/live), and waits until every
// serving edge has taken both versions. Clusters go first when the new routes need a new
// cluster, routes first when they stop using one, so no request meets a missing cluster.
import {
  CANARY,
  renderEdgeFiles as render,
  writeLiveFile,
  type Applied,
  type EdgeSettings,
} from '../lib/edge-config.js';
import { servingEdges, type EdgeAdmin } from '../lib/edges.js';
import { liveVersions } from '../lib/edge-hosts.js';
import { RolloutFailed } from '../lib/errors.js';
import { until } from '../lib/wait.js';
import { EDGE_LIVE_DIR } from '../lib/paths.js';

/** Writes one file and waits until every serving edge serves that version (or fails if one rejects it). */
async function apply(
  kind: 'routes' | 'clusters',
  text: string,
  version: string,
  edges: EdgeAdmin[],
): Promise<void> {
  const before = await Promise.all(edges.map(liveVersions));
  writeLiveFile(EDGE_LIVE_DIR, `${kind}.yaml`, text);
  await until(
    20_000,
    async () => {
      const now = await Promise.all(edges.map(liveVersions));
      const rejecting = now.findIndex((v, i) => v.rejected > before[i]!.rejected);
      if (rejecting >= 0)
        throw new RolloutFailed(
          `${edges[rejecting]!.name} rejected the new ${kind} (version ${version}); its log says why: make logs`,
        );
      return now.every((v) => v[kind] === version) ? true : undefined;
    },
    () => `the edges did not all take the new ${kind} (version ${version}) within 20 s`,
  );
}

/** Only the routes: a rollback sends nothing more to the canary before its replicas go. */
export async function applyRoutes(settings: EdgeSettings): Promise<void> {
  const { routes } = render(settings);
  await apply('routes', routes.text, routes.version, await servingEdges());
}

/** Renders and applies the edge's live config for these settings; the versions written. */
export async function applyEdgeConfig(settings: EdgeSettings): Promise<Applied> {
  const { routes, clusters } = render(settings);
  const edges = await servingEdges();
  if (routes.text.includes(CANARY)) {
    await apply('clusters', clusters.text, clusters.version, edges);
    await apply('routes', routes.text, routes.version, edges);
  } else {
    await apply('routes', routes.text, routes.version, edges);
    await apply('clusters', clusters.text, clusters.version, edges);
  }
  return { routes: routes.version, clusters: clusters.version };
}
