// Changing a running mesh without dropping a request (README "Changing a running mesh"):
//   make up        start the mesh, or roll what changed onto it: replicas one at a time, the
//                  edge's routes and limits live (N=replicas, default: as many as run now, or 1)
//   make canary    replicas of the tree as it is now beside the stable ones; WEIGHT=10 percent
//                  of traffic, and every request with x-canary: 1 (CANARY_N=1 replicas)
//   make promote   roll the stable replicas onto the canary's image and environment, then
//                  remove the canary
//   make rollback  send nothing more to the canary, and remove it
//   edge-config    only write the edge's live routes and clusters (scripts/docker-run.sh)
//   edge-files DIR only render them into DIR, for a Swarm stack (scripts/swarm/up.sh)
// The images are built before (scripts/up.sh, scripts/canary.sh); this drives compose and the edge.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { compose, docker, DockerError } from '../lib/docker.js';
import { CANARY, limitsFromEnv, STABLE, UsageError, weightFrom, type EdgeSettings } from './edge-config.js';
import { applyEdgeConfig, applyRoutes, LIVE_DIR, writeEdgeFiles } from './edge.js';
import { handOverEdge } from './edge-handover.js';
import { inspectService, runningOf } from '../lib/containers.js';
import { edgeHosts, edgeIsUp } from './mesh.js';
import { retire, revisionOf, roll, RolloutFailed, until } from './rollout.js';

const SERVICE = 'usersvc';
const CANARY_SERVICE = 'usersvc-canary';
/** The environment compose puts into the service: what a canary may change, and promote carries over. */
const SERVICE_ENV = ['LOG_LEVEL', 'SCRYPT_COST', 'SCRYPT_CONCURRENCY', 'SCRYPT_QUEUE'];
const STATE = `${LIVE_DIR}/../canary.json`;

interface CanaryState {
  weight: number;
  env: Record<string, string>;
}

const log = (line: string) => console.log(`rollout: ${line}`);

function count(name: string, raw: string | undefined, fallback: number): number {
  if (!raw?.trim()) return fallback;
  if (!/^\d{1,3}$/.test(raw.trim()) || Number(raw) < 1) throw new UsageError(`${name} must be a whole number from 1 to 999, got "${raw}"`);
  return Number(raw);
}

/** The canary, if one runs: its weight and the environment it was started with. */
async function canaryState(): Promise<CanaryState | null> {
  if (!existsSync(STATE) || (await runningOf(CANARY_SERVICE)).length === 0) return null;
  return JSON.parse(readFileSync(STATE, 'utf8')) as CanaryState;
}

const settings = (canaryWeight: number | null): EdgeSettings => ({ limits: limitsFromEnv(process.env), canaryWeight });

/** Waits until the edge has exactly `want` healthy hosts in `cluster`. */
async function untilHealthy(cluster: string, want: number): Promise<void> {
  await until(
    90_000,
    async () => ((await edgeHosts(cluster)).filter((h) => h.healthy).length === want ? true : undefined),
    async () => `the edge sees ${(await edgeHosts(cluster)).filter((h) => h.healthy).length} healthy ${cluster} replicas, not ${want}, after 90 s`,
  );
  log(`the edge sees ${want} healthy ${cluster} replica(s)`);
}

async function up(): Promise<void> {
  const stable = await runningOf(SERVICE);
  const want = count('N', process.env.N, stable.length || 1);
  const canary = await canaryState();
  const revision = await revisionOf(SERVICE, {});
  const edgeRevision = await revisionOf('edge', {});
  const env = { USERSVC_REVISION: revision, EDGE_REVISION: edgeRevision };
  if (stable.length === 0 || !(await edgeIsUp())) {
    // Nothing serves yet: write the edge's live files and let compose start everything.
    await applyEdgeConfig(settings(canary?.weight ?? null));
    await compose(['up', '-d', '--scale', `${SERVICE}=${want}`, 'postgres', SERVICE, 'edge-port', 'edge', 'mesh-ca'], { env });
  } else {
    // A running mesh: the edge's routes and limits change live, the database and the CA's
    // renewer only if their own configuration changed, then the replicas one at a time.
    const applied = await applyEdgeConfig(settings(canary?.weight ?? null));
    log(`the edge runs routes ${applied.routes} and clusters ${applied.clusters}`);
    await compose(['up', '-d', '--no-deps', 'postgres', 'mesh-ca'], { env });
    const { replaced } = await roll({ service: SERVICE, cluster: STABLE, revision, replicas: want, env, log });
    log(replaced ? `replaced ${replaced} replica(s) with revision ${revision}` : `every replica runs revision ${revision}`);
    // The edge last: a new one takes over from the old before it drains.
    const edge = await handOverEdge(edgeRevision, env, log);
    if (edge.replaced) log(`handed over to a new edge (revision ${edgeRevision})`);
  }
  await untilHealthy(STABLE, want);
}

async function startCanary(): Promise<void> {
  const weight = weightFrom(process.env.WEIGHT);
  const replicas = count('CANARY_N', process.env.CANARY_N, 1);
  if ((await runningOf(SERVICE)).length === 0 || !(await edgeIsUp())) throw new UsageError('the mesh is not up: make up first');
  const revision = await revisionOf(CANARY_SERVICE, {});
  const env = { CANARY_REVISION: revision };
  if ((await runningOf(CANARY_SERVICE)).length > 0) {
    // A canary runs already: roll it onto this build, as make up rolls the stable set.
    await roll({ service: CANARY_SERVICE, cluster: CANARY, revision, replicas, env, log });
  } else {
    // Its cluster first, with only x-canary: 1 routed to it, until its replicas are healthy.
    await applyEdgeConfig(settings(0));
    try {
      await compose(['up', '-d', '--no-deps', '--scale', `${CANARY_SERVICE}=${replicas}`, CANARY_SERVICE], { env });
      await untilHealthy(CANARY, replicas);
    } catch (err) {
      for (const r of await inspectService(CANARY_SERVICE)) await docker(['rm', '-f', r.id]);
      await applyEdgeConfig(settings(null));
      throw new RolloutFailed(`the canary did not start, and was removed: ${(err as Error).message}`);
    }
  }
  const applied = await applyEdgeConfig(settings(weight));
  const canaryEnv = Object.fromEntries(SERVICE_ENV.filter((k) => process.env[k]).map((k) => [k, process.env[k]!]));
  writeFileSync(STATE, JSON.stringify({ weight, env: canaryEnv } satisfies CanaryState, null, 2));
  const version = (await runningOf(CANARY_SERVICE))[0]?.version;
  log(`canary ${version} takes ${weight} % of traffic and every request with x-canary: 1 (routes ${applied.routes})`);
}

async function removeCanary(): Promise<void> {
  await applyRoutes(settings(null));
  for (const r of await inspectService(CANARY_SERVICE)) await (r.running ? retire(r) : docker(['rm', r.id]));
  await applyEdgeConfig(settings(null));
  rmSync(STATE, { force: true });
}

async function rollback(): Promise<void> {
  if ((await inspectService(CANARY_SERVICE)).length === 0) return log('no canary runs: nothing to roll back');
  await removeCanary();
  log('the canary is gone; every request goes to the stable replicas');
}

async function promote(): Promise<void> {
  const canary = await canaryState();
  if (!canary) throw new UsageError('no canary runs: start one with make canary');
  const image = (await docker(['inspect', '-f', '{{.Image}}', (await runningOf(CANARY_SERVICE))[0]!.id])).trim();
  await docker(['tag', image, 'usermesh/usersvc:latest']);
  // The canary's environment becomes the stable set's (for this rollout: set it for later ones too).
  Object.assign(process.env, canary.env);
  const revision = await revisionOf(SERVICE, {});
  const want = (await runningOf(SERVICE)).length;
  const { replaced } = await roll({ service: SERVICE, cluster: STABLE, revision, replicas: want, env: { USERSVC_REVISION: revision }, log });
  log(`promoted: replaced ${replaced} stable replica(s) with the canary's image`);
  await removeCanary();
  await untilHealthy(STABLE, want);
}

/** Only write the edge's live files (for scripts/docker-run.sh), applied live if the edge runs. */
async function edgeConfig(): Promise<void> {
  const applied = await applyEdgeConfig(settings((await canaryState())?.weight ?? null));
  log(`the edge's live files: routes ${applied.routes}, clusters ${applied.clusters} (${LIVE_DIR})`);
}

/** Only render the edge's live files into a directory of their own (scripts/swarm/up.sh). */
function edgeFiles(): Promise<void> {
  const dir = process.argv[3];
  if (!dir) return Promise.reject(new UsageError('edge-files needs a directory'));
  const written = writeEdgeFiles(dir, settings(null));
  log(`the edge's files: routes ${written.routes}, clusters ${written.clusters} (${dir})`);
  return Promise.resolve();
}

const verbs: Record<string, () => Promise<void>> = { up, canary: startCanary, promote, rollback, 'edge-config': edgeConfig, 'edge-files': edgeFiles };
const verb = verbs[process.argv[2] ?? ''];
if (!verb) {
  console.error(`usage: rollout ${Object.keys(verbs).join('|')}`);
  process.exit(2);
}
verb().catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`rollout: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof RolloutFailed || err instanceof DockerError) {
    console.error(`rollout failed: ${err.message}`);
    process.exit(1);
  }
  console.error('rollout:', err);
  process.exit(1);
});
