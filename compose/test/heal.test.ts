// A mesh that heals itself, in real Docker under steady load through the edge: a replica whose
// Node process is killed comes back by its restart policy; an edge process killed loses only
// what was in flight on its connections while the other edge takes every new one, and is back
// by itself; make check names what is down and make up brings it back; a dead replica goes
// first when scaling down; and after the engine itself restarts (a reboot), the mesh returns
// with its declared replicas without any make. A client outside the host's loopback (a network
// namespace of the test's own, outside.ts) is served through both as well.
import test from 'ava';
import { edgeAdmins, isReady } from '../../scripts/lib/edges.js';
import { restartEngine } from './engine.js';
import {
  call,
  containers,
  healthyInEdge,
  LIFTED_LIMITS,
  make,
  makeWith,
  rawCall,
  sh,
  sleep,
  steadyLoad,
  until,
} from './helpers.js';
import { OUTSIDE_HOST, outsideClient, type OutsideClient } from './outside.js';

const restarts = async (id: string) =>
  Number((await sh(`docker inspect -f '{{.RestartCount}}' ${id}`)).trim());
/** How many edges serve (/ready LIVE), each asked in its container. */
const readyEdges = async () =>
  (await Promise.all((await edgeAdmins()).map(isReady))).filter(Boolean).length;

let outside: OutsideClient;

test.before(async () => {
  outside = await outsideClient();
  await make('clean');
  // The mesh's own HTTPS certificate names the host's address as the outside client sees it.
  await makeWith({ ...LIFTED_LIMITS, EDGE_HOSTNAMES: OUTSIDE_HOST }, 'up', 'N=3');
  const alice = await call('/user/alice', {
    method: 'PUT',
    json: { fullname: 'Alice', password: 'alicerules' },
  });
  if (alice.status !== 201) throw new Error(`could not create alice: ${alice.status}`);
});
test.after.always(async () => {
  await outside?.stop();
  await make('clean');
});

test.serial(
  'Node killed in a replica under steady reads: 0 failed, the same container back and routed within 15 s',
  async (t) => {
    const [victim] = await containers();
    const before = await restarts(victim!);
    const load = steadyLoad('/user/alice');
    await sleep(1000);
    const killed = Date.now();
    await sh(
      `docker exec ${victim} bash -c 'for p in /proc/[0-9]*; do grep -qa "^node" $p/cmdline 2>/dev/null && kill -9 \${p#/proc/}; done; true'`,
    );
    await until(
      30_000,
      async () =>
        (await restarts(victim!)) > before && (await healthyInEdge()) === 3 ? true : undefined,
      async () =>
        `restarts ${await restarts(victim!)} (was ${before}); ${await healthyInEdge()} healthy in the edges`,
    );
    const back = Date.now() - killed;
    await sleep(1000);
    const { total, failures } = await load.stop();
    t.log(
      `${total} reads, ${failures.length} failed; the replica was back and routed ${back} ms after its Node was killed`,
    );
    t.true(total > 50, `${total} requests`);
    t.deepEqual(failures, []);
    t.true(back < 15_000, `back after ${back} ms`);
    t.true((await containers()).includes(victim!), 'the same container, restarted');
  },
);

test.serial(
  'an edge process killed: only what was in flight on its connections fails, new connections answered, both edges back by themselves',
  async (t) => {
    const edges = await containers('edge');
    t.is(edges.length, 2, 'two edges');
    const [victim] = edges;
    const before = await restarts(victim!);
    const pid = Number((await sh(`docker inspect -f '{{.State.Pid}}' ${victim}`)).trim());
    // Kept-alive connections (4 clients), and a new connection for every request beside them.
    const workers = 4;
    const load = steadyLoad('/user/alice', workers);
    let probing = true;
    const fresh: { at: number; ok: boolean; why?: string }[] = [];
    const prober = (async () => {
      while (probing) {
        const at = Date.now();
        const r = await rawCall('GET', '/user/health').then(
          (x) => ({ ok: x.status === 200, why: String(x.status) }),
          (e: Error) => ({ ok: false, why: e.message }),
        );
        fresh.push({ at, ...r });
      }
    })();
    // And a client from outside the host's loopback, through Docker's DNAT, for 6 s.
    const remote = outside.load('/user/alice', 6);
    await sleep(1500);
    const killed = Date.now();
    process.kill(pid, 'SIGKILL');
    await until(
      60_000,
      async () =>
        (await restarts(victim!)) > before &&
        (await containers('edge')).length === 2 &&
        (await readyEdges()) === 2
          ? true
          : undefined,
      async () =>
        `the killed edge restarted ${await restarts(victim!)} time(s) (was ${before}); ${await readyEdges()} edges ready`,
    );
    const whole = Date.now() - killed;
    await sleep(1000);
    probing = false;
    await prober;
    const { total, failures } = await load.stop();
    const far = await remote;
    const failedFresh = fresh.filter((f) => !f.ok);
    const lastFailure = Math.max(0, ...failedFresh.map((f) => f.at - killed));
    const afterKill = fresh.filter((f) => f.at > killed);
    t.log(`kept-alive: ${total} requests, ${failures.length} failed ${JSON.stringify(failures)}`);
    t.log(
      `new connections: ${fresh.length} requests, ${failedFresh.length} failed (the last sent ${lastFailure} ms after the kill); ${afterKill.length} sent after it`,
    );
    t.log(`both edges ready again ${whole} ms after the kill`);
    t.log(
      `from outside the host's loopback: ${far.total} requests, ${far.failures.length} failed ${JSON.stringify(far.failures)}`,
    );
    t.true(far.failures.length <= workers, `${far.failures.length} requests from outside failed`);
    t.true(far.total > 100, `${far.total} requests from outside`);
    // At most one request in flight per client: on the killed edge's connections, no more can fail.
    t.true(failures.length <= workers, `${failures.length} kept-alive requests failed`);
    t.true(failedFresh.length <= 1, `${failedFresh.length} requests on new connections failed`);
    t.true(lastFailure < 1000, 'every new connection from 1 s after the kill is answered');
    t.true(
      afterKill.filter((f) => f.at > killed + 1000).length > 20,
      'and there were many of them',
    );
    t.true(total > 100);
    // Each edge in a slot of its own: the restarted one took its slot back (or another free one).
    const ports = await Promise.all(
      (await containers('edge')).map(async (e) =>
        (await sh(`docker exec ${e} cat /tmp/admin-port`)).trim(),
      ),
    );
    t.is(new Set(ports).size, 2, `admin ports ${ports.join(', ')}`);
  },
);

test.serial(
  'make check names what is down; make up brings back stopped edges and a killed port holder, and checks through the port',
  async (t) => {
    const [holder] = await containers('edge-port');
    await sh(`docker stop ${(await containers('edge')).join(' ')} && docker kill ${holder}`);
    const check = await make('check').then(
      () => ({ stdout: 'exit 0', stderr: '' }),
      (e: { stdout: string; stderr: string }) => e,
    );
    t.regex(check.stdout, /✗ edge-port: 0 of 1 running \(\S+ exited.*; edge: 0 of 2 running/);
    t.regex(
      check.stdout,
      /✗ through the published port: http:\/\/127\.0\.0\.1:8000\/user\/health\?deep=1 did not answer 200/,
    );
    t.regex(check.stderr, /check: .*services.* failed/);
    const up = await make('up');
    t.regex(
      up,
      /rollout: checked: every service runs, and http:\/\/127\.0\.0\.1:8000\/user\/health\?deep=1 answers 200 through the published port/,
    );
    t.is((await call('/user/alice')).status, 200);
    t.is((await containers('edge')).length, 2);
    t.is(await readyEdges(), 2);
    t.regex(await make('check'), /✓ every service runs as declared/);
  },
);

test.serial(
  'replica 1 killed, then make scale N=1 under steady load: 0 failed, the dead one removed, a healthy one kept',
  async (t) => {
    const [one] = (
      await sh(
        'docker ps -q --filter label=com.docker.compose.project=usermesh --filter label=com.docker.compose.service=usersvc --filter label=com.docker.compose.container-number=1',
      )
    )
      .split('\n')
      .filter(Boolean);
    t.truthy(one, 'replica 1 runs');
    await sh(`docker kill ${one}`);
    await until(
      20_000,
      async () => ((await healthyInEdge()) === 2 ? true : undefined),
      () => 'the edges did not drop the killed replica',
    );
    const load = steadyLoad('/user/alice');
    await sleep(1000);
    await make('scale', 'N=1');
    await sleep(1000);
    const { total, failures } = await load.stop();
    t.log(`${total} reads during make scale N=1 with replica 1 dead, ${failures.length} failed`);
    t.deepEqual(failures, []);
    t.is((await containers()).length, 1);
    t.is(await healthyInEdge(), 1);
    t.is(
      (await sh(`docker ps -aq --filter id=${one}`)).trim(),
      '',
      'the dead replica was removed, not started again',
    );
  },
);

test.serial(
  'the engine restarts (a reboot): the mesh comes back by itself with its declared 3 replicas, and answers every request',
  async (t) => {
    await make('scale', 'N=3');
    const gone = await restartEngine();
    const back = Date.now();
    // The first answer through the published port, the database included.
    await until(
      120_000,
      async () =>
        (await rawCall('GET', '/user/health?deep=1').catch(() => ({ status: 0 }))).status === 200
          ? true
          : undefined,
      () => "the mesh did not answer within 2 minutes of the engine's return",
    );
    const answering = Date.now() - back;
    await until(
      120_000,
      async () =>
        (await healthyInEdge().catch(() => 0)) === 3 && (await readyEdges().catch(() => 0)) === 2
          ? true
          : undefined,
      async () =>
        `${await healthyInEdge().catch(() => 0)} healthy replicas, ${await readyEdges().catch(() => 0)} edges ready`,
    );
    const whole = Date.now() - back;
    const load = steadyLoad('/user/alice');
    await sleep(5000);
    const { total, failures } = await load.stop();
    t.log(
      `the engine was gone ${gone} ms; the mesh answered ${answering} ms after it returned, with 3 replicas and 2 edges after ${whole} ms; then ${total} reads, ${failures.length} failed`,
    );
    t.is((await containers()).length, 3, 'the declared 3 replicas');
    t.is((await containers('edge')).length, 2);
    t.deepEqual(failures, []);
    t.true(total > 100);
    t.like((await call('/user/alice')).body, { ok: true, fullname: 'Alice' });
    const far = await outside.load('/user/alice', 5);
    t.log(
      `then from outside the host's loopback: ${far.total} reads, ${far.failures.length} failed`,
    );
    t.deepEqual(far.failures, []);
    t.true(far.total > 50);
    t.regex(await make('check'), /✓ every service runs as declared/);
  },
);
