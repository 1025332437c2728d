// Compose's own commands, typed by hand from the repository root on a mesh make brought up, under
// steady load: they find every setting make used in .env, so scaling up and down changes only
// the replicas added or removed, with no request lost, and a plain `up -d` changes nothing.
// make e2e runs it with compose v2 (docker compose), make e2e-v1 with v1 (docker-compose).
import test from 'ava';
import {
  call,
  containers,
  healthyInEdge,
  make,
  PROJECT,
  sh,
  sleep,
  steadyLoad,
  until,
} from './helpers.js';

const byHand = process.env.COMPOSE_CLI === 'v1' ? 'docker-compose' : 'docker compose';

/** Every container of the project: id -> when it started. */
async function everything(): Promise<Map<string, string>> {
  const out = await sh(
    `docker inspect -f '{{.Id}} {{.State.StartedAt}}' $(docker ps -aq --filter label=com.docker.compose.project=${PROJECT})`,
  );
  return new Map(
    out
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]),
  );
}

/** Runs the command by hand under load, then waits until the edges route to `want` replicas. */
async function underLoad(command: string, want: number) {
  const load = steadyLoad('/user/alice');
  await sleep(1000);
  await sh(command);
  await until(
    90_000,
    async () =>
      (await healthyInEdge()) === want && (await containers()).length === want ? true : undefined,
    async () =>
      `${await healthyInEdge()} healthy in the edges, ${(await containers()).length} running, not ${want}`,
  );
  await sleep(1000);
  return load.stop();
}

test.before(async () => {
  await make('clean');
  await make('up', 'N=2');
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
  `${byHand} up -d --scale usersvc=4, then =2: 0 failed, nothing changed but the replicas added and removed`,
  async (t) => {
    const before = await everything();
    const up = await underLoad(`${byHand} up -d --scale usersvc=4`, 4);
    const during = await everything();
    const down = await underLoad(`${byHand} up -d --scale usersvc=2`, 2);
    t.log(
      `scale to 4: ${up.total} reads, ${up.failures.length} failed; back to 2: ${down.total} reads, ${down.failures.length} failed`,
    );
    t.deepEqual([...up.failures, ...down.failures], []);
    t.true(up.total > 50 && down.total > 50);
    const added = [...during.keys()].filter((id) => !before.has(id));
    t.is(added.length, 2, 'two replicas added');
    for (const [id, started] of before)
      t.is(during.get(id), started, `${id.slice(0, 12)} untouched by the scale up`);
    t.deepEqual(
      await everything(),
      before,
      'after the scale down: exactly the containers there were, none restarted',
    );
  },
);

test.serial(`${byHand} scale usersvc=3, then =2: 0 failed, the same`, async (t) => {
  const before = await everything();
  const up = await underLoad(`${byHand} scale usersvc=3`, 3);
  const down = await underLoad(`${byHand} scale usersvc=2`, 2);
  t.log(
    `scale to 3: ${up.total} reads, ${up.failures.length} failed; back to 2: ${down.total} reads, ${down.failures.length} failed`,
  );
  t.deepEqual([...up.failures, ...down.failures], []);
  t.deepEqual(await everything(), before);
});

test.serial(
  `a plain ${byHand} up -d after make up recreates nothing and keeps the declared replicas`,
  async (t) => {
    const before = await everything();
    await sh(`${byHand} up -d`);
    t.deepEqual(await everything(), before);
    t.is(await healthyInEdge(), 2);
  },
);
