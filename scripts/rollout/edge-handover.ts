// The edges: two Envoys in the network namespace of a holder container (edge-port: appmesh,
// the name `edge`, the published ports), both listening on :8000 with SO_REUSEPORT, so the
// kernel spreads new connections over them and either alone can serve.
//   ensureEdges   brings them back to two: removes dead ones, restarts any still in the
//                 holder's old namespace (the holder restarted), starts the missing ones
//   handOverEdges replaces each edge of another revision without refusing a connection: a new
//                 edge starts beside the old ones; once it is ready (its clusters warm, a
//                 healthy replica) the old one drains (POST /drain_listeners?graceful: for 5 s
//                 it closes each connection after its current answer, then its listeners) and,
//                 with no connection left, goes.
import { compose } from '../lib/compose.js';
import { docker } from '../lib/docker.js';
import { inspectService, runningOf, type ServiceContainer } from '../lib/containers.js';
import { edgeAdmin, isReady } from '../lib/edges.js';
import { parseClusters } from '../lib/envoy-admin.js';
import { RolloutFailed } from '../lib/errors.js';
import { until } from '../lib/wait.js';
import { COMPOSE_EDGES } from '../lib/edge-config.js';
import { lastWords, type Log } from './rollout.js';

const adminOf = (edge: ServiceContainer) => edgeAdmin(edge.id, edge.name);

/** Ready: serving (/ready is LIVE) and with at least one healthy usersvc replica. */
async function ready(edge: ServiceContainer): Promise<boolean> {
  const admin = adminOf(edge);
  if (!(await isReady(admin))) return false;
  return parseClusters(await admin.call('/clusters?format=json'), 'usersvc').some((h) => h.healthy);
}

/** Waits until `edge` is ready; removes it and fails if it exits or is not ready within 60 s. */
async function untilReady(edge: ServiceContainer): Promise<void> {
  try {
    await until(
      60_000,
      async () => {
        const now = (await inspectService('edge')).find((e) => e.id === edge.id);
        if (!now?.running)
          throw new RolloutFailed(
            `it exited with code ${now?.exitCode ?? '?'}: ${await lastWords(edge.id)}`,
          );
        return (await ready(edge)) ? true : undefined;
      },
      () => 'it was not ready (serving, with a healthy replica) within 60 s',
    );
  } catch (err) {
    await docker(['rm', '-f', edge.id]).catch(() => undefined);
    throw new RolloutFailed(`the new edge ${edge.name} was removed: ${(err as Error).message}`);
  }
}

/**
 * Done draining: its listeners closed (a drained Envoy keeps accepting until its drain time is
 * over, then stops them: listener_stopped), and no client connection left.
 */
async function drained(edge: ServiceContainer): Promise<boolean> {
  const filter =
    '^(http\\.edge\\.downstream_cx_active|listener_manager\\.(listener_stopped|total_listeners_active))$';
  const text = await adminOf(edge).call(`/stats?filter=${encodeURIComponent(filter)}`);
  const stat = (name: string) =>
    Number(new RegExp(`${name.replaceAll('.', '\\.')}: (\\d+)`).exec(text)?.[1] ?? NaN);
  const listeners = stat('listener_manager.total_listeners_active');
  return (
    stat('listener_manager.listener_stopped') >= listeners &&
    stat('http.edge.downstream_cx_active') === 0
  );
}

/** Drains one edge and removes it. */
async function retireEdge(edge: ServiceContainer, log: Log): Promise<void> {
  await adminOf(edge).call('/drain_listeners?graceful', 'POST');
  // It keeps accepting (and closing each connection after one answer) for 5 s (--drain-time-s),
  // then closes its listeners: only then may it stop, or a connection it just took would be cut.
  await until(
    20_000,
    async () => ((await drained(edge)) ? true : undefined),
    () => `${edge.name} had not finished draining after 20 s`,
  ).catch((err: Error) => log(err.message));
  await docker(['stop', '-t', '10', edge.id], { timeoutMs: 30_000 });
  await docker(['rm', edge.id]);
}

/** Starts one more edge beside the running ones; the new one. */
async function addEdge(env: Record<string, string>): Promise<ServiceContainer> {
  const before = new Set((await inspectService('edge')).map((e) => e.id));
  const count = (await runningOf('edge')).length + 1;
  await compose(['up', '-d', '--no-deps', '--no-recreate', '--scale', `edge=${count}`, 'edge'], {
    env,
  });
  const [fresh] = (await inspectService('edge')).filter((e) => !before.has(e.id));
  if (!fresh) throw new RolloutFailed('compose made no new edge');
  return fresh;
}

/**
 * Two edges, both in the holder's current namespace and serving: dead ones removed, and ones
 * of a holder that was recreated; ones that started before the holder (it restarted: they are
 * cut off) restarted; missing ones started.
 */
export async function ensureEdges(env: Record<string, string>, log: Log): Promise<void> {
  const [holder] = await runningOf('edge-port');
  if (!holder)
    throw new RolloutFailed("edge-port, which holds the edges' network and ports, is not running");
  const holderId = (await docker(['inspect', '-f', '{{.Id}}', holder.id])).trim();
  for (const edge of await inspectService('edge')) {
    if (!edge.running) {
      log(`removing ${edge.name} (${edge.state}, code ${edge.exitCode})`);
      await docker(['rm', '-f', edge.id]);
    } else if (edge.joins !== holderId && edge.joins !== holder.name) {
      log(`removing ${edge.name}: it joined an edge-port that is gone (recreated)`);
      await docker(['rm', '-f', edge.id]);
    } else if (edge.startedAt < holder.startedAt) {
      log(`restarting ${edge.name}: it runs in the network edge-port had before it restarted`);
      await docker(['restart', '-t', '5', edge.id], { timeoutMs: 30_000 });
    }
  }
  for (let running = (await runningOf('edge')).length; running < COMPOSE_EDGES; running++) {
    const fresh = await addEdge(env);
    log(`started ${fresh.name} (${running} of ${COMPOSE_EDGES} edges ran)`);
  }
  for (const edge of await runningOf('edge')) {
    await until(
      60_000,
      async () => ((await isReady(adminOf(edge))) ? true : undefined),
      () => `${edge.name} was not serving (/ready LIVE) within 60 s`,
    );
  }
}

/** Hands over from every edge of another revision to one of `revision`, one at a time. */
export async function handOverEdges(
  revision: string,
  env: Record<string, string>,
  log: Log,
): Promise<{ replaced: number }> {
  const outdated = (await runningOf('edge')).filter((e) => e.revision !== revision);
  for (const old of outdated) {
    const fresh = await addEdge(env);
    log(`started ${fresh.name} beside ${old.name}; waiting until it is ready`);
    await untilReady(fresh);
    log(`${fresh.name} is ready; draining ${old.name}`);
    await retireEdge(old, log);
  }
  return { replaced: outdated.length };
}
