// meshctl docker-run print: the mesh as plain `docker run` commands, rendered from
// compose/docker-compose.yml (scripts/lib/docker-run.ts); scripts/docker-run.sh is its output.
import { readFileSync } from 'node:fs';
import type { Command } from '../../lib/cli.js';
import { renderDockerRun } from '../../lib/docker-run.js';
import { ROOT } from '../../lib/paths.js';
import { MAIN_FILE } from '../../lib/settings.js';

export const print: Command = {
  name: 'docker-run print',
  group: 'deploy',
  summary: 'print the mesh as a bash script of plain docker commands (scripts/docker-run.sh)',
  about: `Renders compose/docker-compose.yml, key by key, as docker build and docker run
commands: the same images, hardening, secrets, health checks, networks and ports.
scripts/docker-run.sh is this output (a unit test keeps them equal); run it as
scripts/docker-run.sh up 3, and scripts/docker-run.sh down. Touches nothing.`,
  examples: ['meshctl docker-run print > scripts/docker-run.sh'],
  run() {
    process.stdout.write(renderDockerRun(readFileSync(`${ROOT}${MAIN_FILE}`, 'utf8')));
    return Promise.resolve();
  },
};
