// Races: simultaneous creates of one name, and several real service processes (server.ts)
// starting together against an empty database.
import test from 'ava';
import {
  call,
  createTestDatabase,
  eventually,
  spawnService,
  startApp,
  type ServiceProcess,
} from './helpers.js';

test('two simultaneous PUTs of one name: exactly one 201 and one 409', async (t) => {
  const db = await createTestDatabase();
  const svc = await startApp(db.url);
  try {
    for (let round = 0; round < 5; round++) {
      const name = `racer${round}`;
      const put = (fullname: string) =>
        call(`${svc.url}/user/${name}`, {
          method: 'PUT',
          json: { fullname, password: 'racepassword' },
        });
      const statuses = (await Promise.all([put('First'), put('Second')]))
        .map((r) => r.status)
        .sort();
      t.deepEqual(statuses, [201, 409], `round ${round}`);
    }
    const rows = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM users WHERE username LIKE 'racer%'",
    );
    t.is(rows.rows[0]!.n, '5');
  } finally {
    await svc.close();
    await db.drop();
  }
});

test('several instances started at once on an empty database all become ready and share tokens', async (t) => {
  const db = await createTestDatabase();
  const instances: ServiceProcess[] = [];
  try {
    instances.push(
      ...(await Promise.all([1, 2, 3].map(() => spawnService({ DATABASE_URL: db.url })))),
    );
    for (const instance of instances) {
      t.true(
        await eventually(
          async () => (await call(`${instance.url}/user/health?deep=1`)).status === 200,
          20_000,
        ),
        'instance became ready',
      );
    }
    const tables = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'users'",
    );
    t.is(tables.rows[0]!.n, '1');
    const indexes = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'users_username_key'",
    );
    t.is(indexes.rows[0]!.n, '1');

    const [a, b, c] = instances as [ServiceProcess, ServiceProcess, ServiceProcess];
    t.is(
      (
        await call(`${a.url}/user/shared`, {
          method: 'PUT',
          json: { fullname: 'Shared', password: 'sharedpassword' },
        })
      ).status,
      201,
    );
    const { token } = (
      await call(`${b.url}/user/shared/login`, {
        method: 'POST',
        json: { password: 'sharedpassword' },
      })
    ).body;
    const deleted = await call(`${c.url}/user/shared`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${String(token)}` },
    });
    t.is(deleted.status, 200, 'a token issued by one instance is accepted by another');

    for (const instance of instances) {
      const logs = instance.output.join('\n');
      t.false(logs.includes('sharedpassword'));
      t.false(logs.includes(String(token)));
    }
  } finally {
    for (const instance of instances) instance.child.kill('SIGTERM');
    const codes = await Promise.all(instances.map((i) => i.exited));
    t.deepEqual(
      codes,
      instances.map(() => 0),
      'each instance exited 0 on SIGTERM',
    );
    await db.drop();
  }
});
