// make backup and make restore on the real mesh: 100 users saved, the mesh cleaned away (data
// volume and all), brought up again, restored: every user reads back and logs in. A file cut
// short, or not a backup at all, is refused with a clear error, and the database is untouched.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { call, make, makeWith, LIFTED_LIMITS } from './helpers.js';

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
  },
);
