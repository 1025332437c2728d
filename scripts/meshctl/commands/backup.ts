// meshctl backup FILE: the users database, consistent, in one file.
import type { Command } from '../../lib/cli.js';
import { UsageError } from '../../lib/errors.js';
import { backup } from '../../backup/verbs.js';

export const command: Command = {
  name: 'backup',
  group: 'use',
  summary: 'save the database, consistent, to a file (mode 0600: it holds the password hashes)',
  args: 'FILE',
  arity: [0, 1],
  flags: [{ name: 'file', value: 'FILE', env: 'FILE', help: 'the same as the argument' }],
  about:
    'pg_dump inside the postgres container, as one snapshot; the file is read back whole before this says so.',
  examples: ['meshctl backup backups/users.backup', 'make backup FILE=backups/users.backup'],
  async run({ flags, args }) {
    const file = args[0] ?? flags.file;
    if (typeof file !== 'string' || !file)
      throw new UsageError(
        'which file? meshctl backup backups/users.backup (make backup FILE=...)',
      );
    await backup(file);
  },
};
