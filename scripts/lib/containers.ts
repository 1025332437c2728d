// A compose service's containers as the tools need them (make stats, the rollout): one
// `docker inspect` for all of them, each with its state, its address on appmesh, the version
// its image carries and the revision it was made from (labels).
import { docker, serviceContainers } from './docker.js';

/** The label on each container: which revision (image and configuration) it was made from. */
export const REVISION_LABEL = 'mesh.revision';

export interface ServiceContainer {
  id: string;
  name: string;
  state: string; // running, exited, paused, ...
  running: boolean;
  exitCode: number;
  address: string | null; // ip:8080 on appmesh, null when not attached
  version: string; // the service version its image carries ('-' if none)
  revision: string; // the rollout's mesh.revision label ('' if none)
}

interface Inspected {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; ExitCode: number };
  Config: { Labels: Record<string, string> | null };
  NetworkSettings: { Networks: Record<string, { IPAddress?: string }> };
}

/** Every container of `service`, running or not, by name (usermesh_usersvc_2 before _10). */
export async function inspectService(service: string, network = 'appmesh'): Promise<ServiceContainer[]> {
  const ids = await serviceContainers(service, { all: true });
  if (ids.length === 0) return [];
  const inspected = JSON.parse(await docker(['inspect', ...ids], { timeoutMs: 10_000 })) as Inspected[];
  return inspected
    .map((c) => {
      const ip = c.NetworkSettings.Networks[network]?.IPAddress;
      const labels = c.Config.Labels ?? {};
      return {
        id: c.Id.slice(0, 12),
        name: c.Name.replace(/^\//, ''),
        state: c.State.Status,
        running: c.State.Running,
        exitCode: c.State.ExitCode,
        address: ip ? `${ip}:8080` : null,
        version: labels['org.opencontainers.image.revision'] ?? '-',
        revision: labels[REVISION_LABEL] ?? '',
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** The running ones. */
export const runningOf = async (service: string) => (await inspectService(service)).filter((c) => c.running);
