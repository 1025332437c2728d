// The login throttle, on two replicas of the service sharing one real PostgreSQL: the count
// is the account's and the client network's, whichever replica a guess reaches; it is taken
// before the password is checked, so guesses sent all at once are bounded as one after
// another are; a stranger's network waiting does not make the owner's wait, until the
// account's own bound; a name that is no user's is answered the same way; a success clears it.
import test from 'ava';
import {
  call,
  createTestDatabase,
  startApp,
  type TestDatabase,
  type TestService,
} from './helpers.js';

let db: TestDatabase;
let replicas: TestService[];
let patient: TestService[];
const ALLOWED = 3;
const ACCOUNT_ALLOWED = 8;

test.before(async () => {
  db = await createTestDatabase();
  const env = {
    LOGIN_FAILURES_ALLOWED: String(ALLOWED),
    LOGIN_ACCOUNT_FAILURES_ALLOWED: String(ACCOUNT_ALLOWED),
    LOGIN_WAIT_SECONDS: '1',
  };
  replicas = [await startApp(db.url, { env }), await startApp(db.url, { env })];
  // Two replicas whose first wait is 5 s: long enough that a burst of guesses, or the backstop,
  // is still inside it when the last guess lands on a busy machine.
  const slow = { env: { ...env, LOGIN_WAIT_SECONDS: '5' } };
  patient = [await startApp(db.url, slow), await startApp(db.url, slow)];
  for (const name of ['alice', 'bob', 'carol', 'dave'])
    await call(`${replicas[0]!.url}/user/${name}`, {
      method: 'PUT',
      json: { fullname: name, password: `${name} is the password` },
    });
});
test.after.always(async () => {
  for (const r of [...(replicas ?? []), ...(patient ?? [])]) await r?.close();
  await db?.drop();
});

/** A login at replica `i % 2` (or `at`), from `address` as the edge names it (none: no header): status, Retry-After and error. */
async function login(name: string, password: string, i = 0, address?: string, at?: TestService) {
  const r = await call(`${(at ?? replicas[i % 2]!).url}/user/${name}/login`, {
    method: 'POST',
    json: { password },
    headers: address ? { 'x-mesh-client-address': address } : {},
  });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), error: r.body.error };
}

test('the wait grows: none before the allowed failures, then doubling up to the most', async (t) => {
  const { rows } = await db.query<{ wait: number }>(
    'SELECT EXTRACT(EPOCH FROM login_wait(n, 5, 1, 900))::float8 AS wait FROM unnest($1::int[]) AS n',
    [[4, 5, 6, 7, 14, 15, 1000]],
  );
  t.deepEqual(
    rows.map((r) => r.wait),
    [null, 1, 2, 4, 512, 900, 900],
  );
});

test.serial(
  'failed logins on either replica count for the account: 429 with Retry-After, no hash spent; another account logs in; after the wait the right password works and clears the count',
  async (t) => {
    for (let i = 0; i < ALLOWED; i++) t.is((await login('alice', 'wrong guess', i)).status, 401);
    const refused = await login('alice', 'alice is the password', 1);
    t.is(refused.status, 429, 'even the right password waits');
    t.is(refused.retryAfter, '1');
    t.regex(String(refused.error), /too many login attempts for this account/);
    t.is((await login('bob', 'bob is the password')).status, 200, 'bob is not alice');
    const ok = await until(
      () => login('alice', 'alice is the password'),
      (r) => r.status === 200,
    );
    t.is(ok.status, 200);
    // Cleared: the allowed failures again before any wait.
    for (let i = 0; i < ALLOWED; i++) t.is((await login('alice', 'wrong guess', i)).status, 401);
    t.is((await login('alice', 'wrong guess')).status, 429);
    const rows = await db.query<{ attempts: number }>(
      "SELECT attempts FROM login_attempts WHERE username = 'alice' AND network = 'unknown'",
    );
    t.is(rows.rows[0]!.attempts, ALLOWED, 'a refused login is not counted');
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

test.serial(
  '40 wrong passwords at once from one network, across both replicas: only the allowed few are checked, and the owner logs in from another network',
  async (t) => {
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        login('carol', `guess ${i}`, i, `198.51.100.${i + 1}`, patient[i % 2]),
      ),
    );
    const count = (s: number) => statuses.filter((x) => x.status === s).length;
    t.is(count(401), ALLOWED, JSON.stringify(statuses.map((x) => x.status)));
    t.is(count(429), 40 - ALLOWED);
    // The same /24 is one network: another address in it waits too.
    t.is(
      (await login('carol', 'carol is the password', 0, '198.51.100.200', patient[0])).status,
      429,
    );
    const owner = await login('carol', 'carol is the password', 1, '203.0.113.9', patient[1]);
    t.is(owner.status, 200, 'the owner, from another network, is not refused');
  },
);

test.serial(
  "guesses from many networks at once: the account's own bound stops them all, the owner included, until the wait",
  async (t) => {
    // 20 networks, 3 guesses each, all at once: each network may check ALLOWED, but the
    // account only ACCOUNT_ALLOWED in all.
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        login('dave', `guess ${i}`, i, `10.${Math.floor(i / 3)}.0.1`, patient[0]),
      ),
    );
    const checked = statuses.filter((x) => x.status === 401).length;
    t.is(checked, ACCOUNT_ALLOWED, JSON.stringify(statuses.map((x) => x.status)));
    const owner = await login('dave', 'dave is the password', 0, '203.0.113.10', patient[0]);
    t.is(owner.status, 429, 'the backstop holds for every network');
    const ok = await until(
      () => login('dave', 'dave is the password', 1, '203.0.113.10'),
      (r) => r.status === 200,
    );
    t.is(ok.status, 200, 'after the wait, the owner logs in');
  },
);

/** Polls `attempt` until `done` holds (the waits here are a few seconds). */
async function until<T>(attempt: () => Promise<T>, done: (r: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await attempt();
    if (done(r) || Date.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
