// The tests' own PostgreSQL, for real: it starts on a free port of 127.0.0.1 with a password
// made for it, answers, and leaves nothing behind when stopped.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import test from 'ava';
import pg from 'pg';
import { serverBinaries, startScratchPostgres } from '../server.js';

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(true));
  });

test('a server of its own: answers with its password (scram-sha-256 for every connection), gone after stop', async (t) => {
  const server = await startScratchPostgres();
  const { PGHOST, PGPORT, PGUSER, PGPASSWORD } = server.env;
  t.is(PGHOST, '127.0.0.1');
  try {
    const client = new pg.Client({
      host: PGHOST,
      port: Number(PGPORT),
      user: PGUSER,
      password: PGPASSWORD,
      database: 'postgres',
    });
    client.on('error', () => undefined); // the server may go first, when a check failed
    await client.connect();
    const { rows } = await client.query<{ v: string }>(
      "SELECT current_setting('listen_addresses') AS v",
    );
    t.is(rows[0]!.v, '127.0.0.1');
    // Every connection must show the password: no trust for anyone on the machine.
    const hba = await client.query<{ auth_method: string }>(
      'SELECT DISTINCT auth_method FROM pg_hba_file_rules',
    );
    t.deepEqual(
      hba.rows.map((r) => r.auth_method),
      ['scram-sha-256'],
    );
    await client.end();
  } finally {
    await server.stop();
  }
  t.true(await refused(Number(PGPORT)));
});

test('no server programs: one line saying what to install', (t) => {
  t.throws(
    () => serverBinaries({ PATH: '/nonexistent', PG_BINDIR: '/nonexistent' }, '/nonexistent'),
    {
      message: /initdb, pg_ctl.*apt-get install postgresql/,
    },
  );
  t.true(existsSync(serverBinaries().initdb));
});
