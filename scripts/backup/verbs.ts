// meshctl backup FILE: a consistent dump of the users database (pg_dump, inside the postgres
// container, as one snapshot) into FILE, mode 0600: it holds every password hash.
// meshctl restore FILE: checks FILE whole (archive.ts) before touching anything, then loads
// it into the running mesh's database in one transaction (pg_restore --single-transaction):
// all of it or, on any error, nothing. It refuses a database that has users unless --force,
// since the backup replaces them. The install's secrets (secrets/) are not in the file: the
// password hashes are, so every user logs in again as before; tokens need the same token secret.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runningOf } from '../lib/containers.js';
import { docker, dockerBytes } from '../lib/docker.js';
import { edgeUrl } from '../lib/edges.js';
import { RolloutFailed, UsageError } from '../lib/errors.js';
import { httpRequest } from '../lib/http.js';
import { until } from '../lib/wait.js';
import { BadBackup, headerFor, openBackup } from './archive.js';

const DATABASE = 'users';

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
  const header = headerFor(dump, {
    created: new Date().toISOString(),
    database: DATABASE,
    users: count,
    serviceVersion: version || '-',
  });
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  rmSync(`${file}.partial`, { force: true }); // so that it is made anew, with mode 0600
  writeFileSync(`${file}.partial`, Buffer.concat([header, dump]), { mode: 0o600 });
  renameSync(`${file}.partial`, file);
  // What make restore will read: the file as it is on disk, checked whole.
  openBackup(readFileSync(file));
  console.log(
    `backup: ${count} users, ${dump.length} bytes of pg_dump, in ${file} (mode 0600: it holds the password hashes)`,
  );
}

export async function restore(file: string, { force = false } = {}): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let opened: ReturnType<typeof openBackup>;
  try {
    opened = openBackup(bytes);
  } catch (err) {
    if (!(err instanceof BadBackup)) throw err;
    throw new RolloutFailed(`${file} is refused, and the database was not touched: ${err.message}`);
  }
  const { header, dump } = opened;
  const postgres = await database();
  const before = await users(postgres);
  if (before > 0 && !force) {
    throw new UsageError(
      `the database holds ${before} users, and a restore replaces them all with the backup's ${header.users}: FORCE=1 make restore FILE=${file}`,
    );
  }
  await dockerBytes(
    [
      'exec',
      '-i',
      postgres,
      'pg_restore',
      '-U',
      'postgres',
      '-d',
      DATABASE,
      '--clean',
      '--if-exists',
      '--single-transaction',
      '--exit-on-error',
    ],
    { input: dump },
  );
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
