// make backup and make restore on the real mesh: 100 users saved, the mesh cleaned away (data
// volume and all), brought up again, restored: every user reads back and logs in. A file cut
// short, not a backup at all, or signed by another install's key is refused with a clear
// error, and the database is untouched. A hostile archive, made by the real PostgreSQL and
// signed with this install's own key (an attacker who has it), whose restore as the superuser
// would run COPY ... TO PROGRAM: refused, nothing changes, no file is written; restored by
// hand as the service's role, PostgreSQL itself refuses the program.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { headerFor } from '../../scripts/backup/archive.js';
import { BACKUP_KEY } from '../../scripts/backup/verbs.js';
import { dockerBytes } from '../../scripts/lib/docker.js';
import { call, make, makeWith, LIFTED_LIMITS, sh } from './helpers.js';

const USERS = 100;
const dir = mkdtempSync(`${tmpdir()}/usermesh-backup-`);
const file = `${dir}/users.backup`;
// Cheaper hashes, so that 100 users are made and log in quickly: each hash keeps its own cost.
const CHEAP = { ...LIFTED_LIMITS, SCRYPT_COST: '14' };
const name = (i: number) => `restored${i}`;

test.before(async () => {
  await make('clean');
  await makeWith(CHEAP, 'up', 'N=1');
});
test.after.always(async () => {
  await make('clean');
});

/** Runs `work` over 0..n-1, four at a time. */
async function each<T>(n: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += 4)
    out.push(...(await Promise.all([i, i + 1, i + 2, i + 3].filter((j) => j < n).map(work))));
  return out;
}

test.serial(
  `${USERS} users, make backup, make clean, make up, make restore: every one reads back and logs in`,
  async (t) => {
    const created = await each(USERS, (i) =>
      call(`/user/${name(i)}`, {
        method: 'PUT',
        json: { fullname: `Restored ${i}`, password: `password-${i}` },
      }),
    );
    t.deepEqual([...new Set(created.map((r) => r.status))], [201]);
    t.regex(
      await makeWith({ FILE: file }, 'backup'),
      new RegExp(`backup: ${USERS} users, \\d+ bytes of pg_dump, in ${file}`),
    );
    t.is(
      statSync(file).mode & 0o777,
      0o600,
      'only its owner may read it: it holds the password hashes',
    );

    await make('clean');
    await makeWith(CHEAP, 'up', 'N=1');
    t.is((await call(`/user/${name(0)}`)).status, 404, 'a fresh database');
    t.regex(
      await makeWith({ FILE: file }, 'restore'),
      new RegExp(`restore: ${USERS} users from ${file}`),
    );

    const reads = await each(USERS, (i) => call(`/user/${name(i)}`));
    reads.forEach((r, i) =>
      t.like(r.body, { ok: true, uuid: created[i]!.body.uuid, fullname: `Restored ${i}` }),
    );
    const logins = await each(USERS, (i) =>
      call(`/user/${name(i)}/login`, { method: 'POST', json: { password: `password-${i}` } }),
    );
    t.deepEqual(
      [...new Set(logins.map((r) => r.status))],
      [200],
      'every user logs in with their password',
    );
  },
);

test.serial(
  'a backup cut short, a file that is not one, or a database with users: refused, and nothing changes',
  async (t) => {
    const whole = readFileSync(file);
    const cut = `${dir}/cut.backup`;
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    const refusal = (e: { stdout?: string; stderr?: string }) => `${e.stdout}${e.stderr}`;
    const refused = (path: string, env: Record<string, string> = {}) =>
      makeWith({ FILE: path, ...env }, 'restore').then(() => 'restored', refusal);
    t.regex(
      await refused(cut, { FORCE: '1' }),
      /restore: \S+cut\.backup is refused, and the database was not touched: it is cut short: \d+ of the dump's \d+ bytes are there/,
    );
    t.regex(
      await refused(`${process.cwd()}/README.md`, { FORCE: '1' }),
      /is refused, and the database was not touched: not a backup of this mesh/,
    );
    t.regex(
      await refused(`${dir}/missing.backup`),
      /restore: cannot read \S+missing\.backup: ENOENT/,
    );
    // A good backup, but the database has users: it would replace them, so it needs FORCE=1.
    await call('/user/newcomer', {
      method: 'PUT',
      json: { fullname: 'Newcomer', password: 'newcomer-pass' },
    });
    t.regex(
      await refused(file),
      new RegExp(
        `the database holds ${USERS + 1} users, and a restore replaces them all with the backup's ${USERS}: FORCE=1 make restore`,
      ),
    );
    t.is((await call('/user/newcomer')).status, 200, 'the database untouched');
    t.is((await call(`/user/${name(7)}`)).status, 200);
    // Another install's backup: the same file signed with another key.
    const { dump, about } = dumpOf(readFileSync(file));
    const theirs = `${dir}/theirs.backup`;
    const theirKey = randomBytes(32);
    writeFileSync(theirs, Buffer.concat([headerFor(dump, about, theirKey), dump]));
    t.regex(
      await refused(theirs, { FORCE: '1' }),
      /is refused, and the database was not touched: it was not made with \S+backup_key: another install's backup \(restore it with --key FILE/,
    );
    writeFileSync(`${dir}/their_key`, theirKey.toString('hex'));
    t.regex(
      await makeWith({ FILE: theirs, FORCE: '1', BACKUP_KEY_FILE: `${dir}/their_key` }, 'restore'),
      new RegExp(`restore: ${USERS} users from ${theirs}`),
      'with its key named, it is restored',
    );
  },
);

/** The dump and what the header says of it, from a backup file's bytes. */
function dumpOf(bytes: Buffer) {
  const second = bytes.indexOf('\n', bytes.indexOf('\n') + 1);
  const header = JSON.parse(bytes.subarray(bytes.indexOf('\n') + 1, second).toString()) as {
    created: string;
    database: string;
    users: number;
    serviceVersion: string;
  };
  const { created, database, users, serviceVersion } = header;
  return { dump: bytes.subarray(second + 1), about: { created, database, users, serviceVersion } };
}

const PWNED = '/var/lib/postgresql/data/pwned';

test.serial(
  "a hostile archive signed with this install's key, which would run a program as the superuser: refused by its contents, nothing changes, no file written; as the service's role PostgreSQL refuses the program itself",
  async (t) => {
    const postgres = (
      await sh(`docker ps -q --filter label=com.docker.compose.service=postgres`)
    ).trim();
    const psql = (sql: string, db = 'postgres') =>
      dockerBytes(
        [
          'exec',
          '-i',
          postgres,
          'psql',
          '-U',
          'postgres',
          '-d',
          db,
          '-v',
          'ON_ERROR_STOP=1',
          '-Atq',
        ],
        {
          input: Buffer.from(sql),
        },
      );
    // The hostile database: the users table with a CHECK that calls a function (harmless when
    // the row went in, then replaced), so that loading the row runs a program: as PostgreSQL's
    // superuser it would (seen: the file appears), as the service's role it may not.
    await psql('DROP DATABASE IF EXISTS hostile; CREATE DATABASE hostile;');
    await psql(
      `CREATE FUNCTION evil(text) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RETURN true; END $$;
       CREATE TABLE users (uuid VARCHAR(64) PRIMARY KEY, username VARCHAR(64) NOT NULL CHECK (evil(username)),
         fullname VARCHAR(2048) NOT NULL, password VARCHAR(256) NOT NULL);
       INSERT INTO users VALUES ('u1', 'mallory', 'Mallory', 'x');
       CREATE OR REPLACE FUNCTION evil(text) RETURNS boolean LANGUAGE plpgsql AS $$
         BEGIN COPY (SELECT 1) TO PROGRAM 'touch ${PWNED}'; RETURN true; END $$;`,
      'hostile',
    );
    const dump = await dockerBytes([
      'exec',
      postgres,
      'pg_dump',
      '-U',
      'postgres',
      '-d',
      'hostile',
      '--format=custom',
    ]);
    await psql('DROP DATABASE hostile;');
    const hostile = `${dir}/hostile.backup`;
    const about = {
      created: new Date().toISOString(),
      database: 'users',
      users: 1,
      serviceVersion: '-',
    };
    const key = Buffer.from(readFileSync(BACKUP_KEY, 'utf8').trim(), 'hex');
    writeFileSync(hostile, Buffer.concat([headerFor(dump, about, key), dump]));

    const before = (await psql('SELECT count(*) FROM users', 'users')).toString().trim();
    const said = await makeWith({ FILE: hostile, FORCE: '1' }, 'restore').then(
      () => 'restored',
      (e: { stdout?: string; stderr?: string }) => `${e.stdout}${e.stderr}`,
    );
    t.regex(
      said,
      /is refused, and the database was not touched: its dump holds what this mesh never makes, which a restore would run: FUNCTION public evil\(text\) postgres$/m,
    );
    t.is(
      (await psql('SELECT count(*) FROM users', 'users')).toString().trim(),
      before,
      'the users unchanged',
    );
    t.is((await call('/user/mallory')).status, 404);

    // The second wall, by hand: the whole archive, unfiltered, as the service's role.
    const byHand = spawnSync(
      'docker',
      [
        'exec',
        '-i',
        postgres,
        'pg_restore',
        '-U',
        'usersvc',
        '-d',
        'users',
        '--no-owner',
        '--no-privileges',
        '--clean',
        '--if-exists',
        '--single-transaction',
        '--exit-on-error',
      ],
      { input: dump, encoding: 'utf8' },
    );
    t.not(byHand.status, 0);
    t.regex(
      byHand.stderr,
      /permission denied to COPY to or from an external program|must be superuser|pg_execute_server_program/,
    );
    t.is(
      (await psql('SELECT count(*) FROM users', 'users')).toString().trim(),
      before,
      'still unchanged',
    );
    const pwned = await sh(`docker exec ${postgres} test -e ${PWNED} && echo yes || echo no`);
    t.is(pwned.trim(), 'no', 'no program ran: no file in the container');
  },
);
