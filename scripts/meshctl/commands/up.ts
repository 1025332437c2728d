// meshctl up: start the mesh, or roll what changed onto the running one with no request lost.
import { count, type Command } from '../../lib/cli.js';
import { UsageError } from '../../lib/errors.js';
import { up } from '../../rollout/verbs.js';
import { prepare } from '../prepare.js';

export const observeFrom = (raw: string | boolean | undefined): '1' | '0' | undefined => {
  if (raw === undefined) return undefined;
  if (raw !== '1' && raw !== '0')
    throw new UsageError(
      `--observe must be 1 (start Prometheus and Zipkin) or 0 (stop them), got "${String(raw)}"`,
    );
  return raw;
};

export const command: Command = {
  name: 'up',
  failure: 'rollout failed',
  group: 'use',
  summary: 'build and start the mesh, or roll changes onto it with no request lost',
  flags: [
    {
      name: 'replicas',
      value: 'N',
      env: 'N',
      help: 'user-service replicas (default: as declared in .env, else 1)',
    },
    {
      name: 'observe',
      value: '1|0',
      env: 'OBSERVE',
      help: 'start (1) or stop (0) Prometheus and Zipkin; else as it is',
    },
  ],
  about: `Finds the base images (or builds them with the offline kit), creates the install's
secrets where missing, builds what changed, then starts the mesh or rolls the changes onto
it: replicas one at a time, the edge's routes live, the edges handed over. Starts whatever
is stopped. Ends with meshctl check's look through the published port; exit 1 if it fails.
Leaves dev mode (meshctl dev).`,
  examples: ['meshctl up', 'meshctl up --replicas 3 --observe 1', 'make up N=3'],
  async run({ flags }) {
    const options = {
      replicas: count('--replicas', flags.replicas),
      observe: observeFrom(flags.observe),
    };
    await prepare({ dev: false, observe: options.observe });
    await up(options);
  },
};
