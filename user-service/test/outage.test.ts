// The database comes and goes: the service starts without it, keeps answering /user/health,
// answers data requests with 503, and recovers by itself. The database is the real PostgreSQL
// behind a TCP relay that the test cuts and restores.
import test from 'ava';
import {
  call,
  createTestDatabase,
  databaseUrl,
  eventually,
  spawnService,
  startRelay,
  type TestDatabase,
} from './helpers.js';

let db: TestDatabase;
test.before(async () => {
  db = await createTestDatabase();
});
test.after.always(async () => {
  await db?.drop();
});

test('starts before the database, answers 503 meanwhile, recovers when it comes, and again after an outage', async (t) => {
  const relay = await startRelay();
  await relay.cut();
  const svc = await spawnService({
    DATABASE_URL: databaseUrl(db.name, '127.0.0.1', relay.port),
    DB_CONNECT_TIMEOUT_MS: '500',
  });
  try {
    const health = await call(`${svc.url}/user/health`);
    t.is(health.status, 200, 'liveness does not need the database');
    const early = await call(`${svc.url}/user/alice`);
    t.is(early.status, 503);
    t.regex(String(early.body.error), /database is not reachable yet/);
    t.is(early.headers.get('retry-after'), '2');
    t.is(
      early.headers.get('x-mesh-retry-safe'),
      'true',
      'nothing reached the database: the edge may try another replica',
    );
    const deep = await call(`${svc.url}/user/health?deep=1`);
    t.is(deep.status, 503);
    const put = await call(`${svc.url}/user/alice`, {
      method: 'PUT',
      json: { fullname: 'Alice', password: 'alicerules' },
    });
    t.is(put.status, 503);

    const retries = () =>
      svc.output.filter((l) => l.includes('database not ready; retrying')).length;
    t.true(await eventually(() => Promise.resolve(retries() >= 2), 5000), 'each try is logged');

    await relay.restore();
    t.true(
      await eventually(
        async () => (await call(`${svc.url}/user/health?deep=1`)).status === 200,
        15_000,
      ),
      'recovered by itself',
    );
    t.is(
      (
        await call(`${svc.url}/user/alice`, {
          method: 'PUT',
          json: { fullname: 'Alice', password: 'alicerules' },
        })
      ).status,
      201,
    );

    await relay.cut();
    const during = await call(`${svc.url}/user/alice`);
    t.is(during.status, 503);
    t.regex(String(during.body.error), /database is unavailable/);
    t.is(
      during.headers.get('x-mesh-retry-safe'),
      null,
      'a request may have reached the database: not for a write to repeat',
    );
    t.is((await call(`${svc.url}/user/health`)).status, 200);
    const login = await call(`${svc.url}/user/alice/login`, {
      method: 'POST',
      json: { password: 'alicerules' },
    });
    t.is(login.status, 503, 'a login during an outage is a 503, not a 401');

    await relay.restore();
    t.true(
      await eventually(async () => (await call(`${svc.url}/user/alice`)).status === 200, 10_000),
      'serves data again',
    );
    t.like((await call(`${svc.url}/user/alice`)).body, { fullname: 'Alice' });
    t.false(
      svc.output.some((l) => l.includes('"level":50') && !l.includes('database')),
      'no unexpected errors logged',
    );
  } finally {
    svc.child.kill('SIGTERM');
    t.is(await svc.exited, 0);
    await relay.close();
  }
});
