// Changing a running mesh under steady load, in real Docker: `make up` rolls a rebuilt image and
// a changed environment onto 3 replicas one at a time, changes the edge's routes live, refuses
// a replica that cannot start; `make canary` splits traffic by weight and by header, `make
// rollback` and `make promote` end it. Every change is made while 4 clients read and write
// through the edge, and every one of their requests must get its expected answer.
import test from 'ava';
import {
  adminInside,
  call,
  containers,
  LIFTED_LIMITS,
  make,
  makeWith,
  MIXED,
  rawCall,
  sh,
  sleep,
  steadyLoad,
} from './helpers.js';

/** `make <verb>` with the limits lifted and a version of our own: the image is rebuilt when it changes. */
const makeAt = (version: string, verb: string, env: Record<string, string> = {}) =>
  makeWith({ ...LIFTED_LIMITS, SERVICE_VERSION: version, ...env }, verb);

/** Runs `change` while MIXED runs; the load's figures. */
async function underLoad(
  t: { log: (...v: unknown[]) => void },
  what: string,
  change: () => Promise<unknown>,
) {
  const load = steadyLoad(MIXED, 4);
  await sleep(1000);
  const started = Date.now();
  let outcome: unknown; // the error, if the change failed
  try {
    await change();
  } catch (err) {
    outcome = err;
  }
  const took = Date.now() - started;
  await sleep(1000);
  const figures = await load.stop();
  t.log(
    `${what}: ${figures.total} requests in ${took} ms of change, ${figures.failures.length} failed; versions ${JSON.stringify(Object.fromEntries(figures.versions))}`,
  );
  return { ...figures, outcome, took };
}

const versionsServing = async (n = 30) => {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = String((await call('/user/health')).body.version);
    seen.set(v, (seen.get(v) ?? 0) + 1);
  }
  return seen;
};

test.before(async () => {
  await make('clean');
  await makeAt('rollout-1', 'up', { N: '3' });
  const alice = await call('/user/alice', {
    method: 'PUT',
    json: { fullname: 'Alice', password: 'alicerules' },
  });
  if (alice.status !== 201) throw new Error(`could not create alice: ${alice.status}`);
});

test.after.always(async () => {
  await make('clean');
});

test.serial(
  'a rebuilt image rolls onto 3 replicas one at a time: 0 failed, all on the new version, still 3',
  async (t) => {
    const before = await containers();
    const run = await underLoad(t, 'rollout of a rebuilt image', () => makeAt('rollout-2', 'up'));
    t.falsy(run.outcome, String(run.outcome));
    t.true(run.total > 200, `${run.total} requests`);
    t.deepEqual(run.failures, []);
    const after = await containers();
    t.is(after.length, 3);
    t.deepEqual(
      after.filter((id) => before.includes(id)),
      [],
      'every replica was replaced',
    );
    t.deepEqual([...(await versionsServing()).keys()], ['rollout-2']);
    t.true(
      (run.versions.get('rollout-1') ?? 0) > 0 && (run.versions.get('rollout-2') ?? 0) > 0,
      'both versions served during the rollout',
    );
  },
);

test.serial(
  'a changed environment variable rolls too: 0 failed, and the replicas run with it',
  async (t) => {
    const run = await underLoad(t, 'rollout of LOG_LEVEL=warn', () =>
      makeAt('rollout-2', 'up', { LOG_LEVEL: 'warn' }),
    );
    t.falsy(run.outcome, String(run.outcome));
    t.deepEqual(run.failures, []);
    const ids = await containers();
    t.is(ids.length, 3);
    for (const id of ids)
      t.regex(await sh(`docker inspect -f '{{json .Config.Env}}' ${id}`), /"LOG_LEVEL=warn"/);
    // Nothing changed: make up leaves every replica alone.
    await makeAt('rollout-2', 'up', { LOG_LEVEL: 'warn' });
    t.deepEqual((await containers()).sort(), ids.sort());
  },
);

test.serial(
  "the edge's routes change live: 0 failed, the new value in the edges' config, no edge restarted",
  async (t) => {
    const edges = (await containers('edge')).sort();
    t.is(edges.length, 2, 'two edges');
    const run = await underLoad(t, "a live change of the edge's routes", () =>
      makeAt('rollout-2', 'up', { LOG_LEVEL: 'warn', EDGE_LIMIT_READ_BURST: '777777' }),
    );
    t.falsy(run.outcome, String(run.outcome));
    t.deepEqual(run.failures, []);
    t.deepEqual((await containers('edge')).sort(), edges, 'the same edge containers');
    for (const e of edges) {
      const dump = await adminInside(e, '/config_dump?resource=dynamic_route_configs');
      // Each of the two edges holds half the burst (scripts/lib/edge-config.ts).
      t.true(
        dump.includes(`"max_tokens": 388889`),
        `the new burst's share (777,777 / 2, rounded up) is in ${e}'s routes`,
      );
    }

    // And in effect: a burst of 5 answers the 6th quick read with a 429.
    await makeAt('rollout-2', 'up', {
      LOG_LEVEL: 'warn',
      EDGE_LIMIT_READ_PER_S: '1',
      EDGE_LIMIT_READ_BURST: '5',
    });
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await call('/user/alice')).status);
    t.true(statuses.includes(429), statuses.join(' '));
    await makeAt('rollout-2', 'up', { LOG_LEVEL: 'warn' });
    t.deepEqual((await containers('edge')).sort(), edges);
  },
);

test.serial(
  'changed edges hand over to new edges in the same network: 0 failed, no new connection refused',
  async (t) => {
    const [holder] = await containers('edge-port');
    const edges = await containers('edge');
    // Beside the steady load (kept-alive connections), a new TCP connection for every request.
    let fresh = 0;
    const refused: string[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        fresh++;
        try {
          const r = await rawCall('GET', '/user/health');
          if (r.status !== 200) refused.push(`status ${r.status}`);
        } catch (err) {
          refused.push(String(err));
        }
      }
    })();
    const run = await underLoad(t, 'an edge handover (EDGE_LOG_LEVEL=info)', () =>
      makeAt('rollout-2', 'up', { LOG_LEVEL: 'warn', EDGE_LOG_LEVEL: 'info' }),
    );
    probing = false;
    await prober;
    t.log(`${fresh} requests on new connections during it, ${refused.length} failed`);
    t.falsy(run.outcome, String(run.outcome));
    t.deepEqual(run.failures, []);
    t.true(fresh > 100, `${fresh} new connections`);
    t.deepEqual(refused, []);
    const now = await containers('edge');
    t.is(now.length, 2, 'two edges, the old ones gone');
    t.deepEqual(
      now.filter((e) => edges.includes(e)),
      [],
      'both new',
    );
    t.deepEqual(await containers('edge-port'), [holder], 'the same holder: the ports never moved');
    for (const e of now)
      t.regex(await sh(`docker inspect -f '{{json .Config.Cmd}}' ${e}`), /"info"/);
  },
);

test.serial(
  'a new replica that cannot start stops the rollout: make up fails with the reason, the old replicas serve, 0 failed',
  async (t) => {
    const before = (await containers()).sort();
    const run = await underLoad(t, 'a rollout whose replica exits 2', () =>
      makeAt('rollout-2', 'up', { LOG_LEVEL: 'warn', SCRYPT_COST: '99' }),
    );
    const failed = run.outcome as { code?: number; stderr?: string } | undefined;
    t.truthy(failed, 'make up failed');
    t.regex(
      String(failed?.stderr),
      /rollout failed: the new replica \S+ was removed: it exited with code 2: .*SCRYPT_COST must be between 10 and 20/,
    );
    t.deepEqual(run.failures, []);
    t.deepEqual(
      (await containers()).sort(),
      before,
      'the same replicas serve, and nothing else runs',
    );
    t.is(
      (
        await sh(
          `docker ps -aq --filter label=com.docker.compose.service=usersvc --filter status=exited`,
        )
      ).trim(),
      '',
      'the failed replica was removed',
    );
  },
);

test.serial(
  "a canary at 10 %: its share of 1,000 requests is 5-15 %; a client's x-canary: 1 changes nothing until CANARY_PIN=1, then always reaches it; rollback leaves none to it",
  async (t) => {
    await makeAt('canary-1', 'canary', { LOG_LEVEL: 'warn', WEIGHT: '10' });
    const seen = await versionsServing(1000);
    const share = (seen.get('canary-1') ?? 0) / 1000;
    t.log(
      `the canary answered ${(share * 100).toFixed(1)} % of 1000 requests: ${JSON.stringify(Object.fromEntries(seen))}`,
    );
    t.true(share >= 0.05 && share <= 0.15, `share ${share}`);
    t.deepEqual([...seen.keys()].sort(), ['canary-1', 'rollout-2']);
    const pinnedVersions = async () => {
      const versions = new Map<string, number>();
      for (let i = 0; i < 20; i++) {
        const v = String(
          (await call('/user/alice', { headers: { 'x-canary': '1' } })).body.version,
        );
        versions.set(v, (versions.get(v) ?? 0) + 1);
      }
      return versions;
    };
    // Not turned on: the header is one more request in the split (10 %: all 20 on the canary
    // would be a chance of 1 in 10^20).
    t.true(((await pinnedVersions()).get('rollout-2') ?? 0) > 0, 'x-canary: 1 picked the canary');
    await makeAt('canary-1', 'canary', { LOG_LEVEL: 'warn', WEIGHT: '10', CANARY_PIN: '1' });
    t.deepEqual(Object.fromEntries(await pinnedVersions()), { 'canary-1': 20 });
    // make stats shows the two side by side.
    const stats = JSON.parse(await make('stats', 'ARGS=--json')) as {
      tracks: { track: string; versions: string[]; requests: number; successRate: number }[];
    };
    t.like(stats.tracks, [
      { track: 'stable', versions: ['rollout-2'] },
      { track: 'canary', versions: ['canary-1'], successRate: 100 },
    ]);
    t.true(
      stats.tracks[1]!.requests >= 20 + (seen.get('canary-1') ?? 0),
      JSON.stringify(stats.tracks),
    );

    const run = await underLoad(t, 'make rollback', () => makeAt('canary-1', 'rollback'));
    t.falsy(run.outcome, String(run.outcome));
    t.deepEqual(run.failures, []);
    t.deepEqual(
      [...(await versionsServing(200)).keys()],
      ['rollout-2'],
      'nothing reaches the canary',
    );
    t.is(
      (await call('/user/alice', { headers: { 'x-canary': '1' } })).body.version,
      'rollout-2',
      'without a canary the header is ignored',
    );
    t.deepEqual(await containers('usersvc-canary'), []);
  },
);

test.serial(
  "make promote rolls the stable replicas onto the canary's version and removes it: 0 failed",
  async (t) => {
    await makeAt('canary-2', 'canary', { LOG_LEVEL: 'warn' });
    const run = await underLoad(t, 'make promote', () => makeAt('canary-2', 'promote'));
    t.falsy(run.outcome, String(run.outcome));
    t.deepEqual(run.failures, []);
    t.is((await containers()).length, 3);
    t.deepEqual(await containers('usersvc-canary'), []);
    t.deepEqual([...(await versionsServing()).keys()], ['canary-2']);
    // make up from the same tree and environment leaves the promoted replicas alone.
    const ids = (await containers()).sort();
    await makeAt('canary-2', 'up', { LOG_LEVEL: 'warn' });
    t.deepEqual((await containers()).sort(), ids);
  },
);
