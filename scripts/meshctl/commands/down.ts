// meshctl down: stop and remove the containers; the data volume stays.
import type { Command } from '../../lib/cli.js';
import { composeShown } from '../../lib/compose.js';

export const command: Command = {
  name: 'down',
  group: 'use',
  summary:
    "stop and remove the containers (a canary's and the observability profile's too); the data stays",
  about: 'The database volume, secrets/ and .env stay: meshctl up brings the same mesh back.',
  async run() {
    await composeShown(['down', '--timeout', '20'], {
      env: { COMPOSE_PROFILES: 'canary,observe' },
    });
  },
};
