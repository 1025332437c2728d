// meshctl edge-config: only write the edge's live routes and clusters (scripts/docker-run.sh).
import { count, type Command } from '../../lib/cli.js';
import { plainHttpFromEnv, plainHttpPublish } from '../../lib/edge-config.js';
import { loadSettings } from '../../lib/settings.js';
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
limits (make swarm-up: one edge). With --publish, only print where plain HTTP is published
(ADDRESS:PORT, from EDGE_HTTP and EDGE_PORT), as make up tells compose.`,
  flags: [{ name: 'publish', help: 'print where plain HTTP is published, and nothing else' }],
  async run({ args, flags }) {
    if (flags.publish) {
      const settings = loadSettings();
      return console.log(plainHttpPublish(plainHttpFromEnv(settings), settings));
    }
    if (args.length === 0) return edgeConfig();
    edgeFiles(args[0]!, count('EDGES', args[1]) ?? 1);
  },
};
