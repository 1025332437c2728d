// meshctl backup FILE: a consistent dump of the users database (pg_dump, inside the postgres
// container, as one snapshot) into FILE, mode 0600: it holds every password hash. Signed with
// the install's backup key (secrets/backup_key, made by the first backup, never in a container).
// meshctl restore FILE: checks FILE whole (archive.ts) before touching anything: its checksum,
// its signature (this install's key; another's with --key FILE), and that its dump holds only
// the service's tables. Then loads it into the running mesh's database in one transaction
// (pg_restore --single-transaction), as the service's own role, not the superuser, and only
// the users table (pg_restore -L): all of it or, on any error, nothing. So a hostile archive
// can do no more than the service itself could. It refuses a database that has users unless
// --force, since the backup replaces them. The install's other secrets are not in the file:
// the password hashes are, so every user logs in again as before.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runningOf } from '../lib/containers.js';
import { docker, dockerBytes } from '../lib/docker.js';
import { edgeUrl } from '../lib/edges.js';
import { RolloutFailed, UsageError } from '../lib/errors.js';
import { httpRequest } from '../lib/http.js';
import { until } from '../lib/wait.js';
import { SECRETS_DIR } from '../lib/secrets.js';
import { BadBackup, headerFor, openBackup, tocPlan, type Trust } from './archive.js';

const DATABASE = 'users';
/** The service's role: a restore runs as it (postgres/initdb.d/10-usersvc.sh). */
const ROLE = 'usersvc';
export const BACKUP_KEY = `${SECRETS_DIR}/backup_key`;

/** The install's backup key: made by the first backup (mode 0600), read by every restore. */
function backupKey(make: boolean): Buffer | null {
  if (!existsSync(BACKUP_KEY)) {
    if (!make) return null;
    mkdirSync(SECRETS_DIR, { recursive: true, mode: 0o700 });
    writeFileSync(BACKUP_KEY, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  }
  return readKey(BACKUP_KEY);
}

function readKey(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(
      `cannot read the backup key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new UsageError(
      `${file} is not a backup key (64 hex digits, as secrets/backup_key holds)`,
    );
  return Buffer.from(text, 'hex');
}

async function database(): Promise<string> {
  const [postgres] = await runningOf('postgres');
  if (!postgres) throw new UsageError("the mesh's database is not running: make up first");
  return postgres.id;
}

/** Rows in users now (PostgreSQL's own psql, as its superuser, inside the container). */
async function users(postgres: string): Promise<number> {
  const out = await docker([
    'exec',
    postgres,
    'psql',
    '-U',
    'postgres',
    '-d',
    DATABASE,
    '-Atc',
    'SELECT count(*) FROM users',
  ]);
  return Number(out.trim());
}

export async function backup(file: string): Promise<void> {
  const postgres = await database();
  const count = await users(postgres);
  const dump = await dockerBytes([
    'exec',
    postgres,
    'pg_dump',
    '-U',
    'postgres',
    '-d',
    DATABASE,
    '--format=custom',
  ]);
  const version = (
    await docker([
      'inspect',
      '-f',
      '{{index .Config.Labels "org.opencontainers.image.revision"}}',
      (await runningOf('usersvc'))[0]?.id ?? postgres,
    ])
  ).trim();
  const key = backupKey(true)!;
  const header = headerFor(
    dump,
    {
      created: new Date().toISOString(),
      database: DATABASE,
      users: count,
      serviceVersion: version || '-',
    },
    key,
  );
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  rmSync(`${file}.partial`, { force: true }); // so that it is made anew, with mode 0600
  writeFileSync(`${file}.partial`, Buffer.concat([header, dump]), { mode: 0o600 });
  renameSync(`${file}.partial`, file);
  // What make restore will read: the file as it is on disk, checked whole.
  openBackup(readFileSync(file), { key, keyName: BACKUP_KEY });
  console.log(
    `backup: ${count} users, ${dump.length} bytes of pg_dump, in ${file} (mode 0600: it holds the password hashes)`,
  );
}

export interface RestoreOptions {
  /** Replace the users the database holds. */
  force?: boolean;
  /** Another install's backup key, for its backup. */
  key?: string;
  /** A backup with no signature at all (made before 2026-12-07). */
  unsigned?: boolean;
}

export async function restore(file: string, options: RestoreOptions = {}): Promise<void> {
  const { force = false } = options;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const trust: Trust = options.unsigned
    ? 'unsigned'
    : options.key
      ? { key: readKey(options.key), keyName: options.key }
      : { key: backupKey(false), keyName: BACKUP_KEY };
  const refused = (why: string) =>
    new RolloutFailed(`${file} is refused, and the database was not touched: ${why}`);
  let opened: ReturnType<typeof openBackup>;
  try {
    opened = openBackup(bytes, trust);
  } catch (err) {
    if (!(err instanceof BadBackup)) throw err;
    throw refused(err.message);
  }
  const { header, dump } = opened;
  const postgres = await database();
  // What the dump holds, read by PostgreSQL's own pg_restore before anything is restored.
  const plan = tocPlan(
    (await dockerBytes(['exec', '-i', postgres, 'pg_restore', '--list'], { input: dump })).toString(
      'utf8',
    ),
  );
  if (plan.foreign.length)
    throw refused(
      `its dump holds what this mesh never makes, which a restore would run: ${plan.foreign.join('; ')}`,
    );
  if (plan.missing) throw refused('its dump holds no users table');
  const before = await users(postgres);
  if (before > 0 && !force) {
    throw new UsageError(
      `the database holds ${before} users, and a restore replaces them all with the backup's ${header.users}: FORCE=1 make restore FILE=${file}`,
    );
  }
  // As the service's role (its socket login is trusted inside the container), only the
  // entries of the plan (-L, a file made by bash from PLAN), owners and grants left out.
  await dockerBytes(
    [
      'exec',
      '-i',
      '-e',
      `PLAN=${plan.restore}`,
      postgres,
      'bash',
      '-c',
      `pg_restore -U ${ROLE} -d ${DATABASE} --no-owner --no-privileges --clean --if-exists --single-transaction --exit-on-error -L <(printf '%s' "$PLAN")`,
    ],
    { input: dump },
  ).catch((err: Error) => {
    throw refused(
      `PostgreSQL refused it (nothing was changed: one transaction): ${err.message.split('\n').find((l) => /error/i.test(l)) ?? err.message}`,
    );
  });
  console.log(
    `restore: ${await users(postgres)} users from ${file} (made ${header.created}, with ${header.users} users)`,
  );
  await throughTheEdge(postgres);
}

/** One restored user, read the way clients read it: through the edge's published port. */
async function throughTheEdge(postgres: string): Promise<void> {
  const row = (
    await docker([
      'exec',
      postgres,
      'psql',
      '-U',
      'postgres',
      '-d',
      DATABASE,
      '-Atc',
      'SELECT username, uuid FROM users ORDER BY username LIMIT 1',
    ])
  ).trim();
  if (!row) return;
  const [name, uuid] = row.split('|');
  const url = `${edgeUrl()}/user/${encodeURIComponent(name!)}`;
  await until(
    30_000,
    async () => {
      const r = await httpRequest(url);
      return r.status === 200 && (JSON.parse(r.body) as { uuid?: string }).uuid === uuid
        ? true
        : undefined;
    },
    () =>
      `the database holds the restored users, but GET ${url} did not answer with ${name} within 30 s: make check says why`,
  );
  console.log(`restore: checked: GET ${url} answers with the restored ${name}`);
}
