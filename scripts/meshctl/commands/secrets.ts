// meshctl secrets: the install's CA, certificates, passwords and token keys, where missing.
import type { Command } from '../../lib/cli.js';
import { UsageError } from '../../lib/errors.js';
import { meshCa } from '../../lib/secrets.js';

export const command: Command = {
  name: 'secrets',
  group: 'change',
  summary:
    "create the install's CA, certificates, passwords and token keys in secrets/, where missing",
  args: '[init|rotate|static DAYS]',
  arity: [0, 2],
  about: `init (the default) creates what is missing; rotate issues every service a new
certificate (meshctl rotate-certs also waits for the edges to present it); static DAYS the
long-lived set for Swarm and Kubernetes (secrets/static/). CERT_DAYS (default 1) sets a
certificate's lifetime. The CA runs in a one-off container with no network.`,
  async run({ args }) {
    const [verb = 'init', days] = args;
    if (
      !['init', 'rotate', 'static'].includes(verb) ||
      (verb === 'static') !== (days !== undefined)
    ) {
      throw new UsageError(`secrets: init, rotate or static DAYS, got "${args.join(' ')}"`);
    }
    await meshCa(args.length ? args : ['init']);
  },
};
