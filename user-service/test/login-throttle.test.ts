// The per-account login throttle, on two replicas of the service sharing one real PostgreSQL:
// the count is the account's, whichever replica (and whichever client address) a guess
// reaches; a name that is no user's is answered the same way; a success clears it.
import test from 'ava';
import { waitAfter } from '../src/login-throttle.js';
import {
  call,
  createTestDatabase,
  startApp,
  type TestDatabase,
  type TestService,
} from './helpers.js';

let db: TestDatabase;
let replicas: TestService[];
const ALLOWED = 3;

test.before(async () => {
  db = await createTestDatabase();
  const env = { LOGIN_FAILURES_ALLOWED: String(ALLOWED), LOGIN_WAIT_SECONDS: '1' };
  replicas = [await startApp(db.url, { env }), await startApp(db.url, { env })];
  for (const name of ['alice', 'bob'])
    await call(`${replicas[0]!.url}/user/${name}`, {
      method: 'PUT',
      json: { fullname: name, password: `${name} is the password` },
    });
});
test.after.always(async () => {
  for (const r of replicas ?? []) await r.close();
  await db?.drop();
});

/** A login at replica `i % 2`: status, Retry-After and error. */
async function login(name: string, password: string, i = 0) {
  const r = await call(`${replicas[i % 2]!.url}/user/${name}/login`, {
    method: 'POST',
    json: { password },
  });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), error: r.body.error };
}

test('the wait grows: none before the allowed failures, then doubling up to the most', (t) => {
  const policy = { loginFailuresAllowed: 5, loginWaitSeconds: 1, loginWaitMaxSeconds: 900 };
  t.deepEqual(
    [4, 5, 6, 7, 14, 15, 1000].map((n) => waitAfter(n, policy)),
    [0, 1, 2, 4, 512, 900, 900],
  );
});

test.serial(
  'failed logins on either replica count for the account: 429 with Retry-After, no hash spent; another account logs in; after the wait the right password works and clears the count',
  async (t) => {
    for (let i = 0; i < ALLOWED; i++) t.is((await login('alice', 'wrong guess', i)).status, 401);
    const refused = await login('alice', 'alice is the password', 1);
    t.is(refused.status, 429, 'even the right password waits');
    t.is(refused.retryAfter, '1');
    t.regex(String(refused.error), /too many failed logins for this account/);
    t.is((await login('bob', 'bob is the password')).status, 200, 'bob is not alice');
    const ok = await until(
      () => login('alice', 'alice is the password'),
      (r) => r.status === 200,
    );
    t.is(ok.status, 200);
    // Cleared: the allowed failures again before any wait.
    for (let i = 0; i < ALLOWED; i++) t.is((await login('alice', 'wrong guess', i)).status, 401);
    t.is((await login('alice', 'wrong guess')).status, 429);
    const rows = await db.query<{ failures: number }>(
      "SELECT failures FROM login_failures WHERE username = 'alice'",
    );
    t.is(rows.rows[0]!.failures, ALLOWED, 'a refused login is not counted');
  },
);

test.serial('the next failure after a wait waits twice as long', async (t) => {
  await until(
    () => login('alice', 'wrong again'),
    (r) => r.status === 401,
  );
  const refused = await login('alice', 'wrong again', 1);
  t.is(refused.status, 429);
  t.is(refused.retryAfter, '2');
});

test.serial("a name that is no user's is answered as a user's is: 401, then 429", async (t) => {
  const answers = [];
  for (let i = 0; i <= ALLOWED; i++) answers.push((await login('nobody', 'a guess', i)).status);
  t.deepEqual(answers, [...Array<number>(ALLOWED).fill(401), 429]);
});

/** Polls `attempt` until `done` holds (the waits here are a few seconds). */
async function until<T>(attempt: () => Promise<T>, done: (r: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await attempt();
    if (done(r) || Date.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
