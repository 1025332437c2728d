// The backup file's checks, on a backup made by make backup from a real mesh (fixtures/: the
// users table empty, so that no password hash is in the repository), and on that file damaged.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { BadBackup, headerFor, MAGIC, openBackup } from '../archive.js';

const real = readFileSync(new URL('fixtures/empty.backup', import.meta.url));

test('a backup from make backup opens: its header, and a pg_dump archive of the users database', (t) => {
  const { header, dump } = openBackup(real);
  t.like(header, { database: 'users', format: 'pg_dump custom', users: 0, bytes: dump.length });
  t.is(dump.subarray(0, 5).toString('latin1'), 'PGDMP');
  t.true(dump.includes(Buffer.from('users')), 'the dump names the table');
});

test('headerFor and openBackup agree: what is written reads back', (t) => {
  const { dump } = openBackup(real);
  const about = {
    created: '2026-12-03T00:00:00.000Z',
    database: 'users',
    users: 7,
    serviceVersion: 'v1',
  };
  const { header } = openBackup(Buffer.concat([headerFor(dump, about), dump]));
  t.like(header, about);
});

test('a file cut short, changed, or not ours is refused, saying which', (t) => {
  const refused = (file: Buffer, message: RegExp) =>
    t.throws(() => openBackup(file), { instanceOf: BadBackup, message });
  refused(real.subarray(0, real.length - 1), /cut short: \d+ of the dump's \d+ bytes/);
  refused(real.subarray(0, 40), /header is damaged/);
  refused(Buffer.concat([real, Buffer.from('x')]), /1 bytes more than its dump/);
  const flipped = Buffer.from(real);
  flipped.writeUInt8(flipped.readUInt8(flipped.length - 10) ^ 0xff, flipped.length - 10);
  refused(flipped, /does not match its checksum/);
  refused(Buffer.from('PGDMP a bare pg_dump file\n'), new RegExp(`does not begin with "${MAGIC}"`));
  refused(
    readFileSync(new URL('../../../README.md', import.meta.url)),
    /not a backup of this mesh/,
  );
  refused(Buffer.alloc(0), /not a backup of this mesh/);
  const notADump = Buffer.from('not a dump at all');
  const about = {
    created: '2026-12-03T00:00:00.000Z',
    database: 'users',
    users: 0,
    serviceVersion: 'v1',
  };
  refused(Buffer.concat([headerFor(notADump, about), notADump]), /not a pg_dump archive/);
});
