// Replacing the edge without refusing a connection. The edge runs in the network namespace of
// a holder container (edge-port: appmesh, the name `edge`, the published ports), so a second
// edge can start beside it: both listen on :8000 with SO_REUSEPORT and the kernel spreads new
// connections over them. Once the new one is ready (its clusters warm, a healthy replica), the
// old one drains (POST /drain_listeners?graceful: for 5 s it closes each connection after its
// current answer, then it closes its listeners) and, with no connection left, goes.
import { compose, containerLogs, docker } from '../lib/docker.js';
import { inspectService, runningOf, type ServiceContainer } from '../lib/containers.js';
import { RolloutFailed, until, type Log } from './rollout.js';

/** One request to an edge's own admin interface, inside its container (envoy/edge-admin.sh); the raw response. */
const admin = (edge: ServiceContainer, method: string, path: string) => docker(['exec', edge.id, 'edge-admin', method, path], { timeoutMs: 10_000 });

/** Ready: serving (/ready is LIVE) and with at least one healthy usersvc replica. */
async function ready(edge: ServiceContainer): Promise<boolean> {
  if (!/^HTTP\/1\.1 200/.test(await admin(edge, 'GET', '/ready'))) return false;
  return /^usersvc::[^:]+:\d+::health_flags::healthy\r?$/m.test(await admin(edge, 'GET', '/clusters'));
}

/**
 * Done draining: its listeners closed (a drained Envoy keeps accepting until its drain time is
 * over, then stops them: listener_stopped), and no client connection left.
 */
async function drained(edge: ServiceContainer): Promise<boolean> {
  const filter = '^(http\\.edge\\.downstream_cx_active|listener_manager\\.(listener_stopped|total_listeners_active))$';
  const text = await admin(edge, 'GET', `/stats?filter=${encodeURIComponent(filter)}`);
  const stat = (name: string) => Number(new RegExp(`${name.replaceAll('.', '\\.')}: (\\d+)`).exec(text)?.[1] ?? NaN);
  const listeners = stat('listener_manager.total_listeners_active');
  return stat('listener_manager.listener_stopped') >= listeners && stat('http.edge.downstream_cx_active') === 0;
}

/** Hands over from every edge of another revision to one of `revision`. */
export async function handOverEdge(revision: string, env: Record<string, string>, log: Log): Promise<{ replaced: number }> {
  for (const dead of (await inspectService('edge')).filter((e) => !e.running)) await docker(['rm', dead.id]);
  const outdated = (await runningOf('edge')).filter((e) => e.revision !== revision);
  for (const old of outdated) {
    const before = new Set((await inspectService('edge')).map((e) => e.id));
    const count = (await runningOf('edge')).length + 1;
    await compose(['up', '-d', '--no-deps', '--no-recreate', '--scale', `edge=${count}`, 'edge'], { env });
    const [fresh] = (await inspectService('edge')).filter((e) => !before.has(e.id));
    if (!fresh) throw new RolloutFailed('compose made no new edge');
    log(`started ${fresh.name} beside ${old.name}; waiting until it is ready`);
    try {
      await until(
        60_000,
        async () => {
          const now = (await inspectService('edge')).find((e) => e.id === fresh.id);
          if (!now?.running) throw new RolloutFailed(`it exited with code ${now?.exitCode ?? '?'}: ${(await containerLogs(fresh.id)).split('\n').join(' / ')}`);
          return (await ready(fresh)) ? true : undefined;
        },
        () => 'it was not ready (serving, with a healthy replica) within 60 s',
      );
    } catch (err) {
      await docker(['rm', '-f', fresh.id]).catch(() => undefined);
      throw new RolloutFailed(`the new edge ${fresh.name} was removed, the old one serves: ${(err as Error).message}`);
    }
    log(`${fresh.name} is ready; draining ${old.name}`);
    await admin(old, 'POST', '/drain_listeners?graceful');
    // It keeps accepting (and closing each connection after one answer) for 5 s (--drain-time-s),
    // then closes its listeners: only then may it stop, or a connection it just took would be cut.
    await until(20_000, async () => ((await drained(old)) ? true : undefined), () => `${old.name} had not finished draining after 20 s`).catch((err: Error) => log(err.message));
    await docker(['stop', '-t', '10', old.id], { timeoutMs: 30_000 });
    await docker(['rm', old.id]);
  }
  return { replaced: outdated.length };
}
