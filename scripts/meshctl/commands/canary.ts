// meshctl canary: the tree as it is now, beside the stable replicas, taking a share of traffic.
import { count, type Command } from '../../lib/cli.js';
import { composeShown } from '../../lib/compose.js';
import { weightFrom } from '../../lib/edge-config.js';
import { UsageError } from '../../lib/errors.js';
import { startCanary } from '../../rollout/verbs.js';

const pinFrom = (raw: string | boolean | undefined): boolean => {
  if (raw === undefined || raw === '0' || raw === '') return false;
  if (raw === '1') return true;
  throw new UsageError(`--pin must be 1 or 0, got "${String(raw)}"`);
};

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
    {
      name: 'pin',
      value: '1|0',
      env: 'CANARY_PIN',
      help: 'let clients pick the canary with x-canary: 1 (default 0: the header changes nothing)',
    },
  ],
  about: `Builds usermesh/usersvc:canary, starts it, and sends it PERCENT of requests. A client's
x-canary header changes nothing unless --pin 1 lets every request with x-canary: 1 reach it (an
unreleased build is not every client's to pick); the mesh's own checks reach it with a key of
this canary's. Run it again to change the weight or roll it onto a newer build; then meshctl
promote or meshctl rollback.`,
  examples: ['meshctl canary --weight 10', 'make canary WEIGHT=25', 'make canary CANARY_PIN=1'],
  async run({ flags }) {
    const options = {
      weight: weightFrom(flags.weight === undefined ? undefined : String(flags.weight)),
      replicas: count('--replicas', flags.replicas),
      clientsPin: pinFrom(flags.pin),
    };
    await composeShown(['build', 'usersvc-canary']);
    await startCanary(options);
  },
};
