// meshctl ps: the mesh's containers, as compose lists them.
import type { Command } from '../../lib/cli.js';
import { composeShown } from '../../lib/compose.js';

export const command: Command = {
  name: 'ps',
  group: 'inspect',
  summary: "the mesh's containers",
  async run() {
    await composeShown(['ps']);
  },
};
