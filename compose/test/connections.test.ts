// Connection slots, end to end in real Docker: one client opening 10,000 connections and
// sending nothing, from the host (through Docker's port proxy) and from outside the host's
// loopback (a network namespace of the test's own, through Docker's DNAT). The edge takes at
// most EDGE_CONNECTIONS_PER_CLIENT (256) of them, closes those within seconds, and another
// client is answered within a second meanwhile, and after.
import test from 'ava';
import { startFlood } from './flood.js';
import { LIFTED_LIMITS, make, makeWith, root, sh } from './helpers.js';
import { OUTSIDE_HOST, outsideClient, type OutsideClient } from './outside.js';

const FLOOD = 10_000;
const BOUND = 256;
let outside: OutsideClient;

/** One HTTPS GET from the host: status and seconds. */
const fromHost = async () => {
  const out = await sh(
    `curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' --cacert ${root}secrets/ca.pem https://localhost:8443/user/health || true`,
  );
  const [status, seconds] = out.trim().split(' ');
  return { status: Number(status), ms: Math.round(Number(seconds) * 1000) };
};

/** Until `get` answers 200 (10 s at most): the answer. */
async function answered(get: () => Promise<{ status: number; ms: number }>) {
  const deadline = Date.now() + 10_000;
  let r = await get();
  while (r.status !== 200 && Date.now() < deadline) r = await get();
  return r;
}

test.before(async () => {
  outside = await outsideClient();
  await makeWith({ ...LIFTED_LIMITS, EDGE_HOSTNAMES: OUTSIDE_HOST }, 'up');
});
test.after.always(async () => {
  await outside?.stop();
  await make('clean');
});

test.serial(
  '10,000 idle connections from the host: the edge holds at most 256, closes them within seconds; a client from outside is answered within 1 s meanwhile, and the host again after',
  async (t) => {
    const flood = startFlood('127.0.0.1', 8443, FLOOD, 20);
    await flood.attempted;
    const during = await outside.get('/user/health');
    const result = await flood.done;
    t.log(
      `flood from the host: ${JSON.stringify(result)}; a client from outside meanwhile: ${JSON.stringify(during)}`,
    );
    t.is(during.status, 200);
    t.true(during.ms < 1000, `answered in ${during.ms} ms`);
    t.true(result.openMoreThan1s <= BOUND, 'the edge took at most its bound');
    t.true(result.longestOpenMs < 9000, `idle connections closed after ${result.longestOpenMs} ms`);
    const after = await answered(fromHost);
    t.is(after.status, 200, "the host's published port still answers (Docker's port proxy lives)");
  },
);

test.serial(
  '10,000 idle connections from outside the host: 256 at most are taken, the rest refused at once and closed within seconds; the host is answered within 1 s meanwhile, and that client again after',
  async (t) => {
    const flood = startFlood(OUTSIDE_HOST, 8443, FLOOD, 20, (argv) => outside.inside(argv));
    await flood.attempted;
    const during = await fromHost();
    const result = await flood.done;
    t.log(
      `flood from outside: ${JSON.stringify(result)}; the host meanwhile: ${JSON.stringify(during)}`,
    );
    t.is(during.status, 200);
    t.true(during.ms < 1000, `answered in ${during.ms} ms`);
    t.true(result.connected <= BOUND, `${result.connected} connected`);
    t.true(result.refused >= FLOOD - BOUND, `${result.refused} refused`);
    t.true(result.longestOpenMs < 9000, `idle connections closed after ${result.longestOpenMs} ms`);
    const after = await answered(() => outside.get('/user/health'));
    t.is(after.status, 200);
  },
);

test.serial('a connection that sends nothing is closed after 5 s, on either port', async (t) => {
  for (const port of [8000, 8443]) {
    const flood = startFlood('127.0.0.1', port, 1, 20);
    const result = await flood.done;
    t.is(result.closedByPeer, 1, `port ${port}`);
    t.true(
      result.longestOpenMs >= 4000 && result.longestOpenMs < 8000,
      `port ${port}: closed after ${result.longestOpenMs} ms`,
    );
  }
});
