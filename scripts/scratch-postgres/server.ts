// A PostgreSQL of the tests' own: initdb into a temporary directory, a free port on 127.0.0.1,
// a password made for it; stopped and removed afterwards. The developer's own database, if any,
// is never asked, and no password of theirs is needed or changed.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export class NoPostgres extends Error {}

/** Where initdb and pg_ctl are: PG_BINDIR, else Debian's newest, else the PATH. */
export function serverBinaries(
  env = process.env,
  debian = '/usr/lib/postgresql',
): { initdb: string; pgCtl: string } {
  const dirs = [
    ...(env.PG_BINDIR ? [env.PG_BINDIR] : []),
    ...(existsSync(debian)
      ? readdirSync(debian)
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => `${debian}/${v}/bin`)
      : []),
    ...(env.PATH ?? '').split(':').filter(Boolean),
  ];
  const dir = dirs.find((d) => existsSync(`${d}/initdb`) && existsSync(`${d}/pg_ctl`));
  if (!dir)
    throw new NoPostgres(
      "the service's tests start a PostgreSQL of their own and need its server programs " +
        '(initdb, pg_ctl): apt-get install postgresql (Debian), brew install postgresql, ' +
        'or PG_BINDIR=/their/directory',
    );
  return { initdb: `${dir}/initdb`, pgCtl: `${dir}/pg_ctl` };
}

/** A port nobody listens on now, on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** PostgreSQL will not run as root: then it runs as the postgres user, or nobody. */
async function runAs(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number((await exec('id', ['-u', user])).stdout);
      const gid = Number((await exec('id', ['-g', user])).stdout);
      return { uid, gid };
    } catch {
      // no such user: try the next
    }
  }
  throw new NoPostgres(
    'running as root, and there is no postgres or nobody user to run PostgreSQL as',
  );
}

export interface ScratchPostgres {
  /** PGHOST, PGPORT, PGUSER, PGPASSWORD for the tests. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startScratchPostgres(): Promise<ScratchPostgres> {
  const { initdb, pgCtl } = serverBinaries();
  const user = await runAs();
  const run = (cmd: string, args: string[]) =>
    user
      ? exec('setpriv', [
          `--reuid=${user.uid}`,
          `--regid=${user.gid}`,
          '--clear-groups',
          cmd,
          ...args,
        ])
      : exec(cmd, args);
  const dir = mkdtempSync(`${tmpdir()}/usermesh-test-pg-`);
  const password = randomBytes(16).toString('hex');
  writeFileSync(`${dir}/pwfile`, `${password}\n`, { mode: 0o600 });
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(`${dir}/pwfile`, user.uid, user.gid);
  }
  const data = `${dir}/data`;
  const port = await freePort();
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await run(initdb, [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${dir}/pwfile`,
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ]);
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-k ${dir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    await run(pgCtl, ['-D', data, '-o', options, '-l', `${dir}/log`, '-w', '-t', '60', 'start']);
  } catch (err) {
    remove();
    const e = err as { stderr?: string; message: string };
    throw new NoPostgres(`the tests' PostgreSQL did not start: ${(e.stderr || e.message).trim()}`);
  }
  return {
    env: { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: password },
    async stop() {
      try {
        await run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        remove();
      }
    },
  };
}
