// make stats against the real mesh: it accounts for every request sent through the edge,
// replica by replica, and shows a killed replica as not healthy.
import test from 'ava';
import type { Report } from '../../scripts/stats/report.js';
import { EDGE, make, sh, sleep } from './helpers.js';

const K = 300;

const stats = async () => JSON.parse(await make('stats', 'ARGS=--json')) as Report;

test.before(async () => {
  await make('up', 'N=3');
});
test.after.always(async () => {
  await make('clean');
});

test.serial(
  `make stats accounts for ${K} requests through the edge across the 3 replicas`,
  async (t) => {
    const put = await fetch(`${EDGE}/user/statsuser`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fullname: 'Stats User', password: 'stats-password-1' }),
    });
    t.true([201, 409].includes(put.status));
    const before = await stats();
    t.deepEqual(before.edge.replicas, { healthy: 3, total: 3 });
    t.is(before.replicas.length, 3);

    // K reads from 4 concurrent clients, every one a 200.
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next++ < K) {
          const r = await fetch(`${EDGE}/user/statsuser`);
          await r.arrayBuffer();
          statuses.push(r.status);
        }
      }),
    );
    t.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
    const after = await stats();

    t.is(after.edge.requests.total - before.edge.requests.total, K);
    t.is(after.edge.requests['2xx'] - before.edge.requests['2xx'], K);
    t.is(after.edge.retries - before.edge.retries, 0);
    const sent = after.replicas.map(
      (r) => r.edge!.sent - before.replicas.find((b) => b.name === r.name)!.edge!.sent,
    );
    const served = after.replicas.map(
      (r) => r.sidecar!['2xx'] - before.replicas.find((b) => b.name === r.name)!.sidecar!['2xx'],
    );
    t.log(`edge sent ${sent.join(' + ')} = ${K}; sidecars answered 2xx ${served.join(', ')}`);
    t.is(
      sent.reduce((a, b) => a + b),
      K,
    ); // every request is on exactly one replica's row
    t.deepEqual(served, sent); // and each replica's sidecar saw the same requests as the edge sent it
    t.true(
      sent.every((n) => n >= K / 6),
      'the edge spreads the load over all 3',
    );
    t.true(after.replicas.every((r) => r.health === 'healthy' && r.sidecar!.db.active >= 1));
  },
);

test.serial('a killed replica shows as exited and no longer healthy in the edge', async (t) => {
  const victim = (await stats()).replicas[0]!;
  await sh(`docker kill ${victim.name}`);
  let report = await stats();
  for (let i = 0; i < 40 && report.edge.replicas.healthy !== 2; i++) {
    await sleep(250);
    report = await stats();
  }
  t.deepEqual(report.edge.replicas.healthy, 2);
  t.regex(report.replicas.find((r) => r.name === victim.name)!.health, /^exited \(137\)$/);
  t.false(
    report.replicas.some((r) => r.address === victim.address && r.health.startsWith('healthy')),
  );
  t.is(report.replicas.filter((r) => r.health === 'healthy').length, 2);
});
