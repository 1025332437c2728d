// meshctl promote: the stable replicas take the canary's image and environment.
import type { Command } from '../../lib/cli.js';
import { promote } from '../../rollout/verbs.js';

export const command: Command = {
  name: 'promote',
  group: 'change',
  summary: "roll the stable replicas onto the canary's version, then remove the canary",
  failure: 'rollout failed',
  async run() {
    await promote();
  },
};
