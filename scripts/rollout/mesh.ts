// The running mesh as a rollout sees it: a service's containers (with the revision each was
// made from), and what the edge says through its read-only admin window: which hosts of a
// cluster are healthy, and which version of its live routes and clusters it has taken.
import { docker, serviceContainers } from '../lib/docker.js';
import { parseClusters, type Host } from '../stats/admin.js';

export const EDGE_ADMIN = process.env.EDGE_ADMIN_URL ?? `http://127.0.0.1:${process.env.EDGE_ADMIN_PORT ?? '8001'}`;
/** The label on each container: which revision (image and configuration) it was made from. */
export const REVISION_LABEL = 'mesh.revision';

export interface Replica {
  id: string;
  name: string;
  running: boolean;
  exitCode: number;
  revision: string;
  version: string; // the service version its image carries (org.opencontainers.image.revision)
  address: string | null; // ip:8080 on appmesh
}

interface Inspected {
  Id: string;
  Name: string;
  State: { Running: boolean; ExitCode: number };
  Config: { Labels: Record<string, string> | null };
  NetworkSettings: { Networks: Record<string, { IPAddress?: string }> };
}

export async function replicasOf(service: string): Promise<Replica[]> {
  const ids = await serviceContainers(service, { all: true });
  if (ids.length === 0) return [];
  const inspected = JSON.parse(await docker(['inspect', ...ids])) as Inspected[];
  return inspected
    .map((c) => {
      const ip = c.NetworkSettings.Networks.appmesh?.IPAddress;
      const labels = c.Config.Labels ?? {};
      return {
        id: c.Id.slice(0, 12),
        name: c.Name.replace(/^\//, ''),
        running: c.State.Running,
        exitCode: c.State.ExitCode,
        revision: labels[REVISION_LABEL] ?? '',
        version: labels['org.opencontainers.image.revision'] ?? 'unknown',
        address: ip ? `${ip}:8080` : null,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

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
