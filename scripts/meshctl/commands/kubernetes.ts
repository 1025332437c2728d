// meshctl kubernetes render|check|secrets|up: the manifests in kubernetes/, offline and on the lab.
import { count, type Command } from '../../lib/cli.js';
import { remoteEdgeSettingsFromEnv, writeEdgeFiles } from '../../lib/edge-config.js';
import { runShown } from '../../lib/run.js';
import { meshCa, SECRETS_DIR } from '../../lib/secrets.js';
import { secretsManifest } from '../../kubernetes/secrets.js';
import { up as upOnLab } from '../../kubernetes/up.js';

/** The edge Deployment's replicas (kubernetes/base/edge): each enforces its share of the limits. */
const EDGES = 2;

export const render: Command = {
  name: 'kubernetes render',
  group: 'deploy',
  summary: "write the edge's routes and clusters for kubernetes/ from the templates in envoy/",
  run() {
    const dir = 'kubernetes/base/edge';
    const written = writeEdgeFiles(dir, remoteEdgeSettingsFromEnv(process.env, EDGES));
    console.log(
      `the edge's files: routes ${written.routes}, clusters ${written.clusters} (${dir}, for ${EDGES} edges)`,
    );
    return Promise.resolve();
  },
};

export const check: Command = {
  name: 'kubernetes check',
  group: 'deploy',
  summary:
    'build kubernetes/ with kustomize and validate every object (strict); installs both on first use',
  async run() {
    await runShown('scripts/kubernetes/check.sh');
  },
};

export const secrets: Command = {
  name: 'kubernetes secrets',
  group: 'deploy',
  summary:
    "print the Secrets the manifests name, from this install's secrets/, as YAML for kubectl",
  flags: [
    {
      name: 'from',
      value: 'DIR',
      env: 'SECRETS_DIR',
      help: "another install's secrets directory, as it is (nothing issued)",
    },
  ],
  about: `Issues the long-lived certificates (secrets/static/, STATIC_CERT_DAYS, 30 days) where
missing or past half their life, then prints the Secrets on stdout (what the CA says goes to
stderr). Apply it again to renew: the proxies load a changed Secret live.`,
  examples: ['meshctl kubernetes secrets | kubectl apply -n usermesh -f -'],
  async run({ flags }) {
    const dir = typeof flags.from === 'string' ? flags.from : SECRETS_DIR;
    if (dir === SECRETS_DIR) {
      await meshCa(['init'], { toStderr: true });
      await meshCa(['static', process.env.STATIC_CERT_DAYS || '30'], { toStderr: true });
    }
    process.stdout.write(secretsManifest(dir));
  },
};

export const up: Command = {
  name: 'kubernetes up',
  group: 'deploy',
  summary: 'the mesh on the lab cluster (make kubernetes-lab): images, Secrets, the lab overlay',
  failure: 'kubernetes-up',
  flags: [
    {
      name: 'wait',
      value: 'SECONDS',
      env: 'KUBERNETES_WAIT',
      help: 'how long each workload may take to roll out (default 300)',
    },
  ],
  about: `Builds the images and copies them into the lab's containerd under a tag of their
content (no registry), applies this install's Secrets and kubernetes/overlays/lab with the
edge's files rendered from the environment, waits until postgres, usersvc and the edge are
rolled out and the edge answers from every ready replica, and prints the edge's address.
The lab's kubectl and credentials: eval "$(scripts/kubernetes-lab/lab.sh env)".`,
  examples: ['make kubernetes-lab && make kubernetes-up'],
  async run({ flags }) {
    const base = await upOnLab({ waitSeconds: count('KUBERNETES_WAIT', flags.wait) ?? 300 });
    console.log(`the mesh on Kubernetes: curl ${base}/user/health`);
  },
};
