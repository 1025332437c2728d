// meshctl edge-config: only write the edge's live routes and clusters (scripts/docker-run.sh).
import { count, type Command } from '../../lib/cli.js';
import { edgeConfig, edgeFiles } from '../../rollout/verbs.js';

export const command: Command = {
  name: 'edge-config',
  group: 'deploy',
  summary:
    "write the edge's live routes and clusters (.mesh/edge, or DIR for EDGES edge processes)",
  args: '[DIR EDGES]',
  arity: [0, 2],
  about: `With no arguments, into .mesh/edge/, applied live if an edge runs (scripts/docker-run.sh
uses this). With DIR and EDGES, only rendered there, each edge enforcing 1/EDGES of the
limits (make swarm-up: one edge).`,
  async run({ args }) {
    if (args.length === 0) return edgeConfig();
    edgeFiles(args[0]!, count('EDGES', args[1]) ?? 1);
  },
};
