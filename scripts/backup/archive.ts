// The backup file: a line that says what it is, a line of JSON about it, then PostgreSQL's own
// dump (pg_dump's custom format) of the users database. The JSON holds the dump's length and
// SHA-256, so a file that was cut short, changed, or is not ours at all is refused before the
// running database is touched. Pure: make backup and make restore (main.ts) do the I/O.
import { createHash } from 'node:crypto';

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
}

/** A file is not a backup we can restore: one line for the user. */
export class BadBackup extends Error {}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The two lines that go before the dump. */
export function headerFor(
  dump: Buffer,
  about: Pick<Header, 'created' | 'database' | 'users' | 'serviceVersion'>,
): Buffer {
  const header: Header = {
    ...about,
    format: 'pg_dump custom',
    bytes: dump.length,
    sha256: sha256(dump),
  };
  return Buffer.from(`${MAGIC}\n${JSON.stringify(header)}\n`);
}

/** The header and the dump of a whole backup file, checked; BadBackup says what is wrong. */
export function openBackup(file: Buffer): { header: Header; dump: Buffer } {
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
  if (!dump.subarray(0, PGDMP.length).equals(PGDMP))
    throw new BadBackup('what it holds is not a pg_dump archive');
  return { header, dump };
}
