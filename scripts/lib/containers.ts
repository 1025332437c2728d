// A compose service's containers as the tools need them (make stats, the rollout): one
// `docker inspect` for all of them, each with its state, its address on appmesh, the version
// its image carries and the revision it was made from (labels).
import { docker, PROJECT, serviceContainers } from './docker.js';

/** The label on each container: which revision (image and configuration) it was made from. */
export const REVISION_LABEL = 'mesh.revision';

export interface ServiceContainer {
  id: string;
  name: string;
  state: string; // running, exited, paused, ...
  running: boolean;
  exitCode: number;
  startedAt: number; // ms since the epoch (0: never started)
  restarts: number; // how many times Docker's restart policy has restarted it
  health: string; // its health check's verdict (healthy, unhealthy, starting), '' if it has none
  number: number; // compose's container number (usersvc-3: 3), 0 if none
  joins: string | null; // the container whose network namespace it shares (compose: network_mode: service:X)
  address: string | null; // ip:8080 on appmesh, null when not attached
  version: string; // the service version its image carries ('-' if none)
  revision: string; // the rollout's mesh.revision label ('' if none)
}

interface Inspected {
  Id: string;
  RestartCount: number;
  Name: string;
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    StartedAt: string;
    Health?: { Status: string };
  };
  Config: { Labels: Record<string, string> | null };
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, { IPAddress?: string }> };
}

/**
 * Every container of `service`, running or not, by name (usermesh_usersvc_2 before _10). On a
 * swarm manager with no compose containers of it, the stack's running tasks on every node.
 */
export async function inspectService(
  service: string,
  network = 'appmesh',
): Promise<ServiceContainer[]> {
  const ids = await serviceContainers(service, { all: true });
  if (ids.length === 0) return swarmTasks(service, network);
  const inspected = JSON.parse(
    await docker(['inspect', ...ids], { timeoutMs: 10_000 }),
  ) as Inspected[];
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
        startedAt: c.State.StartedAt.startsWith('0001-') ? 0 : Date.parse(c.State.StartedAt),
        restarts: c.RestartCount,
        health: c.State.Health?.Status ?? '',
        number: Number(labels['com.docker.compose.container-number'] ?? 0),
        joins: c.HostConfig.NetworkMode.startsWith('container:')
          ? c.HostConfig.NetworkMode.slice('container:'.length)
          : null,
        address: ip ? `${ip}:8080` : null,
        version: labels['org.opencontainers.image.revision'] ?? '-',
        revision: labels[REVISION_LABEL] ?? '',
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** The running ones. */
export const runningOf = async (service: string) =>
  (await inspectService(service)).filter((c) => c.running);

interface Task {
  Slot?: number;
  NodeID: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
  Spec: { ContainerSpec: { Image: string } };
  NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[];
}

/**
 * The running tasks of the stack's service (make swarm-up) on every node, named
 * usersvc.2@node; [] when this engine is no swarm manager or runs no such service. The id
 * is the task's container: `docker exec` reaches those on this engine's own node only.
 */
async function swarmTasks(service: string, network: string): Promise<ServiceContainer[]> {
  const ids = await docker([
    'service',
    'ps',
    '-q',
    '--filter',
    'desired-state=running',
    `${PROJECT}_${service}`,
  ]).then(
    (out) => out.split('\n').filter(Boolean),
    () => [] as string[],
  );
  if (ids.length === 0) return [];
  const tasks = JSON.parse(await docker(['inspect', '--type', 'task', ...ids])) as Task[];
  const nodes = new Map(
    (await docker(['node', 'ls', '--format', '{{.ID}} {{.Hostname}}']))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
  const images = [...new Set(tasks.map((t) => t.Spec.ContainerSpec.Image))];
  const versions = new Map(
    await Promise.all(
      images.map(
        async (image) =>
          [
            image,
            (
              await docker([
                'image',
                'inspect',
                '-f',
                '{{index .Config.Labels "org.opencontainers.image.revision"}}',
                image,
              ]).catch(() => '-')
            ).trim() || '-',
          ] as const,
      ),
    ),
  );
  return tasks
    .map((t) => {
      const ip = t.NetworksAttachments?.find(
        (a) => a.Network.Spec.Name === network,
      )?.Addresses[0]?.split('/')[0];
      return {
        id: (t.Status.ContainerStatus?.ContainerID ?? '').slice(0, 12),
        name: `${service}.${t.Slot ?? '?'}@${nodes.get(t.NodeID) ?? t.NodeID.slice(0, 12)}`,
        state: t.Status.State,
        running: t.Status.State === 'running',
        exitCode: t.Status.ContainerStatus?.ExitCode ?? 0,
        startedAt: 0,
        restarts: 0,
        health: '',
        number: t.Slot ?? 0,
        joins: null,
        address: ip ? `${ip}:8080` : null,
        version: versions.get(t.Spec.ContainerSpec.Image) ?? '-',
        revision: '',
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}
