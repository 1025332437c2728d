// The edges as a rollout sees them, every running edge asked (scripts/lib/edges.ts): whether
// one serves, which hosts of a cluster every edge counts as healthy, and which version of its
// live routes and clusters each has taken. (A service's containers: scripts/lib/containers.ts.)
import { edgeAdmins, servingEdges, type EdgeAdmin } from './edges.js';
import { mergeHosts, parseClusters, type Host } from './envoy-admin.js';
import { until } from './wait.js';

/** Does at least one edge serve (its /ready answers LIVE)? */
export async function edgeIsUp(): Promise<boolean> {
  return (await servingEdges()).length > 0;
}

/** The hosts of an edge cluster, as every running edge sees them; [] while none has the cluster. */
export async function edgeHosts(cluster: string): Promise<Host[]> {
  const perEdge = await Promise.all(
    (await edgeAdmins()).map(async (edge) => {
      try {
        return parseClusters(await edge.call('/clusters?format=json'), cluster);
      } catch {
        return [];
      }
    }),
  );
  return mergeHosts(perEdge);
}

export interface LiveVersions {
  routes: string;
  clusters: string;
  rejected: number;
}

/** What one edge has taken of its live files: the version of each, and how many it rejected. */
export async function liveVersions(edge: EdgeAdmin): Promise<LiveVersions> {
  const filter =
    '^(http\\.edge\\.rds\\.edge|cluster_manager\\.cds)\\.(version_text|update_rejected)$';
  const text = await edge.call(`/stats?filter=${encodeURIComponent(filter)}`);
  const value = (name: string) =>
    new RegExp(`^${name.replaceAll('.', '\\.')}: "?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? '';
  return {
    routes: value('http.edge.rds.edge.version_text'),
    clusters: value('cluster_manager.cds.version_text'),
    rejected:
      Number(value('http.edge.rds.edge.update_rejected') || 0) +
      Number(value('cluster_manager.cds.update_rejected') || 0),
  };
}

/** Waits until every edge counts exactly `want` hosts of `cluster` healthy (90 s at most). */
export async function untilHealthy(
  cluster: string,
  want: number,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const healthy = async () => (await edgeHosts(cluster)).filter((h) => h.healthy).length;
  await until(
    90_000,
    async () => ((await healthy()) === want ? true : undefined),
    async () =>
      `the edges see ${await healthy()} healthy ${cluster} replicas, not ${want}, after 90 s`,
  );
  log(`the edges see ${want} healthy ${cluster} replica(s)`);
}
