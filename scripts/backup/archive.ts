// The backup file: a line that says what it is, a line of JSON about it, then PostgreSQL's own
// dump (pg_dump's custom format) of the users database. The JSON holds the dump's length and
// SHA-256, so a file that was cut short, changed, or is not ours at all is refused before the
// running database is touched; and an HMAC of itself with the install's backup key
// (secrets/backup_key), so that only a backup this install made, or one made with a key its
// operator names, is restored at all. What the dump may hold is checked too (tocPlan): only
// the tables the service makes. Pure: make backup and make restore (verbs.ts) do the I/O.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Failure } from '../lib/errors.js';

export const MAGIC = 'usermesh-backup 1';
/** pg_dump's custom format starts so. */
const PGDMP = Buffer.from('PGDMP');

export interface Header {
  created: string; // ISO 8601
  database: string;
  format: 'pg_dump custom';
  bytes: number; // of the dump that follows
  sha256: string; // of the dump that follows
  users: number; // rows in users when the dump began
  serviceVersion: string;
  /** HMAC-SHA256 of the two lines without it, with the install's backup key; none before 2026-12-07. */
  hmac?: string;
}

/** A file is not a backup we can restore: one line for the user. */
export class BadBackup extends Failure {}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const hmacOf = (header: Omit<Header, 'hmac'>, key: Buffer) =>
  createHmac('sha256', key)
    .update(`${MAGIC}\n${JSON.stringify(header)}`)
    .digest('hex');

/** The two lines that go before the dump, signed with `key`. */
export function headerFor(
  dump: Buffer,
  about: Pick<Header, 'created' | 'database' | 'users' | 'serviceVersion'>,
  key: Buffer,
): Buffer {
  const header: Omit<Header, 'hmac'> = {
    ...about,
    format: 'pg_dump custom',
    bytes: dump.length,
    sha256: sha256(dump),
  };
  return Buffer.from(`${MAGIC}\n${JSON.stringify({ ...header, hmac: hmacOf(header, key) })}\n`);
}

/** Whose key a backup must carry: this install's (or another's, named), or none at all. */
export type Trust = { key: Buffer | null; keyName: string } | 'unsigned';

/** The header and the dump of a whole backup file, checked; BadBackup says what is wrong. */
export function openBackup(file: Buffer, trust: Trust): { header: Header; dump: Buffer } {
  const first = file.indexOf('\n');
  if (first < 0 || file.subarray(0, first).toString('utf8') !== MAGIC) {
    throw new BadBackup(
      `not a backup of this mesh: it does not begin with "${MAGIC}" (make backup writes one)`,
    );
  }
  const second = file.indexOf('\n', first + 1);
  let header: Header;
  try {
    header = JSON.parse(
      file.subarray(first + 1, second < 0 ? undefined : second).toString('utf8'),
    ) as Header;
  } catch {
    throw new BadBackup(
      'its header is damaged (its second line is not JSON): the file is cut short or was changed',
    );
  }
  if (
    second < 0 ||
    header.format !== 'pg_dump custom' ||
    !Number.isInteger(header.bytes) ||
    !/^[0-9a-f]{64}$/.test(String(header.sha256))
  ) {
    throw new BadBackup("its header is damaged (the dump's format, length or checksum is missing)");
  }
  const dump = file.subarray(second + 1);
  if (dump.length < header.bytes)
    throw new BadBackup(
      `it is cut short: ${dump.length} of the dump's ${header.bytes} bytes are there`,
    );
  if (dump.length > header.bytes)
    throw new BadBackup(
      `it has ${dump.length - header.bytes} bytes more than its dump: it was changed`,
    );
  if (sha256(dump) !== header.sha256)
    throw new BadBackup('its dump does not match its checksum: it was changed or damaged');
  checkSignature(header, trust);
  if (!dump.subarray(0, PGDMP.length).equals(PGDMP))
    throw new BadBackup('what it holds is not a pg_dump archive');
  return { header, dump };
}

function checkSignature(header: Header, trust: Trust): void {
  if (trust === 'unsigned') return;
  const { hmac, ...signed } = header;
  if (!hmac)
    throw new BadBackup(
      'it carries no backup key (made before backups were signed, or by hand): if you know where it came from, restore it with --unsigned',
    );
  if (!trust.key)
    throw new BadBackup(
      `there is no ${trust.keyName} to check it with: give the key of the install that made it (--key FILE, its secrets/backup_key)`,
    );
  const want = Buffer.from(hmacOf(signed, trust.key), 'hex');
  const got = Buffer.from(/^[0-9a-f]{64}$/.test(hmac) ? hmac : '', 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want))
    throw new BadBackup(
      `it was not made with ${trust.keyName}: another install's backup (restore it with --key FILE, that install's secrets/backup_key), or it was changed`,
    );
}

/** pg_restore -l's entries that a backup of this mesh holds: restored, or known and left out. */
const RESTORED = [
  /^TABLE public users \S+$/,
  /^TABLE DATA public users \S+$/,
  /^CONSTRAINT public users users_pkey \S+$/,
  /^INDEX public users_username_key \S+$/,
];
// The login throttle's counts and the revoked tokens (of no use in another database, gone
// with the minutes tokens live, and made again at start-up).
const LEFT_OUT = [
  /^(TABLE|TABLE DATA) public (login_attempts|login_failures|revoked_tokens|token_cutoffs) \S+$/,
  /^CONSTRAINT public (login_attempts|login_failures|revoked_tokens|token_cutoffs) \1_pkey \S+$/,
  /^FUNCTION public login_wait\(integer, integer, double precision, double precision\) \S+$/,
];

/**
 * What to restore of a dump, from its table of contents (`pg_restore -l`): the list for
 * `pg_restore -L`, and the entries this mesh never makes (a hostile or foreign archive: a
 * restore of it is refused, naming them).
 */
export function tocPlan(listing: string): {
  restore: string;
  foreign: string[];
  missing: boolean;
} {
  const restore: string[] = [];
  const foreign: string[] = [];
  for (const line of listing.split('\n')) {
    if (!line.trim() || line.startsWith(';')) continue;
    const entry = /^\d+; \d+ \d+ (.*)$/.exec(line)?.[1];
    if (entry && RESTORED.some((r) => r.test(entry))) restore.push(line);
    else if (!entry || !LEFT_OUT.some((r) => r.test(entry))) foreign.push(entry ?? line);
  }
  // Without the table and its rows it is no backup of the users.
  const missing = !RESTORED.slice(0, 2).every((r) =>
    restore.some((line) => r.test(line.replace(/^\d+; \d+ \d+ /, ''))),
  );
  return { restore: `${restore.join('\n')}\n`, foreign, missing };
}
