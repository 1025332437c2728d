// meshctl scale N: that many replicas, drained as they go.
import { count, type Command } from '../../lib/cli.js';
import { UsageError } from '../../lib/errors.js';
import { scale } from '../../rollout/verbs.js';

export const command: Command = {
  name: 'scale',
  failure: 'rollout failed',
  group: 'change',
  summary: 'run N user-service replicas, drained as they go (stopped and unhealthy ones first)',
  args: 'N',
  arity: [0, 1],
  flags: [{ name: 'replicas', value: 'N', env: 'N', help: 'the same as the argument' }],
  about: `Adds replicas and waits until every edge routes to them, or removes the stopped, then the
unhealthy, then the newest ones, each drained first. Writes the count to .env, so that
compose's own commands keep it. Ends with meshctl check's look.`,
  examples: ['meshctl scale 3', 'make scale N=3'],
  async run({ flags, args }) {
    const want = count('N', args[0] ?? flags.replicas);
    if (want === undefined)
      throw new UsageError('how many replicas? meshctl scale 3 (make scale N=3)');
    await scale(want);
  },
};
