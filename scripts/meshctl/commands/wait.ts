// meshctl wait: until every edge counts N healthy replicas (as kubectl rollout status waits).
import { count, type Command } from '../../lib/cli.js';
import { STABLE } from '../../lib/edge-config.js';
import { untilHealthy } from '../../lib/edge-hosts.js';
import { UsageError } from '../../lib/errors.js';

export const command: Command = {
  name: 'wait',
  group: 'inspect',
  summary: 'wait until every edge counts N healthy user-service replicas (90 s at most)',
  args: 'N',
  arity: [1, 1],
  about: `Asks each running edge's admin (or the one on 127.0.0.1:8001 where no compose edge runs,
as with scripts/docker-run.sh). Exit 1, with what they count, if they do not within 90 s.`,
  examples: ['meshctl wait 3'],
  async run({ args }) {
    const want = count('N', args[0]);
    if (want === undefined) throw new UsageError('how many replicas? meshctl wait 3');
    await untilHealthy(STABLE, want, (line) => console.log(line));
  },
};
