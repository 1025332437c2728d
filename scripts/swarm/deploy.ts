// meshctl swarm up: deploy the mesh on a Docker Swarm, or update it (compose/stack.yml). Builds
// and copies the images, issues the long-lived certificates where due (secrets/static/),
// renders the edge's routes and clusters, labels the nodes for the database and the edge if no
// node has the label yet, deploys, then waits until every service runs its new version. Swarm
// rolls usersvc one task at a time, each new one healthy before an old one stops (stack.yml).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { progress } from '../lib/cli.js';
import { composeEnv } from '../lib/compose.js';
import { docker } from '../lib/docker.js';
import { remoteEdgeSettingsFromEnv, writeEdgeFiles } from '../lib/edge-config.js';
import { RolloutFailed, UsageError } from '../lib/errors.js';
import { httpRequest } from '../lib/http.js';
import { ROOT, STATE_DIR } from '../lib/paths.js';
import { meshCa, SECRETS_DIR } from '../lib/secrets.js';
import { serviceVersion } from '../lib/version.js';
import { until } from '../lib/wait.js';
import { IMAGES, managerHost, managerName, STACK, sw } from './engines.js';
import { shipImages } from './images.js';

const EDGE_DIR = `${STATE_DIR}swarm/edge`;
const log = progress('swarm-up');

/** The manager's node id; refused with what to do when the engine is no manager. */
async function manager(): Promise<string> {
  let state: string;
  try {
    state = (
      await sw([
        'info',
        '--format',
        '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}',
      ])
    ).trim();
  } catch (err) {
    throw new RolloutFailed(
      `cannot reach the Docker engine at ${managerName()}: ${(err as Error).message}`,
    );
  }
  const [local, isManager, self] = state.split(' ');
  if (local === 'active' && isManager === 'true') return self!;
  if (local === 'active')
    throw new RolloutFailed(
      `${managerName()}'s engine is a swarm worker: set SWARM_HOST to a manager (docker node ls, on a manager, lists them)`,
    );
  throw new RolloutFailed(
    `${managerName()}'s engine is not in a swarm (${local}): run docker swarm init there, or scripts/swarm/lab.sh up for a two-node swarm on this host (then: eval "$(scripts/swarm/lab.sh env)")`,
  );
}

const hash = (files: string[]) => {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex').slice(0, 10);
};
const inDir = (dir: string, match: RegExp) =>
  readdirSync(dir)
    .filter((n) => match.test(n))
    .sort()
    .map((n) => `${dir}/${n}`);

/** The version of the secrets the stack mounts: new secrets, new Swarm secret names. */
function secretsVersion(): string {
  const staticDirs = readdirSync(`${SECRETS_DIR}/static`)
    .sort()
    .map((d) => `${SECRETS_DIR}/static/${d}`);
  return hash([
    ...inDir(`${SECRETS_DIR}/postgres`, /_password$/),
    ...inDir(`${SECRETS_DIR}/usersvc`, /_password$/),
    `${SECRETS_DIR}/token-keys/current.pem`,
    `${SECRETS_DIR}/jwks.json`,
    ...staticDirs.flatMap((d) => inDir(d, /\.pem$/)),
  ]);
}

interface Converging {
  service: string;
  image: string;
  replicas: number;
}

/**
 * The node where a task of this service, on this image and created since `since`, failed for
 * want of the image; undefined if none did.
 */
async function nodeMissing(
  service: string,
  image: string,
  since = '',
): Promise<string | undefined> {
  const ids = (await sw(['service', 'ps', '-q', service])).split('\n').filter(Boolean);
  if (!ids.length) return undefined;
  const tasks = await sw([
    'inspect',
    '--type',
    'task',
    '-f',
    '{{.CreatedAt.Format "2006-01-02T15:04:05"}} {{.NodeID}} {{.Spec.ContainerSpec.Image}} {{.Status.Err}}',
    ...ids,
  ]);
  const missing = tasks
    .split('\n')
    .map((l) => l.split(' '))
    .find(
      ([at, , img, ...err]) =>
        at! >= since && img === image && err.join(' ').includes('No such image'),
    );
  if (!missing) return undefined;
  return (await sw(['node', 'inspect', '-f', '{{.Description.Hostname}}', missing[1]!])).trim();
}

const imageMissing = (node: string, image: string) =>
  new RolloutFailed(
    `node ${node} has no image ${image}: add its engine to SWARM_NODES (e.g. ssh://you@${node}) and run make swarm-up again, or copy it yourself: docker save ${image} | docker -H ssh://you@${node} load`,
  );

/** Has this service converged on its image? Fails at once on a missing image or a rollback. */
async function converged(
  { service, image, replicas }: Converging,
  since: string,
): Promise<boolean> {
  const node = await nodeMissing(service, image, since);
  if (node) throw imageMissing(node, image);
  const update = (
    await sw([
      'service',
      'inspect',
      '-f',
      '{{if .UpdateStatus}}{{.UpdateStatus.State}}: {{.UpdateStatus.Message}}{{end}}',
      service,
    ])
  ).trim();
  if (/^(rollback|paused)/.test(update)) {
    // A missing image is the likeliest cause, and the one a user can act on: look for it in
    // every task of the image, whenever made (once, in a CI run, the rollback was seen first).
    const missing = await nodeMissing(service, image);
    if (missing) throw imageMissing(missing, image);
    throw new RolloutFailed(
      `${service}: the update failed and Swarm rolled it back (${update}); docker service ps --no-trunc ${service} says why`,
    );
  }
  const running = (
    await sw([
      'service',
      'ps',
      '--filter',
      'desired-state=running',
      '--format',
      '{{.Image}} {{.CurrentState}}',
      service,
    ])
  )
    .split('\n')
    .filter((l) => l.startsWith(`${image} Running`)).length;
  return running === replicas && !update.startsWith('updating');
}

export async function deploy({ replicas }: { replicas?: number }): Promise<void> {
  const self = await manager();
  const tags = await shipImages(log);
  await meshCa(['init']);
  await meshCa(['static', process.env.STATIC_CERT_DAYS || '30']);
  // One edge (stack.yml); plain HTTP only redirects to HTTPS unless EDGE_HTTP=public.
  const edge = remoteEdgeSettingsFromEnv(process.env, 1);
  if (process.env.EDGE_HTTP?.trim() === 'local')
    log('EDGE_HTTP=local cannot be had on a swarm (no loopback-only ports): plain HTTP redirects');
  writeEdgeFiles(EDGE_DIR, edge);
  const versions = { SECRETS_V: secretsVersion(), EDGE_CONFIG_V: hash(inDir(EDGE_DIR, /\.yaml$/)) };
  await labelNodes(self);
  const want = await replicasWanted(replicas);

  // No registry: the nodes use the images they hold, by the tags shipImages gave them.
  const since = new Date().toISOString().slice(0, 19);
  await stackDeploy({
    ...composeEnv(),
    ...versions,
    USERSVC_REPLICAS: String(want),
    POSTGRES_TAG: tags.postgres!,
    USERSVC_TAG: tags.usersvc!,
    EDGE_TAG: tags.edge!,
  });
  await pinImages(tags);
  const wait = Number(process.env.SWARM_WAIT || 300);
  await untilConverged(
    [
      { service: `${STACK}_postgres`, image: `usermesh/postgres:${tags.postgres}`, replicas: 1 },
      { service: `${STACK}_usersvc`, image: `usermesh/usersvc:${tags.usersvc}`, replicas: want },
      { service: `${STACK}_edge`, image: `usermesh/edge:${tags.edge}`, replicas: 1 },
    ],
    since,
    wait,
  );
  await pruneOld(versions);
  log(
    `the stack ${STACK} runs usersvc ${tags.usersvc} (version ${serviceVersion(ROOT)}) x${want}, edge ${tags.edge}, postgres ${tags.postgres}`,
  );
  await edgeAnswers(wait, edge.http!.mode);
}

/** The nodes the database and the edge run on: this manager, unless some node is labelled. */
async function labelNodes(self: string): Promise<void> {
  for (const role of ['postgres', 'edge']) {
    if ((await sw(['node', 'ls', '-q', '--filter', `node.label=mesh.${role}=true`])).trim())
      continue;
    await sw(['node', 'update', '--label-add', `mesh.${role}=true`, self]);
    log(
      `no node had the label mesh.${role}=true; gave it to this manager (${(await sw(['node', 'inspect', '-f', '{{.Description.Hostname}}', self])).trim()})`,
    );
  }
}

/** The replicas asked for, else as many as run now, else 2. */
async function replicasWanted(asked: number | undefined): Promise<number> {
  const current = await sw([
    'service',
    'inspect',
    '-f',
    '{{.Spec.Mode.Replicated.Replicas}}',
    `${STACK}_usersvc`,
  ]).then(
    (s) => Number(s.trim()),
    () => undefined,
  );
  const want = asked ?? current ?? 2;
  if (!(want >= 1)) throw new UsageError(`N must be a whole number from 1 to 999, got "${want}"`);
  return want;
}

async function stackDeploy(env: NodeJS.ProcessEnv): Promise<void> {
  const host = managerHost() ? ['-H', managerHost()] : [];
  await docker(
    [
      ...host,
      'stack',
      'deploy',
      '--resolve-image',
      'never',
      '--prune',
      '-c',
      `${ROOT}compose/stack.yml`,
      STACK,
    ],
    { env, timeoutMs: 5 * 60_000 },
  );
}

/**
 * stack deploy keeps a service's image when the file's is unchanged, even if someone ran
 * `docker service update --image` since: this checkout's images are what should run.
 */
async function pinImages(tags: Record<string, string | undefined>): Promise<void> {
  for (const image of IMAGES) {
    const wanted = `usermesh/${image}:${tags[image]}`;
    const running = (
      await sw([
        'service',
        'inspect',
        '-f',
        '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
        `${STACK}_${image}`,
      ])
    ).trim();
    if (running !== wanted)
      await sw([
        'service',
        'update',
        '--detach',
        '--quiet',
        '--no-resolve-image',
        '--image',
        wanted,
        `${STACK}_${image}`,
      ]);
  }
}

async function untilConverged(services: Converging[], since: string, wait: number): Promise<void> {
  await until(
    wait * 1000,
    async () => {
      for (const s of services) if (!(await converged(s, since))) return undefined;
      return true;
    },
    async () =>
      `the stack did not converge within ${wait}s; what runs:\n${await sw(['service', 'ls', '--filter', `label=com.docker.stack.namespace=${STACK}`])}`,
  );
}

/** The secrets and configs of earlier versions, now unused (Swarm refuses to remove one in use). */
async function pruneOld(versions: { SECRETS_V: string; EDGE_CONFIG_V: string }): Promise<void> {
  for (const [kind, v] of [
    ['secret', versions.SECRETS_V],
    ['config', versions.EDGE_CONFIG_V],
  ] as const) {
    const old = (
      await sw([
        kind,
        'ls',
        '--filter',
        `label=com.docker.stack.namespace=${STACK}`,
        '--format',
        '{{.Name}}',
      ])
    )
      .split('\n')
      .filter((n) => n && !n.endsWith(`_${v}`));
    if (old.length) await sw([kind, 'rm', ...old]).catch(() => '');
  }
}

/**
 * Until a read of the database answers through the edge's published HTTPS port on the node
 * that runs it, as a client asks: a 404 for a user that does not exist (the edge, a replica,
 * its sidecar and the database). A converged stack is not yet a serving one: the edge's task
 * runs some seconds before its clusters load, and Swarm starts it after the replicas.
 */
async function edgeAnswers(waitSeconds: number, plainHttp: string): Promise<void> {
  const started = Date.now();
  const [hostname, id] = (
    await sw([
      'node',
      'ls',
      '--filter',
      'node.label=mesh.edge=true',
      '--format',
      '{{.Hostname}} {{.ID}}',
    ])
  )
    .split('\n')[0]!
    .split(' ');
  const address = (await sw(['node', 'inspect', '-f', '{{.Status.Addr}}', id!])).trim();
  const url = `https://${address}:8443/user/no-such-user`;
  let last = 'no answer yet';
  await until(
    waitSeconds * 1000,
    async () => {
      const answer = await httpRequest(url, { timeoutMs: 5000 });
      last = `${answer.status} ${answer.body.slice(0, 120)}`;
      return answer.status === 404 ? true : undefined;
    },
    async () =>
      `the edge on node ${hostname} did not answer a read through ${url} within ${waitSeconds}s (last: ${last}); its task: ${(await sw(['service', 'ps', '--no-trunc', '--format', '{{.CurrentState}} {{.Error}}', `${STACK}_edge`])).split('\n')[0]}`,
  );
  log(
    `the edge answers through https://${address}:8443 on node ${hostname} (a read of the database, after ${((Date.now() - started) / 1000).toFixed(1)} s); plain HTTP on 8000 ${plainHttp === 'public' ? 'serves too (EDGE_HTTP=public)' : 'redirects to it'}`,
  );
}
