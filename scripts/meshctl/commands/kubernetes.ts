// meshctl kubernetes render|check: the manifests in kubernetes/, with no cluster.
import type { Command } from '../../lib/cli.js';
import { limitsFromEnv, writeEdgeFiles } from '../../lib/edge-config.js';
import { runShown } from '../../lib/run.js';

/** The edge Deployment's replicas (kubernetes/base/edge): each enforces its share of the limits. */
const EDGES = 2;

export const render: Command = {
  name: 'kubernetes render',
  group: 'deploy',
  summary: "write the edge's routes and clusters for kubernetes/ from the templates in envoy/",
  run() {
    const dir = 'kubernetes/base/edge';
    const written = writeEdgeFiles(dir, {
      limits: limitsFromEnv(process.env),
      edges: EDGES,
      canaryWeight: null,
    });
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
