// meshctl rollback: nothing more to the canary, and the canary gone.
import type { Command } from '../../lib/cli.js';
import { rollback } from '../../rollout/verbs.js';

export const command: Command = {
  name: 'rollback',
  group: 'change',
  summary: 'send nothing more to the canary and remove it',
  failure: 'rollout failed',
  async run() {
    await rollback();
  },
};
