// meshctl kubernetes render|check: the manifests in kubernetes/, with no cluster.
import type { Command } from '../../lib/cli.js';
import { edgeSettingsFromEnv, writeEdgeFiles } from '../../lib/edge-config.js';
import { runShown } from '../../lib/run.js';
import { meshCa, SECRETS_DIR } from '../../lib/secrets.js';
import { secretsManifest } from '../../kubernetes/secrets.js';

/** The edge Deployment's replicas (kubernetes/base/edge): each enforces its share of the limits. */
const EDGES = 2;

export const render: Command = {
  name: 'kubernetes render',
  group: 'deploy',
  summary: "write the edge's routes and clusters for kubernetes/ from the templates in envoy/",
  run() {
    const dir = 'kubernetes/base/edge';
    const written = writeEdgeFiles(dir, edgeSettingsFromEnv(process.env, EDGES));
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
