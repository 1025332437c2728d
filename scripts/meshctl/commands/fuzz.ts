// meshctl fuzz: schemathesis fuzzes the API through the edge from its OpenAPI document.
import type { Command } from '../../lib/cli.js';
import { LIFTED_LIMITS } from '../../lib/edge-config.js';
import { edgeUrl } from '../../lib/edges.js';
import { runShown } from '../../lib/run.js';
import { up } from '../../rollout/verbs.js';
import { prepare } from '../prepare.js';

export const command: Command = {
  name: 'fuzz',
  group: 'inspect',
  summary: 'schemathesis fuzzes the API through the edge from its OpenAPI document, all checks on',
  args: '[SCHEMATHESIS-ARGS...]',
  arity: [0, 50],
  about: `Lifts the edge's per-client limits, brings the mesh up, then runs schemathesis (installed
into .cache/ on first use). Arguments after -- go to schemathesis.`,
  examples: ['meshctl fuzz', 'meshctl fuzz -- --max-examples 20'],
  async run({ args }) {
    Object.assign(process.env, LIFTED_LIMITS);
    await prepare({ dev: false });
    await up();
    // Where the host reaches the edge (EDGE_PORT, ADDRESS:PORT too; HTTPS where plain HTTP
    // only redirects), read in one place (lib/edges.ts).
    await runShown('scripts/fuzz-api.sh', args, { ...process.env, FUZZ_BASE: edgeUrl() });
  },
};
