// meshctl clean: remove everything the mesh made on the engine, its data and its settings.
import { rmSync } from 'node:fs';
import type { Command } from '../../lib/cli.js';
import { composeShown } from '../../lib/compose.js';
import { STATE_DIR } from '../../lib/paths.js';
import { ENV_FILE } from '../../lib/settings.js';

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
    rmSync(STATE_DIR, { recursive: true, force: true });
    rmSync(ENV_FILE, { force: true });
  },
};
