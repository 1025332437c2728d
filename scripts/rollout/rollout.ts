// Rolling a compose service's replicas onto a new revision without dropping a request: start
// one new replica beside the old ones, wait until the edge routes to it, then drain and remove
// one old replica (its entrypoint drains on SIGTERM), and so on; the replica count is kept.
// A new replica that exits or never turns healthy is removed, and the old ones keep serving.
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { compose } from '../lib/compose.js';
import { containerLogs, docker, fetchInside } from '../lib/docker.js';
import { Failure, RolloutFailed } from '../lib/errors.js';
import { until } from '../lib/wait.js';
import {
  inspectService,
  REVISION_LABEL,
  runningOf,
  type ServiceContainer as Replica,
} from '../lib/containers.js';
import { edgeHosts } from '../lib/edge-hosts.js';

export { RolloutFailed, until };

export type Log = (line: string) => void;

/** JSON with its keys sorted, so that equal configurations hash alike. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );

/**
 * What a container of `service` made now would be: a hash of the service's configuration (as
 * compose resolves it from the file and the environment) and of the image's content (its
 * layers and what it runs, not its labels: compose v2 labels each image with the service it
 * was built for, so the canary's image and the same build for usersvc differ only there). Containers
 * carry theirs in the mesh.revision label; one that differs is replaced by a rollout.
 */
export async function revisionOf(service: string, env: Record<string, string>): Promise<string> {
  // The canary profile on, so that compose v2 shows the canary's service too (v1 always does).
  const config = parse(
    await compose(['config'], { env: { COMPOSE_PROFILES: 'canary', ...env } }),
  ) as { services: Record<string, { image: string; labels?: Record<string, string> }> };
  const spec = config.services[service] as Record<string, unknown> & {
    labels?: Record<string, string>;
  };
  if (!spec) throw new Failure(`compose has no service ${service}`);
  delete spec.labels?.[REVISION_LABEL];
  // How many there are is not what each one is: a new count must not roll every replica.
  delete spec.scale;
  delete (spec.deploy as { replicas?: unknown } | undefined)?.replicas;
  const image = await docker([
    'image',
    'inspect',
    '-f',
    '{{json .RootFS.Layers}} {{json .Config.Env}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.User}} {{json .Config.WorkingDir}}',
    String(spec.image),
  ]);
  return createHash('sha256').update(canonical(spec)).update(image).digest('hex').slice(0, 12);
}

/** The code a container last exited with, from the engine's events (its restart policy may have started it again since). */
async function lastExitCode(id: string): Promise<string> {
  const until = String(Math.ceil(Date.now() / 1000));
  const codes = await docker([
    'events',
    '--since',
    '0',
    '--until',
    until,
    '--filter',
    `container=${id}`,
    '--filter',
    'event=die',
    '--format',
    '{{.Actor.Attributes.exitCode}}',
  ]).catch(() => '');
  return codes.trim().split('\n').at(-1) || '?';
}

/** The last lines a container wrote, on one line, for a message. */
export async function lastWords(id: string): Promise<string> {
  return lastRunWords((await containerLogs(id, 80)).split('\n')) || '(no logs)';
}

/**
 * What a container said as its last run ended, on one line: the 5 lines up to its entrypoint's
 * "exited unexpectedly" (a restart policy may have started it again since), without Envoy's
 * deprecation warnings; else its last 5 lines.
 */
export function lastRunWords(lines: string[]): string {
  const said = lines.filter((l) => l.trim() && !/\[warning\]\[misc\].*Deprecated field/.test(l));
  const end = said.findLastIndex((l) => l.includes('exited unexpectedly'));
  return (end >= 0 ? said.slice(Math.max(0, end - 4), end + 1) : said.slice(-5)).join(' / ');
}

/** Does the replica's service answer its readiness check (its database prepared), asked from inside it? */
async function readyInside(id: string): Promise<boolean> {
  return fetchInside(id, 'http://127.0.0.1:5000/user/health?deep=1').then(
    () => true,
    () => false,
  );
}

/** Starts one more replica of `service` made from the current revision; the new replica. */
async function addReplica(service: string, env: Record<string, string>): Promise<Replica> {
  const before = new Set((await inspectService(service)).map((r) => r.id));
  const count = (await runningOf(service)).length + 1;
  await compose(
    ['up', '-d', '--no-deps', '--no-recreate', '--scale', `${service}=${count}`, service],
    { env },
  );
  const fresh = (await inspectService(service)).filter((r) => !before.has(r.id));
  if (fresh.length !== 1)
    throw new RolloutFailed(`expected one new ${service} container, compose made ${fresh.length}`);
  return fresh[0]!;
}

/**
 * Waits until the edge routes to `replica` (healthy in `cluster`) and it can serve data (its
 * database prepared: only then may an old replica go); removes it and fails if it exits or
 * never gets there.
 */
async function untilServing(
  service: string,
  replica: Replica,
  cluster: string,
  timeoutMs: number,
): Promise<void> {
  let why = 'it never became healthy';
  try {
    await until(
      timeoutMs,
      async () => {
        const now = (await inspectService(service)).find((r) => r.id === replica.id);
        // Exited, or exited and restarted by its restart policy: it fails at start-up.
        if (!now?.running || now.restarts > 0 || now.state === 'restarting') {
          why = `it exited with code ${now?.running ? await lastExitCode(replica.id) : (now?.exitCode ?? '?')}: ${await lastWords(replica.id)}`;
          throw new RolloutFailed(why);
        }
        const host = now.address
          ? (await edgeHosts(cluster)).find((h) => h.address === now.address)
          : undefined;
        if (!host) why = 'the edge has not found it';
        else if (!host.healthy) why = `the edge sees it as unhealthy (${host.flags.join(', ')})`;
        else if (!(await readyInside(now.id)))
          why = 'its database is not ready (GET /user/health?deep=1)';
        else return true;
        return undefined;
      },
      () => `${why}, after ${timeoutMs / 1000} s`,
    );
  } catch (err) {
    await docker(['rm', '-f', replica.id]).catch(() => undefined);
    throw new RolloutFailed(
      `the new replica ${replica.name} was removed: ${(err as Error).message}`,
    );
  }
}

/** Drains and removes one replica: SIGTERM makes its entrypoint fail the edge's health checks first. */
export async function retire(replica: Replica): Promise<void> {
  await docker(['stop', '-t', '20', replica.id], { timeoutMs: 60_000 });
  await docker(['rm', replica.id]);
}

export interface RollOptions {
  service: string; // the compose service, e.g. usersvc
  cluster: string; // the edge's cluster for it
  revision: string;
  replicas: number; // how many to leave running
  env: Record<string, string>; // for compose: the revision label's variable, the edge limits ...
  log: Log;
  /** How long a new replica may take to be healthy in the edge. */
  timeoutMs?: number;
}

/** Replaces every replica of another revision, one at a time, and leaves `replicas` running. */
export async function roll(o: RollOptions): Promise<{ replaced: number }> {
  const timeoutMs = o.timeoutMs ?? 90_000;
  await removeStopped(o.service, o.log);
  let current = await runningOf(o.service);
  let outdated = current.filter((r) => r.revision !== o.revision);
  let replaced = 0;
  // More than wanted: the surplus goes first, the outdated ones among them.
  while (current.length > o.replicas && outdated.length > 0) {
    o.log(`removing ${outdated[0]!.name} (${current.length} running, ${o.replicas} wanted)`);
    await retire(outdated[0]!);
    current = await runningOf(o.service);
    outdated = current.filter((r) => r.revision !== o.revision);
  }
  for (const old of outdated) {
    const fresh = await addReplica(o.service, o.env);
    o.log(`started ${fresh.name}; waiting until the edge routes to it`);
    await untilServing(o.service, fresh, o.cluster, timeoutMs);
    o.log(`${fresh.name} serves; draining ${old.name}`);
    await retire(old);
    replaced++;
  }
  await scaleTo(o);
  return { replaced };
}

/** Containers of `service` that do not run (exited, dead, created): a scale never starts them again. */
async function removeStopped(service: string, log: Log): Promise<void> {
  for (const stopped of (await inspectService(service)).filter(
    (r) => !r.running && r.state !== 'restarting',
  )) {
    log(
      `removing ${stopped.name} (${stopped.state}${stopped.state === 'exited' ? `, code ${stopped.exitCode}` : ''})`,
    );
    await docker(['rm', '-f', stopped.id]);
  }
}

/**
 * Which replicas go when there are too many: those the edges do not count as healthy first
 * (failing health checks, draining, still starting, or not found yet), then the newest by
 * compose's number, as compose itself would.
 */
export function surplus(running: Replica[], healthy: Set<string>, keep: number): Replica[] {
  const rank = (r: Replica) => (r.address && healthy.has(r.address) ? 1 : 0);
  return [...running]
    .sort((a, b) => rank(a) - rank(b) || b.number - a.number)
    .slice(0, Math.max(0, running.length - keep));
}

/**
 * Leaves `replicas` replicas of `service` running, every one routed by the edges: stopped ones
 * are removed (compose would start them again at the expense of healthy ones), the surplus
 * drained and removed (surplus() chooses), the missing ones started and waited for.
 */
export async function scaleTo(o: Omit<RollOptions, 'revision'>): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 90_000;
  await removeStopped(o.service, o.log);
  const running = await runningOf(o.service);
  if (running.length > o.replicas) {
    const healthy = new Set(
      (await edgeHosts(o.cluster).catch(() => [])).filter((h) => h.healthy).map((h) => h.address),
    );
    const going = surplus(running, healthy, o.replicas);
    o.log(
      `draining and removing ${going.map((r) => r.name).join(', ')} (${running.length} running, ${o.replicas} wanted)`,
    );
    await Promise.all(going.map(retire));
  } else if (running.length < o.replicas) {
    const before = new Set(running.map((r) => r.id));
    await compose(
      [
        'up',
        '-d',
        '--no-deps',
        '--no-recreate',
        '--scale',
        `${o.service}=${o.replicas}`,
        o.service,
      ],
      { env: o.env },
    );
    const fresh = (await runningOf(o.service)).filter((r) => !before.has(r.id));
    o.log(`started ${fresh.map((r) => r.name).join(', ')}; waiting until the edges route to them`);
    await Promise.all(fresh.map((r) => untilServing(o.service, r, o.cluster, timeoutMs)));
  }
}
