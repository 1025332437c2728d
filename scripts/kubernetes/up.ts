// meshctl kubernetes up: the mesh on the lab cluster (make kubernetes-lab). Builds the images
// and copies them into the cluster's containerd (no registry), tagged by content, so a changed
// image rolls; applies this install's Secrets and kubernetes/overlays/lab with the edge's files
// rendered from the environment (EDGE_LIMIT_* as for compose); then waits until every workload
// is rolled out and the edge answers a read of the database from every ready replica.
import { mkdirSync, writeFileSync } from 'node:fs';
import { progress } from '../lib/cli.js';
import { buildImages } from '../lib/compose.js';
import { contentTag, docker } from '../lib/docker.js';
import { remoteEdgeSettingsFromEnv, writeEdgeFiles } from '../lib/edge-config.js';
import { runShown } from '../lib/run.js';
import { STATE_DIR } from '../lib/paths.js';
import { meshCa, SECRETS_DIR, tokenKeysVersion } from '../lib/secrets.js';
import { until } from '../lib/wait.js';
import { answering, edgeUrl, kubectl, LAB, readyReplicas, REGISTRY } from './cluster.js';
import { secretsManifest } from './secrets.js';

const IMAGES = ['usersvc', 'edge', 'postgres'];
/** The overlay that `up` applies: the lab's, with the images' tags and the edge's files. */
const DIR = `${STATE_DIR}kubernetes`;
/** The edge Deployment's replicas (kubernetes/base/edge.yaml): each enforces its share. */
const EDGES = 2;

export async function up({ waitSeconds = 300 } = {}): Promise<string> {
  const log = progress('kubernetes-up');
  await buildImages();
  const tags: Record<string, string> = {};
  const names: string[] = [];
  for (const image of IMAGES) {
    tags[image] = await contentTag(image);
    names.push(`${REGISTRY}/${image}:${tags[image]}`);
    await docker(['tag', `usermesh/${image}:latest`, names.at(-1)!]);
  }
  await runShown(LAB, ['import', ...names]);
  log(`images in the cluster: ${IMAGES.map((i) => `${i}:${tags[i]}`).join(' ')}`);

  await kubectl(['apply', '-f', 'kubernetes/overlays/lab/namespace.yaml']);
  await meshCa(['init'], { toStderr: true });
  await meshCa(['static', process.env.STATIC_CERT_DAYS || '30'], { toStderr: true });
  mkdirSync(`${DIR}/edge`, { recursive: true });
  writeEdgeFiles(`${DIR}/edge`, remoteEdgeSettingsFromEnv(process.env, EDGES));
  writeFileSync(
    `${DIR}/kustomization.yaml`,
    [
      '# Written by meshctl kubernetes up: the lab overlay, these images, these edge files.',
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources: [../../kubernetes/overlays/lab]',
      'images:',
      ...IMAGES.map((i) => `  - { name: ${REGISTRY}/${i}, newTag: "${tags[i]}" }`),
      'configMapGenerator:',
      '  - { name: edge-live, behavior: replace, files: [edge/routes.yaml, edge/clusters.yaml] }',
      // The token keys the pods read at start: new keys (meshctl rotate-keys) roll them.
      'patches:',
      '  - target: { kind: Deployment, name: "usersvc|edge" }',
      '    patch: |-',
      '      - op: add',
      '        path: /spec/template/metadata/annotations',
      `        value: { mesh/token-keys: "${tokenKeysVersion()}" }`,
      '',
    ].join('\n'),
  );

  await kubectl(['apply', '-f', '-'], { input: secretsManifest(SECRETS_DIR) });
  await kubectl(['apply', '-k', DIR]);
  log('applied kubernetes/overlays/lab');

  const timeout = `${waitSeconds}s`;
  for (const workload of ['statefulset/postgres', 'deployment/usersvc', 'deployment/edge'])
    await kubectl(['rollout', 'status', workload, `--timeout=${timeout}`], {
      timeoutMs: (waitSeconds + 10) * 1000,
    });
  log('postgres, usersvc and edge rolled out');

  const base = await edgeUrl();
  await until(
    waitSeconds * 1000,
    async () => {
      const ready = await readyReplicas();
      const seen = await answering(base, ready.length * 8);
      return ready.length > 0 && ready.every((r) => seen.has(r)) ? ready : undefined;
    },
    () => `the edge did not answer from every ready replica (${base})`,
  );
  log(`the edge answers from every ready replica: ${base}/user/health`);
  return base;
}
