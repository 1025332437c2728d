// meshctl swarm up|down: the stack on a Docker Swarm (compose/stack.yml).
import { count, type Command } from '../../lib/cli.js';
import { deploy } from '../../swarm/deploy.js';
import { remove } from '../../swarm/remove.js';

export const up: Command = {
  name: 'swarm up',
  group: 'deploy',
  summary:
    'deploy the stack on a swarm, or update it (SWARM_HOST names a manager, SWARM_NODES every node)',
  failure: 'swarm-up',
  flags: [
    {
      name: 'replicas',
      value: 'N',
      env: 'N',
      help: 'user-service replicas (default: those running, 2 at first)',
    },
  ],
  about: `Builds and copies the images to every node (no registry), issues the long-lived
certificates where due, renders the edge's files, labels the nodes, deploys, and waits
until every service runs its new version (SWARM_WAIT seconds, 300).`,
  examples: [
    'meshctl swarm up',
    "SWARM_HOST=ssh://me@manager SWARM_NODES='ssh://me@manager ssh://me@worker' meshctl swarm up",
  ],
  async run({ flags }) {
    await deploy({ replicas: count('N', flags.replicas) });
  },
};

export const down: Command = {
  name: 'swarm down',
  group: 'deploy',
  summary: 'remove the stack from the swarm (the database volume stays on its node)',
  failure: 'swarm-down',
  async run() {
    await remove();
  },
};
