// meshctl restore FILE: a backup into the running mesh's database, all of it or nothing.
import type { Command } from '../../lib/cli.js';
import { UsageError } from '../../lib/errors.js';
import { restore } from '../../backup/verbs.js';

export const command: Command = {
  name: 'restore',
  group: 'use',
  summary: "load a backup into the running mesh's empty database (--force replaces its users)",
  args: 'FILE',
  arity: [0, 1],
  flags: [
    { name: 'file', value: 'FILE', env: 'FILE', help: 'the same as the argument' },
    { name: 'force', env: 'FORCE', help: 'replace the users the database holds' },
    {
      name: 'key',
      value: 'FILE',
      env: 'BACKUP_KEY_FILE',
      help: "another install's backup key (its secrets/backup_key), for its backup",
    },
    {
      name: 'unsigned',
      env: 'UNSIGNED',
      help: 'a backup with no key at all (made before backups were signed)',
    },
  ],
  about: `Checks FILE whole before touching anything (its checksum, that this install's backup key
signed it, and that its dump holds only the service's tables), then loads it in one
transaction, as the service's own database role: all of it or, on any error, nothing. Ends
reading a restored user back through the published port.`,
  examples: [
    'meshctl restore backups/users.backup',
    'make restore FILE=backups/users.backup FORCE=1',
    'meshctl restore their.backup --key their-secrets/backup_key',
  ],
  async run({ flags, args }) {
    const file = args[0] ?? flags.file;
    if (typeof file !== 'string' || !file)
      throw new UsageError(
        'which file? meshctl restore backups/users.backup (make restore FILE=...)',
      );
    await restore(file, {
      force: flags.force === true,
      ...(typeof flags.key === 'string' && flags.key ? { key: flags.key } : {}),
      unsigned: flags.unsigned === true,
    });
  },
};
