// meshctl clean: remove everything the mesh made on the engine, its data and its settings.
import { rmSync } from 'node:fs';
import type { Command } from '../../lib/cli.js';
import { composeShown } from '../../lib/compose.js';
import { ROOT } from '../../lib/run.js';

export const command: Command = {
  name: 'clean',
  group: 'use',
  summary:
    "remove the mesh's containers, network and data volume, and its settings (.env): meshctl backup first",
  about: `Every container, network and volume of the mesh, the data too, and .env and .mesh/.
The images and secrets/ stay, so the next meshctl up is quick.`,
  async run() {
    await composeShown(['down', '--volumes', '--remove-orphans', '--timeout', '20'], {
      env: { COMPOSE_PROFILES: 'canary,observe' },
    });
    rmSync(`${ROOT}.mesh`, { recursive: true, force: true });
    rmSync(`${ROOT}.env`, { force: true });
  },
};
