// The backup file's checks, on a backup made by make backup from a real mesh (fixtures/: the
// users table empty, so that no password hash is in the repository; made before backups were
// signed), on that file signed and damaged, and on pg_restore's table of contents of a real
// dump (fixtures/toc.txt), with entries a hostile archive would add.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { BadBackup, headerFor, MAGIC, openBackup, tocPlan } from '../archive.js';

const real = readFileSync(new URL('fixtures/empty.backup', import.meta.url));
const KEY = randomBytes(32);
const ours = { key: KEY, keyName: 'secrets/backup_key' };
const about = {
  created: '2026-12-03T00:00:00.000Z',
  database: 'users',
  users: 7,
  serviceVersion: 'v1',
};
/** The fixture's dump, signed with `key`. */
const signed = (key = KEY) => {
  const { dump } = openBackup(real, 'unsigned');
  return Buffer.concat([headerFor(dump, about, key), dump]);
};

test('a backup from make backup opens: its header, and a pg_dump archive of the users database', (t) => {
  const { header, dump } = openBackup(real, 'unsigned');
  t.like(header, { database: 'users', format: 'pg_dump custom', users: 0, bytes: dump.length });
  t.is(dump.subarray(0, 5).toString('latin1'), 'PGDMP');
  t.true(dump.includes(Buffer.from('users')), 'the dump names the table');
});

test('headerFor and openBackup agree: what is written reads back, signed with the key', (t) => {
  const { header } = openBackup(signed(), ours);
  t.like(header, about);
  t.regex(header.hmac ?? '', /^[0-9a-f]{64}$/);
});

test("a backup is restored only with the key that signed it: another install's, none, or a changed header is refused", (t) => {
  const refused = (file: Buffer, trust: Parameters<typeof openBackup>[1], message: RegExp) =>
    t.throws(() => openBackup(file, trust), { instanceOf: BadBackup, message });
  refused(
    signed(randomBytes(32)),
    ours,
    /not made with secrets\/backup_key: another install's backup \(restore it with --key FILE/,
  );
  refused(
    signed(),
    { key: null, keyName: 'secrets/backup_key' },
    /there is no secrets\/backup_key to check it with: .*--key FILE/,
  );
  refused(real, ours, /carries no backup key .*--unsigned/);
  // The header changed (more users claimed), its checksum line intact: the signature fails.
  const text = signed().toString('latin1').replace('"users":7', '"users":8');
  refused(Buffer.from(text, 'latin1'), ours, /not made with/);
  // Another install's backup, with that install's key named.
  const theirs = randomBytes(32);
  t.notThrows(() => openBackup(signed(theirs), { key: theirs, keyName: 'their-key' }));
});

test('a file cut short, changed, or not ours is refused, saying which', (t) => {
  const refused = (file: Buffer, message: RegExp) =>
    t.throws(() => openBackup(file, 'unsigned'), { instanceOf: BadBackup, message });
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
  refused(Buffer.concat([headerFor(notADump, about, KEY), notADump]), /not a pg_dump archive/);
});

const toc = readFileSync(new URL('fixtures/toc.txt', import.meta.url), 'utf8');

test("a real dump's table of contents: the users table restored, the throttle's counts left out, nothing foreign", (t) => {
  const plan = tocPlan(toc);
  t.deepEqual(plan.foreign, []);
  t.false(plan.missing);
  const entries = plan.restore
    .trim()
    .split('\n')
    .map((l) => l.replace(/^\d+; \d+ \d+ /, ''));
  t.deepEqual(entries.sort(), [
    'CONSTRAINT public users users_pkey usersvc',
    'INDEX public users_username_key usersvc',
    'TABLE DATA public users usersvc',
    'TABLE public users usersvc',
  ]);
});

test('entries this mesh never makes are named, and a dump without the users table is no backup', (t) => {
  const hostile = `${toc}
3300; 1255 16500 FUNCTION public evil(text) usersvc
3301; 1259 16501 INDEX public users_evil_idx usersvc
3302; 3466 16502 EVENT TRIGGER - on_ddl postgres
`;
  t.deepEqual(tocPlan(hostile).foreign, [
    'FUNCTION public evil(text) usersvc',
    'INDEX public users_evil_idx usersvc',
    'EVENT TRIGGER - on_ddl postgres',
  ]);
  const withoutUsers = toc
    .split('\n')
    .filter((l) => !/ public users /.test(l))
    .join('\n');
  t.true(tocPlan(withoutUsers).missing);
});
