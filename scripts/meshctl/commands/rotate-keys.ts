// meshctl rotate-keys: tokens signed with a new key from now on, with no login or delete failed.
import type { Command } from '../../lib/cli.js';
import { runningOf } from '../../lib/containers.js';
import { meshCa } from '../../lib/secrets.js';
import { up } from '../../rollout/verbs.js';

export const command: Command = {
  name: 'rotate-keys',
  failure: 'rollout failed',
  group: 'change',
  summary:
    'sign tokens with a new key; tokens of the old one stay valid until they expire (rolls the mesh)',
  about: `The install keeps a next key, published in secrets/jwks.json a rotation ahead of its
use: every edge and replica already trusts it. This makes it the signing key, retires the
current one (still published for 24 hours, the longest a token may live) and makes a new next
one; then rolls the replicas and hands over the edges (as meshctl up does), so that each reads
the new keys, with no request lost. On Swarm and Kubernetes, run meshctl swarm up or meshctl
kubernetes up afterwards: they carry the new keys as new secrets.`,
  examples: ['meshctl rotate-keys', 'make rotate-keys'],
  async run() {
    await meshCa(['rotate-token-keys']);
    if ((await runningOf('usersvc')).length === 0) {
      console.log('no mesh runs here: the next meshctl up starts it with the new keys');
      return;
    }
    await up();
  },
};
