// meshctl check: is the mesh up as declared, seen the way its users reach it?
import type { Command } from '../../lib/cli.js';
import { check } from '../../rollout/verbs.js';

export const command: Command = {
  name: 'check',
  group: 'inspect',
  summary: 'is the mesh up as declared: every service running, and a request through the published port answered',
  failure: 'check',
  about: 'Changes nothing. Exit 0 when all holds, 1 naming what does not.',
  async run() {
    await check();
  },
};
