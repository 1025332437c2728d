// Fairness per client, end to end in real Docker with the edge's default limits: a client's
// own X-Forwarded-For does not move it into another bucket; behind a proxy of yours
// (EDGE_TRUSTED_CIDRS naming the host's address on appmesh, the host playing the proxy) each
// client it names has its own, while a container that reaches the edge directly still cannot
// choose its address; an account guessed at from 20 addresses of one network waits there,
// while its owner logs in from another; and guesses sent all at once, 40 then 100, are checked
// no more than LOGIN_FAILURES_ALLOWED times (user-service/src/login-throttle.ts), while the
// owner logs in from outside the host.
import test from 'ava';
import { call, fromNeighbour, LIFTED_LIMITS, make, makeWith, sh, type Reply } from './helpers.js';
import { quote } from '../../conformance/outside.js';
import { outsideClient, type OutsideClient } from './outside.js';

const LOGIN = '/user/alice/login';
let batch = 0;

/**
 * `n` logins at once, each with the X-Forwarded-For `from(i)` and for a name of its own (no
 * account's throttle in the way): how many the edge refused (its 429), and the other statuses.
 */
async function logins(n: number, from: (i: number) => string) {
  batch++;
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      call(`/user/guest-${batch}-${i}/login`, {
        method: 'POST',
        json: { password: 'not it at all' },
        headers: { 'x-forwarded-for': from(i) },
      }),
    ),
  );
  const counts: Record<string, number> = {};
  for (const r of replies) {
    const key = /from your address/.test(String(r.body.error)) ? 'edge 429' : String(r.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

test.before(async () => {
  await makeWith({}, 'up', 'N=2'); // the default limits: 1 login/s per client, 10 at once
  for (const [name, password] of [
    ['alice', 'alicerules'],
    ['bob', 'bobrules1'],
  ]) {
    const r = await call(`/user/${name}`, { method: 'PUT', json: { fullname: name, password } });
    if (r.status !== 201) throw new Error(`could not create ${name}: ${r.status}`);
  }
});
let outside: OutsideClient | undefined;
test.after.always(async () => {
  await outside?.stop();
  await make('clean');
});

test.serial(
  "no EDGE_TRUSTED_CIDRS (the default): a client's forged X-Forwarded-For changes nothing",
  async (t) => {
    const started = Date.now();
    const first = await logins(30, (i) => `198.51.100.${i + 1}`);
    t.true(
      (first['edge 429'] ?? 0) >= 15,
      `30 logins at once, each "from" another address: ${JSON.stringify(first)}`,
    );
    // The bucket refills at 1 login a second while the first batch's logins hash (slower on a
    // busy machine): that many, and one more, may pass; with a bucket per forged address, all 10.
    const refilled = Math.ceil((Date.now() - started) / 1000) + 1;
    const again = await logins(10, (i) => `203.0.113.${i + 1}`);
    t.true(
      (again['edge 429'] ?? 0) >= 10 - refilled,
      `then 10 more from yet other addresses, ${refilled} tokens refilled: ${JSON.stringify(again)}`,
    );
  },
);

test.serial(
  'EDGE_TRUSTED_CIDRS: two clients behind the trusted proxy get a bucket each; a container that reaches the edge directly, claiming addresses, does not',
  async (t) => {
    // Published ports reach the edge from appmesh's gateway: the host is the proxy here.
    const gateway = (
      await sh(
        `docker network inspect appmesh --format '{{range .IPAM.Config}}{{.Gateway}} {{end}}'`,
      )
    )
      .split(' ')
      .find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
    t.truthy(gateway, "appmesh's gateway");
    await makeWith({ EDGE_TRUSTED_CIDRS: `${gateway}/32` }, 'up');
    const a = await logins(30, () => '198.51.100.1');
    t.true((a['edge 429'] ?? 0) >= 15, `client A, 30 logins at once: ${JSON.stringify(a)}`);
    const b = await logins(5, () => '198.51.100.2');
    t.is(b['edge 429'] ?? 0, 0, `client B right after: ${JSON.stringify(b)}`);
    // A neighbour on appmesh, straight to the edge's HTTPS port, each login "from" another address.
    const direct = await fromNeighbour<(number | string)[]>(`
      import https from 'node:https';
      const login = (i) => new Promise((resolve) => {
        const req = https.request('https://edge:8443/user/neighbour-' + i + '/login', {
          method: 'POST',
          rejectUnauthorized: false, // the edge's certificate names localhost, not edge
          headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.' + (i + 1) },
        }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
        req.on('error', (e) => resolve(e.code ?? e.message));
        req.end(JSON.stringify({ password: 'not it at all' }));
      });
      console.log(JSON.stringify(await Promise.all(Array.from({ length: 30 }, (_, i) => login(i)))));
    `);
    t.true(
      direct.filter((s) => s === 429).length >= 15,
      `30 logins at once from a neighbour: ${JSON.stringify(direct)}`,
    );
  },
);

test.serial(
  '20 wrong passwords for one account from 20 addresses of one network: the account waits there (429 with Retry-After); its owner from another network and another account log in at once; after the wait the right password works there',
  async (t) => {
    const seen: number[] = [];
    let refused: Reply | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await call(LOGIN, {
        method: 'POST',
        json: { password: `guess number ${i}` },
        headers: { 'x-forwarded-for': `198.51.100.${100 + i}` },
      });
      seen.push(r.status);
      if (r.status === 429) refused = r;
    }
    t.true(
      seen.slice(0, 5).every((s) => s === 401),
      JSON.stringify(seen),
    );
    t.true(
      seen.slice(5).every((s) => s === 429),
      JSON.stringify(seen),
    );
    t.regex(String(refused?.body.error), /too many login attempts for this account/);
    t.regex(refused?.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);

    const bob = await call('/user/bob/login', { method: 'POST', json: { password: 'bobrules1' } });
    t.is(bob.status, 200, 'bob logs in at once');
    // The host itself is another client network (appmesh's gateway, trusted, no X-Forwarded-For).
    const owner = await call(LOGIN, { method: 'POST', json: { password: 'alicerules' } });
    t.is(owner.status, 200, 'alice, from another network, logs in at once');

    const wait = Number(refused?.headers.get('retry-after')) * 1000;
    const deadline = Date.now() + wait + 10_000;
    const fromThere = () =>
      call(LOGIN, {
        method: 'POST',
        json: { password: 'alicerules' },
        headers: { 'x-forwarded-for': '198.51.100.150' },
      });
    let right = await fromThere();
    while (right.status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      right = await fromThere();
    }
    t.is(right.status, 200, `after ${wait} ms, the right password`);
  },
);

/** The owner's login from outside the host: a client network of its own. Its status. */
async function ownerFromOutside(client: OutsideClient): Promise<number> {
  const script = `
    const https = await import('node:https');
    const req = https.request('${client.base}/user/erin/login', { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
      (res) => { res.resume(); res.on('end', () => console.log(res.statusCode)); });
    req.on('error', () => console.log(0));
    req.end(JSON.stringify({ password: 'erin is the password' }));`;
  return Number(
    await sh(client.inside(['node', '--input-type=module', '-e', script]).map(quote).join(' ')),
  );
}

test.serial(
  "40, then 100 wrong passwords for one account at once, the edge's limits lifted, each claiming another address: no more than LOGIN_FAILURES_ALLOWED are checked, and the owner logs in from outside the host meanwhile",
  async (t) => {
    // No trusted proxy: every forged X-Forwarded-For is the host's one client network.
    await makeWith({ ...LIFTED_LIMITS, EDGE_TRUSTED_CIDRS: '' }, 'up');
    const created = await call('/user/erin', {
      method: 'PUT',
      json: { fullname: 'Erin', password: 'erin is the password' },
    });
    t.is(created.status, 201);
    outside = await outsideClient();
    for (const n of [40, 100]) {
      const replies = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          call('/user/erin/login', {
            method: 'POST',
            json: { password: `guess ${n}-${i}` },
            headers: { 'x-forwarded-for': `203.0.${i}.${n}` },
          }),
        ),
      );
      const statuses = replies.map((r) => r.status);
      const checked = statuses.filter((s) => s === 401).length;
      t.true(checked <= 5, `${n} at once: ${checked} checked (${JSON.stringify(statuses)})`);
      t.true(
        statuses.every((s) => s === 401 || s === 429),
        `${n} at once: only 401 and 429`,
      );
      t.log(`${n} wrong passwords at once: ${checked} checked, ${n - checked} refused (429)`);
      t.is(await ownerFromOutside(outside), 200, `the owner, from outside, after the ${n}`);
    }
  },
);
