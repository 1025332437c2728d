// meshctl canary: the tree as it is now, beside the stable replicas, taking a share of traffic.
import { count, type Command } from '../../lib/cli.js';
import { composeShown } from '../../lib/compose.js';
import { weightFrom } from '../../lib/edge-config.js';
import { startCanary } from '../../rollout/verbs.js';

export const command: Command = {
  name: 'canary',
  group: 'change',
  summary: 'run the tree as it is now beside the stable replicas, for a share of the traffic',
  failure: 'rollout failed',
  flags: [
    {
      name: 'weight',
      value: 'PERCENT',
      env: 'WEIGHT',
      help: 'its share of requests, 0 to 100 (default 10)',
    },
    { name: 'replicas', value: 'N', env: 'CANARY_N', help: 'canary replicas (default 1)' },
  ],
  about: `Builds usermesh/usersvc:canary, starts it, and sends it PERCENT of requests and every
request with x-canary: 1. Run it again to change the weight or roll it onto a newer build;
then meshctl promote or meshctl rollback.`,
  examples: ['meshctl canary --weight 10', 'make canary WEIGHT=25'],
  async run({ flags }) {
    const options = {
      weight: weightFrom(flags.weight === undefined ? undefined : String(flags.weight)),
      replicas: count('--replicas', flags.replicas),
    };
    await composeShown(['build', 'usersvc-canary']);
    await startCanary(options);
  },
};
