// The edge as a rollout sees it, through its read-only admin window: whether it is up, which
// hosts of a cluster are healthy, and which version of its live routes and clusters it has taken.
// (A service's containers: scripts/lib/containers.ts.)
import { parseClusters, type Host } from '../stats/admin.js';

export const EDGE_ADMIN = process.env.EDGE_ADMIN_URL ?? `http://127.0.0.1:${process.env.EDGE_ADMIN_PORT ?? '8001'}`;
/** Is the edge up (its admin window answers)? */
export async function edgeIsUp(): Promise<boolean> {
  try {
    return (await fetch(`${EDGE_ADMIN}/ready`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

async function edgeGet(path: string): Promise<string> {
  const response = await fetch(`${EDGE_ADMIN}${path}`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`the edge's admin answered ${response.status} to ${path}`);
  return response.text();
}

/** The hosts of an edge cluster; [] while the edge has no such cluster. */
export async function edgeHosts(cluster: string): Promise<Host[]> {
  const text = await edgeGet('/clusters?format=json');
  try {
    return parseClusters(text, cluster);
  } catch {
    return [];
  }
}

/** What the edge has taken of its live files: the version of each, and how many it rejected. */
export async function edgeLiveVersions(): Promise<{ routes: string; clusters: string; rejected: number }> {
  const filter = '^(http\\.edge\\.rds\\.edge|cluster_manager\\.cds)\\.(version_text|update_rejected)$';
  const text = await edgeGet(`/stats?filter=${encodeURIComponent(filter)}`);
  const value = (name: string) => new RegExp(`^${name.replaceAll('.', '\\.')}: "?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? '';
  return {
    routes: value('http.edge.rds.edge.version_text'),
    clusters: value('cluster_manager.cds.version_text'),
    rejected: Number(value('http.edge.rds.edge.update_rejected') || 0) + Number(value('cluster_manager.cds.update_rejected') || 0),
  };
}
