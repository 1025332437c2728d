// meshctl swarm up|down: the stack on a Docker Swarm (compose/stack.yml).
import type { Command } from '../../lib/cli.js';
import { runShown } from '../../lib/run.js';

export const up: Command = {
  name: 'swarm up',
  group: 'deploy',
  summary: 'deploy the stack on a swarm, or update it (SWARM_HOST names a manager, SWARM_NODES every node)',
  flags: [{ name: 'replicas', value: 'N', env: 'N', help: 'user-service replicas (default: those running, 2 at first)' }],
  about: `Builds and copies the images to every node (no registry), issues the long-lived
certificates where due, renders the edge's files, labels the nodes, deploys, and waits
until every service runs its new version.`,
  examples: ['meshctl swarm up', "SWARM_HOST=ssh://me@manager SWARM_NODES='ssh://me@manager ssh://me@worker' meshctl swarm up"],
  async run({ flags }) {
    await runShown('scripts/swarm/up.sh', [], { ...process.env, ...(flags.replicas ? { N: String(flags.replicas) } : {}) });
  },
};

export const down: Command = {
  name: 'swarm down',
  group: 'deploy',
  summary: 'remove the stack from the swarm (the database volume stays on its node)',
  async run() {
    await runShown('scripts/swarm/down.sh');
  },
};
