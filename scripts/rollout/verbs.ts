// The verbs that change a running mesh without dropping a request (meshctl up, scale, check,
// canary, promote, rollback; docs/keeping-it-running.md). Each reads the mesh's settings from
// .env and the environment (scripts/lib/settings.ts); up, scale and canary write back what they
// ran. The images are built before (meshctl's up and canary); this drives compose and the edges.
import { existsSync } from 'node:fs';
import {
  newCanaryKey,
  readCanaryState,
  removeCanaryState,
  writeCanaryState,
  type CanaryState,
} from '../lib/canary.js';
import { compose, DEV_MARK } from '../lib/compose.js';
import { docker } from '../lib/docker.js';
import { inspectService, runningOf } from '../lib/containers.js';
import { count, progress } from '../lib/cli.js';
import { RolloutFailed, UsageError } from '../lib/errors.js';
import {
  DEV_FILES,
  loadSettings,
  MAIN_FILE,
  saveSettings,
  SERVICE_SETTINGS,
  useSettings,
  type Settings,
} from '../lib/settings.js';
import {
  CANARY,
  COMPOSE_EDGES,
  composeEdgeSettings,
  plainHttpPublish,
  plainHttpFromEnv,
  STABLE,
  writeEdgeFiles,
  type EdgeSettings,
} from '../lib/edge-config.js';
import { applyEdgeConfig, applyRoutes } from './edge.js';
import { EDGE_LIVE_DIR } from '../lib/paths.js';
import { ensureEdges, handOverEdges } from './edge-handover.js';
import { edgeIsUp, untilHealthy } from '../lib/edge-hosts.js';
import { publishedPort } from '../lib/ports.js';
import { observing, startObservability, stopObservability } from './observe.js';
import { retire, revisionOf, roll, scaleTo } from './rollout.js';
import { verifyCanary, verifyMesh } from '../lib/verify.js';
import { tokenKeysVersion } from '../lib/secrets.js';

const SERVICE = 'usersvc';
const CANARY_SERVICE = 'usersvc-canary';
/** The services that are not scaled: each runs once, and make up starts it if it is not running. */
const SINGLETONS = ['postgres', 'mesh-ca', 'mesh-keeper', 'edge-port'];

/** Each step with the time since the command began: a rollout takes a minute or more. */
const log = progress('rollout');
/** Every verb that changes the mesh ends with make check's look at it (verify.ts). */
const checked = (line: string) => log(`checked: ${line}`);

/** The settings of this run, in the environment of every compose call from here on. */
function settingsOfThisRun(): Settings {
  const settings = loadSettings();
  count('USERSVC_REPLICAS in .env', settings.USERSVC_REPLICAS);
  useSettings(settings);
  return settings;
}

/** How many stable replicas .env declares (1 where it says nothing). */
const declared = () => count('USERSVC_REPLICAS', loadSettings().USERSVC_REPLICAS) ?? 1;

/** The canary, if one runs: its weight, environment and pins (lib/canary.ts). */
async function canaryState(): Promise<CanaryState | null> {
  if ((await runningOf(CANARY_SERVICE)).length === 0) return null;
  return readCanaryState();
}

const edgeSettings = (
  canary: Pick<CanaryState, 'weight' | 'key' | 'clientsPin'> | null,
  edges = COMPOSE_EDGES,
): EdgeSettings => composeEdgeSettings(process.env, canary, edges);

export interface UpOptions {
  /** how many replicas; else .env's, else as many as run, else 1 */
  replicas?: number;
  /** '1' starts the observability profile, '0' stops it; else it stays as it is */
  observe?: string;
}

export async function up(options: UpOptions = {}): Promise<void> {
  const settings = settingsOfThisRun();
  const stable = await runningOf(SERVICE);
  // The declared count (N=, else .env's), else as many as run, else 1.
  const want =
    options.replicas ??
    count('USERSVC_REPLICAS', settings.USERSVC_REPLICAS) ??
    (stable.length || 1);
  const observe = options.observe || ((await observing()) ? '1' : '0');
  Object.assign(settings, {
    USERSVC_REPLICAS: String(want),
    COMPOSE_FILE: existsSync(DEV_MARK) ? DEV_FILES : MAIN_FILE,
    // Every request traced while the observability profile runs, unless you say otherwise.
    EDGE_TRACE_PERCENT: process.env.EDGE_TRACE_PERCENT?.trim() || (observe === '1' ? '100' : '0'),
    // Where compose publishes plain HTTP: EDGE_HTTP says.
    EDGE_HTTP_PUBLISH: plainHttpPublish(plainHttpFromEnv(settings), settings),
  } satisfies Settings);
  // The sidecars carry a tracer only while the edge traces (user-service/entrypoint.sh).
  settings.SIDECAR_TRACING = Number(settings.EDGE_TRACE_PERCENT) > 0 ? '1' : '0';
  settings.TOKEN_KEYS_VERSION = tokenKeysVersion();
  useSettings(settings);
  settings.USERSVC_REVISION = await revisionOf(SERVICE, {});
  settings.EDGE_REVISION = await revisionOf('edge', {});
  useSettings(settings);
  const env = {
    USERSVC_REVISION: settings.USERSVC_REVISION,
    EDGE_REVISION: settings.EDGE_REVISION,
  };
  const canary = await canaryState();

  if (stable.length === 0) {
    // Nothing serves yet: write the edge's live files and let compose start everything.
    await applyEdgeConfig(edgeSettings(canary));
    await compose(['up', '-d', SERVICE, 'edge', ...SINGLETONS], { env });
    await ensureEdges(env, log);
  } else {
    // A running mesh: the edge's routes and limits change live; anything stopped starts (the
    // database and the singletons are recreated only if their own configuration changed), the
    // edges are brought back to two; then the replicas one at a time, and the edges last.
    const applied = await applyEdgeConfig(edgeSettings(canary));
    log(`the edge runs routes ${applied.routes} and clusters ${applied.clusters}`);
    await compose(['up', '-d', '--no-deps', ...SINGLETONS], { env });
    await ensureEdges(env, log);
    const { replaced } = await roll({
      service: SERVICE,
      cluster: STABLE,
      revision: settings.USERSVC_REVISION,
      replicas: want,
      env,
      log,
    });
    log(
      replaced
        ? `replaced ${replaced} replica(s) with revision ${settings.USERSVC_REVISION}`
        : `every replica runs revision ${settings.USERSVC_REVISION}`,
    );
    // A new edge takes over from each old one before it drains.
    const edges = await handOverEdges(settings.EDGE_REVISION, env, log);
    if (edges.replaced)
      log(`handed over to ${edges.replaced} new edge(s) (revision ${settings.EDGE_REVISION})`);
  }
  await untilHealthy(STABLE, want, log);
  if (observe === '1') await startObservability();
  else if (await observing()) await stopObservability();
  saveSettings(settings);
  await verifyMesh({ replicas: want, log: checked });
  const dev = settings.COMPOSE_FILE === DEV_FILES;
  const { port } = publishedPort(settings, 'EDGE_PORT');
  const https = publishedPort(settings, 'EDGE_HTTPS_PORT').port;
  console.log(
    dev
      ? 'the mesh is up in dev mode: edit user-service/src and each replica reloads it (make logs shows it); make up leaves dev mode'
      : `the mesh is up (version ${settings.SERVICE_VERSION}, ${want} replica(s)): curl 127.0.0.1:${port}/user/health, or curl --cacert secrets/ca.pem https://localhost:${https}/user/health`,
  );
}

export async function scale(want: number, say = log): Promise<void> {
  const settings = settingsOfThisRun();
  if ((await runningOf('edge')).length === 0 && !(await edgeIsUp()))
    throw new UsageError('the mesh is not up: make up first');
  await scaleTo({ service: SERVICE, cluster: STABLE, replicas: want, env: {}, log: say });
  await untilHealthy(STABLE, want, say);
  saveSettings({ ...settings, USERSVC_REPLICAS: String(want) });
  await verifyMesh({ replicas: want, log: (line) => say(`checked: ${line}`) });
}

export async function startCanary({
  weight = 10,
  replicas = 1,
  clientsPin = false,
}: { weight?: number; replicas?: number; clientsPin?: boolean } = {}): Promise<void> {
  settingsOfThisRun();
  if ((await runningOf(SERVICE)).length === 0 || !(await edgeIsUp()))
    throw new UsageError('the mesh is not up: make up first');
  const revision = await revisionOf(CANARY_SERVICE, {});
  const env = { CANARY_REVISION: revision, CANARY_REPLICAS: String(replicas) };
  // The key the mesh's own checks pin a request to this canary with (kept while it runs).
  const key = (await canaryState())?.key ?? newCanaryKey();
  if ((await runningOf(CANARY_SERVICE)).length > 0) {
    // A canary runs already: roll it onto this build, as make up rolls the stable set.
    await roll({ service: CANARY_SERVICE, cluster: CANARY, revision, replicas, env, log });
  } else {
    // Its cluster first, with only x-canary: KEY routed to it, until its replicas are healthy.
    await applyEdgeConfig(edgeSettings({ weight: 0, key, clientsPin: false }));
    try {
      await compose(
        ['up', '-d', '--no-deps', '--scale', `${CANARY_SERVICE}=${replicas}`, CANARY_SERVICE],
        { env },
      );
      await untilHealthy(CANARY, replicas, log);
    } catch (err) {
      for (const r of await inspectService(CANARY_SERVICE)) await docker(['rm', '-f', r.id]);
      await applyEdgeConfig(edgeSettings(null));
      throw new RolloutFailed(
        `the canary did not start, and was removed: ${(err as Error).message}`,
      );
    }
  }
  const applied = await applyEdgeConfig(edgeSettings({ weight, key, clientsPin }));
  const canaryEnv = Object.fromEntries(
    SERVICE_SETTINGS.filter((k) => process.env[k]).map((k) => [k, process.env[k]!]),
  );
  writeCanaryState({ weight, env: canaryEnv, key, clientsPin });
  // Only the canary's own entries: its environment is not the stable set's.
  saveSettings({ ...loadSettings({}), ...env });
  const canaries = await runningOf(CANARY_SERVICE);
  const version = canaries[0]?.version ?? '-';
  await verifyMesh({ replicas: declared(), log: checked });
  await verifyCanary(canaries, key, checked);
  log(
    `canary ${version} takes ${weight} % of traffic${clientsPin ? ' and every request with x-canary: 1' : " (a client's x-canary changes nothing: CANARY_PIN=1 lets clients pick it)"} (routes ${applied.routes})`,
  );
}

async function removeCanary(): Promise<void> {
  await applyRoutes(edgeSettings(null));
  for (const r of await inspectService(CANARY_SERVICE))
    await (r.running ? retire(r) : docker(['rm', r.id]));
  await applyEdgeConfig(edgeSettings(null));
  removeCanaryState();
  const settings = loadSettings({});
  delete settings.CANARY_REVISION;
  delete settings.CANARY_REPLICAS;
  saveSettings(settings);
}

export async function rollback(): Promise<void> {
  settingsOfThisRun();
  if ((await inspectService(CANARY_SERVICE)).length === 0)
    return log('no canary runs: nothing to roll back');
  await removeCanary();
  await verifyMesh({ replicas: declared(), log: checked });
  log('the canary is gone; every request goes to the stable replicas');
}

export async function promote(): Promise<void> {
  const settings = settingsOfThisRun();
  const canary = await canaryState();
  if (!canary) throw new UsageError('no canary runs: start one with make canary');
  const image = (
    await docker(['inspect', '-f', '{{.Image}}', (await runningOf(CANARY_SERVICE))[0]!.id])
  ).trim();
  await docker(['tag', image, 'usermesh/usersvc:latest']);
  // The canary's environment becomes the stable set's, kept in .env for later make ups.
  Object.assign(settings, canary.env);
  useSettings(settings);
  settings.USERSVC_REVISION = await revisionOf(SERVICE, {});
  const want = (await runningOf(SERVICE)).length;
  const { replaced } = await roll({
    service: SERVICE,
    cluster: STABLE,
    revision: settings.USERSVC_REVISION,
    replicas: want,
    env: { USERSVC_REVISION: settings.USERSVC_REVISION },
    log,
  });
  log(`promoted: replaced ${replaced} stable replica(s) with the canary's image`);
  saveSettings(settings);
  await removeCanary();
  await untilHealthy(STABLE, want, log);
  await verifyMesh({ replicas: declared(), log: checked });
}

/** Only write the edge's live files (for scripts/docker-run.sh), applied live if the edge runs. */
export async function edgeConfig(): Promise<void> {
  const applied = await applyEdgeConfig(edgeSettings(await canaryState()));
  log(
    `the edge's live files: routes ${applied.routes}, clusters ${applied.clusters} (${EDGE_LIVE_DIR})`,
  );
}

/** Only render the edge's live files into a directory of their own (Swarm, Kubernetes). */
export function edgeFiles(dir: string, edges: number): void {
  const written = writeEdgeFiles(dir, edgeSettings(null, edges));
  log(
    `the edge's files: routes ${written.routes}, clusters ${written.clusters} (${dir}, for ${edges} edge(s))`,
  );
}
