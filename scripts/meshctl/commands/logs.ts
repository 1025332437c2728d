// meshctl logs: the mesh's logs, of every service or of those named.
import type { Command } from '../../lib/cli.js';
import { composeShown } from '../../lib/compose.js';

export const command: Command = {
  name: 'logs',
  group: 'inspect',
  summary: "the mesh's logs (the last 50 lines of each container; --follow to keep reading)",
  args: '[SERVICE...]',
  arity: [0, 20],
  flags: [
    { name: 'follow', help: 'keep printing what comes (Ctrl-C stops)' },
    { name: 'tail', value: 'N', help: 'lines of each container to start with (default 50)' },
  ],
  examples: ['meshctl logs --follow', 'meshctl logs usersvc edge', 'make logs'],
  async run({ flags, args }) {
    const tail = String(flags.tail ?? '50');
    await composeShown(['logs', ...(flags.follow ? ['-f'] : []), `--tail=${tail}`, ...args]);
  },
};
