// What the service does under pressure and when its own code fails: password hashing is
// bounded (503 with Retry-After past the queue), and a bug is a 500, never a 503 to retry.
import test from 'ava';
import { HashLimit } from '../src/hash-limit.js';
import { defaultHashConcurrency, scryptBytes } from '../src/hash-sizing.js';
import type { Repository } from '../src/repository.js';
import { call, createTestDatabase, startApp, type TestDatabase } from './helpers.js';

const MiB = 2 ** 20;
let db: TestDatabase;
test.before(async () => {
  db = await createTestDatabase();
});
test.after.always(async () => {
  await db?.drop();
});

test('the default hash concurrency fits the memory limit and the cores', (t) => {
  t.is(scryptBytes(17), 128 * MiB);
  t.is(defaultHashConcurrency(17, 256 * MiB, 8), 1, 'at least one, even when nothing fits');
  t.is(
    defaultHashConcurrency(17, 512 * MiB, 8),
    2,
    '512 MiB less 192 MiB reserved: two 128 MiB hashes',
  );
  t.is(defaultHashConcurrency(17, 16 * 1024 * MiB, 2), 2, 'never more than the cores');
  t.is(defaultHashConcurrency(10, 512 * MiB, 4), 4);
});

test('HashLimit runs at most `concurrency` at once, queues `queue`, refuses the rest', async (t) => {
  const limit = new HashLimit(2, 3);
  let running = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const work = () =>
    limit.run(async () => {
      peak = Math.max(peak, ++running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
      return 'done';
    });
  const results = Array.from({ length: 8 }, () =>
    work().then(
      (v) => v,
      (err: Error) => err.name,
    ),
  );
  // Two run, three wait, three are refused at once.
  t.deepEqual(limit.stats, { active: 2, waiting: 3 });
  while (releases.length > 0 || limit.stats.active > 0) {
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const settled = await Promise.all(results);
  t.is(settled.filter((r) => r === 'done').length, 5);
  t.is(settled.filter((r) => r === 'BusyError').length, 3);
  t.is(peak, 2);
  t.deepEqual(limit.stats, { active: 0, waiting: 0 });
});

test('logins past the hashing queue get 503 JSON with Retry-After; the rest are answered', async (t) => {
  // Real scrypt at N = 2^14 (16 MiB, tens of ms), one at a time, one waiting.
  const svc = await startApp(db.url, {
    env: { SCRYPT_COST: '14', SCRYPT_CONCURRENCY: '1', SCRYPT_QUEUE: '1' },
  });
  t.teardown(() => svc.close());
  const created = await call(`${svc.url}/user/flood`, {
    method: 'PUT',
    json: { fullname: 'Flood', password: 'correct horse' },
  });
  t.is(created.status, 201);
  // Each from a network of its own: the login throttle bounds attempts in flight from one
  // network (login-throttle.ts), and this is about the hashing queue.
  const replies = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      call(`${svc.url}/user/flood/login`, {
        method: 'POST',
        json: { password: 'correct horse' },
        headers: { 'x-mesh-client-address': `10.${i}.0.1` },
      }),
    ),
  );
  const statuses = replies.map((r) => r.status);
  t.true(statuses.includes(200), statuses.join(' '));
  t.true(statuses.includes(503), statuses.join(' '));
  t.deepEqual([...new Set(statuses)].sort(), [200, 503]);
  const busy = replies.find((r) => r.status === 503)!;
  t.like(busy.body, { ok: false });
  t.regex(String(busy.body.error), /password checks/);
  t.is(busy.headers.get('retry-after'), '1');
  t.is(busy.headers.get('x-mesh-retry-safe'), 'true', 'tells the edge it may try another replica');
  t.is(
    (
      await call(`${svc.url}/user/flood/login`, {
        method: 'POST',
        json: { password: 'correct horse' },
      })
    ).status,
    200,
    'and afterwards all is well',
  );
});

test('a bug in a handler is a 500 with a JSON error, not a 503, and its details stay in the log', async (t) => {
  const svc = await startApp(db.url, {
    wrapRepo: (repo): Repository => ({
      ...repo,
      findByUsername: () =>
        Promise.reject(new TypeError("Cannot read properties of undefined (reading 'uuid')")),
    }),
  });
  t.teardown(() => svc.close());
  const r = await call(`${svc.url}/user/someone`);
  t.is(r.status, 500);
  t.like(r.body, { ok: false, error: 'internal error; the details are in the service log' });
  t.truthy(r.body.request_id);
  t.is(r.headers.get('retry-after'), null);
  t.false(JSON.stringify(r.body).includes('uuid'), 'no stack or message reaches the client');
  t.regex(svc.logs.text, /unhandled error.*|Cannot read properties/);
});
