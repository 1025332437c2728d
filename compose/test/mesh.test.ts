// The mesh end to end, in real Docker with real Envoy and PostgreSQL: brought up by the
// Makefile from nothing, driven through the edge on 127.0.0.1, and torn down by `make clean`.
// The steps depend on each other, so they run in order (test.serial).
import test from 'ava';
import {
  ADMIN,
  call,
  compose,
  containers,
  fromNeighbour,
  healthyInEdge,
  make,
  PROJECT,
  sh,
  sleep,
  steadyLoad,
  until,
  type Reply,
} from './helpers.js';

const replicas = () => containers('usersvc');

let alice: Reply;
let bobToken: string;

test.before(async () => {
  await make('clean');
  await make('up');
});

test.serial('1. the tutorial walk-through, through the edge', async (t) => {
  const health = await call('/user/health');
  t.is(health.status, 200);
  t.like(health.body, { ok: true, msg: 'user health check OK' });

  alice = await call('/user/alice', {
    method: 'PUT',
    json: { fullname: 'Alice', password: 'alicerules' },
  });
  t.is(alice.status, 201);
  t.regex(String(alice.body.uuid), /^[0-9A-F]{32}$/);
  t.is(
    (await call('/user/bob', { method: 'PUT', json: { fullname: 'Bob', password: 'bobrules' } }))
      .status,
    201,
  );
  t.like((await call('/user/alice')).body, {
    ok: true,
    username: 'alice',
    uuid: alice.body.uuid,
    fullname: 'Alice',
  });
  t.like((await call('/user/bob')).body, { ok: true, username: 'bob', fullname: 'Bob' });

  const login = await call('/user/bob/login', { method: 'POST', json: { password: 'bobrules' } });
  t.is(login.status, 200);
  bobToken = String(login.body.token);

  // Every failure of the API answers through the edge as it does directly.
  const carol = await call('/user/carol', {
    method: 'PUT',
    json: { fullname: 'Carol', password: 'carolrules' },
  });
  const carolToken = String(
    (await call('/user/carol/login', { method: 'POST', json: { password: 'carolrules' } })).body
      .token,
  );
  const failures: [string, RequestInit & { json?: unknown }, number, RegExp][] = [
    ['/user/dave', { method: 'PUT', json: { fullname: 'Dave' } }, 400, /password is required/],
    [
      '/user/health',
      { method: 'PUT', json: { fullname: 'X', password: 'longenough' } },
      405,
      /method not allowed/,
    ],
    [
      '/user/login',
      { method: 'PUT', json: { fullname: 'X', password: 'longenough' } },
      400,
      /reserved/,
    ],
    [
      '/user/alice',
      { method: 'PUT', json: { fullname: 'Alice 2', password: 'alicerules' } },
      409,
      /taken/,
    ],
    [
      '/user/dave',
      { method: 'PUT', json: { fullname: 'x'.repeat(70_000), password: 'longenough' } },
      413,
      /too large/,
    ],
    [
      '/user/dave',
      { method: 'PUT', body: 'fullname=Dave', headers: { 'content-type': 'text/plain' } },
      415,
      /application\/json/,
    ],
    [
      '/user/dave',
      { method: 'PUT', body: '{"fullname":', headers: { 'content-type': 'application/json' } },
      400,
      /not valid JSON/,
    ],
    ['/user/nobody', {}, 404, /no user named/],
    [
      '/user/alice/login',
      { method: 'POST', json: { password: 'wrong-password' } },
      401,
      /incorrect/,
    ],
    [
      '/user/nobody/login',
      { method: 'POST', json: { password: 'wrong-password' } },
      401,
      /incorrect/,
    ],
    ['/user/alice', { method: 'DELETE' }, 401, /Bearer/],
    [
      '/user/alice',
      { method: 'DELETE', headers: { authorization: 'Bearer not.a.token' } },
      401,
      /send a valid token/,
    ],
    [
      '/user/alice',
      { method: 'DELETE', headers: { authorization: `Bearer ${carolToken}` } },
      403,
      /belongs to "carol"/,
    ],
    [
      '/user/nobody',
      { method: 'DELETE', headers: { authorization: `Bearer ${carolToken}` } },
      404,
      /no user named/,
    ],
    ['/user/alice', { method: 'PATCH' }, 405, /not allowed/],
    ['/elsewhere', {}, 404, /serves \/user only/],
  ];
  for (const [path, init, status, error] of failures) {
    const r = await call(path, init);
    t.is(r.status, status, `${init.method ?? 'GET'} ${path}`);
    t.is(r.body.ok, false);
    t.regex(String(r.body.error), error, `${init.method ?? 'GET'} ${path}`);
  }
  t.is(carol.status, 201);
  t.is(
    (
      await call('/user/carol', {
        method: 'DELETE',
        headers: { authorization: `Bearer ${carolToken}` },
      })
    ).status,
    200,
  );
  t.is((await call('/user/carol')).status, 404);
});

test.serial(
  '2. scale to 3: the edge sees 3 healthy replicas within 10 s and spreads requests over them',
  async (t) => {
    const started = Date.now();
    await make('scale', 'N=3');
    let healthy = await healthyInEdge();
    while (healthy !== 3 && Date.now() - started < 10_000) {
      await sleep(200);
      healthy = await healthyInEdge();
    }
    t.is(healthy, 3, '3 healthy usersvc hosts in /clusters');
    t.log(`3 healthy replicas in the edge ${Date.now() - started} ms after make scale N=3 began`);
    t.true(Date.now() - started < 10_000 + 5_000, `took ${Date.now() - started} ms`);

    const hostnames = new Set<string>();
    for (let i = 0; i < 30; i++) hostnames.add(String((await call('/user/health')).body.hostname));
    t.is(hostnames.size, 3, `hostnames: ${[...hostnames].join(', ')}`);

    const seen = new Map<string, unknown>();
    for (let i = 0; i < 30; i++) {
      const r = await call('/user/alice');
      seen.set(String(r.body.hostname), r.body.uuid);
    }
    t.is(seen.size, 3);
    t.deepEqual(
      [...new Set(seen.values())],
      [alice.body.uuid],
      'alice has the same uuid on every replica',
    );
  },
);

test.serial('3. kill a replica under steady load: no client request fails', async (t) => {
  const [victim] = await replicas();
  const load = steadyLoad('/user/alice');
  await sleep(1500);
  await sh(`docker kill ${victim}`);
  await sleep(5000);
  const { total, failures } = await load.stop();
  t.log(`${total} requests through the edge, ${failures.length} failed`);
  t.true(total > 50, `${total} requests`);
  t.deepEqual(failures, [], `${failures.length} of ${total} failed`);
  t.is(await healthyInEdge(), 2);
  await sh(`docker rm ${victim}`);
});

test.serial(
  '3b. a replica whose sidecar dies exits non-zero instead of lingering half-alive, and Docker restarts it',
  async (t) => {
    const [victim] = await replicas();
    const restarts = async () =>
      Number((await sh(`docker inspect -f '{{.RestartCount}}' ${victim}`)).trim());
    const before = await restarts();
    const since = Math.floor(Date.now() / 1000) - 1;
    // The slim image has no pkill: find Envoy in /proc and kill it as a crash would.
    await sh(
      `docker exec ${victim} bash -c 'for p in /proc/[0-9]*; do grep -qa "^envoy" $p/cmdline 2>/dev/null && kill -9 \${p#/proc/}; done; true'`,
    );
    // The container died (the entrypoint took Node down with its sidecar), with a non-zero code.
    const died = await until(
      20_000,
      async () => {
        const codes = (
          await sh(
            `docker events --since ${since} --until ${Math.ceil(Date.now() / 1000)} --filter container=${victim} --filter event=die --format '{{.Actor.Attributes.exitCode}}'`,
          )
        ).trim();
        return codes ? codes.split('\n') : undefined;
      },
      () => 'the replica did not die after its sidecar was killed',
    );
    t.notDeepEqual(died, ['0'], `exit code ${died.join(', ')}`);
    t.is((await call('/user/health')).status, 200, 'the other replica serves');
    // Its restart policy brings it back, the same container, and the edges route to it again.
    await until(
      30_000,
      async () => ((await restarts()) > before && (await healthyInEdge()) === 2 ? true : undefined),
      async () =>
        `restarts ${await restarts()} (was ${before}), ${await healthyInEdge()} healthy in the edges`,
    );
    t.true((await replicas()).includes(victim!), 'the same container, restarted');
  },
);

test.serial('4. scale from 3 to 1 under steady load: no client request fails', async (t) => {
  await make('scale', 'N=3');
  const load = steadyLoad('/user/alice');
  await sleep(1000);
  await make('scale', 'N=1');
  await sleep(1000);
  const { total, failures } = await load.stop();
  t.log(`${total} requests through the edge, ${failures.length} failed`);
  t.true(total > 50, `${total} requests`);
  t.deepEqual(failures, [], `${failures.length} of ${total} failed`);
  t.is((await replicas()).length, 1);
  t.is(await healthyInEdge(), 1);
});

test.serial(
  '5. PostgreSQL stops and returns: 503 meanwhile, then the same replicas serve, and data survives down/up',
  async (t) => {
    const before = await replicas();
    await compose('stop postgres');
    const during = await call('/user/alice');
    t.is(during.status, 503);
    t.regex(String(during.body.error), /database is unavailable/);
    t.is((await call('/user/health')).status, 200, 'the replicas stay up');
    const put = await call('/user/erin', {
      method: 'PUT',
      json: { fullname: 'Erin', password: 'erinrules' },
    });
    t.is(put.status, 503);

    await compose('start postgres');
    const deadline = Date.now() + 60_000;
    let after = await call('/user/alice');
    while (after.status !== 200 && Date.now() < deadline) {
      await sleep(500);
      after = await call('/user/alice');
    }
    t.is(after.status, 200);
    t.is(after.body.uuid, alice.body.uuid);
    t.deepEqual(await replicas(), before, 'the same replicas, not restarted');

    await make('down');
    await make('up');
    t.like((await call('/user/alice')).body, {
      ok: true,
      uuid: alice.body.uuid,
      fullname: 'Alice',
    });
    t.like((await call('/user/bob')).body, { ok: true, fullname: 'Bob' });
    const del = await call('/user/bob', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${bobToken}` },
    });
    t.is(del.status, 200, 'a token issued before the restart still works (same secret)');
  },
);

test.serial(
  '5b. PostgreSQL killed outright comes back with its data, and a second server on the same data is refused',
  async (t) => {
    const [db] = await containers('postgres');
    const volume = (
      await sh(
        `docker inspect -f '{{range .Mounts}}{{if eq .Destination "/var/lib/postgresql/data"}}{{.Name}}{{end}}{{end}}' ${db}`,
      )
    ).trim();
    const onVolume = `docker run --rm -v ${volume}:/var/lib/postgresql/data -e USERSVC_DB_PASSWORD_FILE=/dev/null`;

    // While it runs, a second container on the same data volume must not start a server.
    const second = await sh(`${onVolume} usermesh/postgres 2>&1; echo "exit $?"`, 60_000);
    t.regex(second, /another container's PostgreSQL uses/);
    t.regex(second, /exit 1$/m);

    // A kill leaves postmaster.pid behind. Make it name PID 1, alive in every new container:
    // the case CI met after an engine was killed (PostgreSQL then refused to start, forever).
    await sh(`docker kill -s KILL ${db}`);
    await sh(
      `${onVolume} --entrypoint sh usermesh/postgres -c 'sed -i 1s/.*/1/ "$PGDATA/postmaster.pid"'`,
      60_000,
    );
    // The socket's lock file, which a killed server leaves too, is on a tmpfs (as the root
    // filesystem is read-only): it goes with the container's stop, where docker start once
    // found it (CI met that, when the killed server's PID was reused by the new container).
    t.regex(
      await sh(`docker inspect -f '{{json .HostConfig.Tmpfs}}' ${db}`),
      /"\/var\/run\/postgresql"/,
    );
    await sh(`docker start ${db}`);
    const status = () =>
      sh(
        `docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' ${db}`,
      );
    await until(
      60_000,
      async () => ((await status()).trim() === 'running healthy' ? true : undefined),
      async () =>
        `postgres is ${(await status()).trim()}: ${await sh(`docker logs --tail 5 ${db} 2>&1`)}`,
    );
    const logs = await sh(`docker logs ${db} 2>&1`);
    t.regex(logs, /removing postmaster\.pid left by a server that did not shut down \(PID 1\)/);
    const after = await until(
      60_000,
      async () => {
        const reply = await call('/user/alice');
        return reply.status === 200 ? reply : undefined;
      },
      () => 'alice is not readable after the database came back',
    );
    t.is(after.body.uuid, alice.body.uuid);
  },
);

test.serial(
  "6. admin interfaces: the edge's only on 127.0.0.1, nothing of the kind on appmesh, the sidecars' stats read-only",
  async (t) => {
    t.is((await fetch(`${ADMIN}/ready`)).status, 200);
    const [holder] = await containers('edge-port');
    const published = (await sh(`docker port ${holder}`)).trim().split('\n');
    t.deepEqual(
      published.filter((l) => l.startsWith('8001/')),
      ['8001/tcp -> 127.0.0.1:8001'],
      published.join('; '),
    );
    t.is(
      (await fetch(`${ADMIN}/quitquitquit`, { method: 'POST' })).status,
      404,
      'mutating admin calls are not routed',
    );

    const view = await fromNeighbour<{ error?: string; status?: number }[]>(`
    const probe = (url) => fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => ({ status: r.status }), (e) => ({ error: String(e.cause?.code ?? e) }));
    const urls = ['http://usersvc:9901/ready', 'http://edge:9901/ready', 'http://edge:8001/ready', 'http://usersvc:5000/user/health', 'http://usersvc:9102/stats/prometheus'];
    console.log(JSON.stringify(await Promise.all(urls.map(probe))));
  `);
    const names = [
      'sidecar admin',
      'edge admin',
      'edge read-only admin window',
      'the service itself',
      'sidecar stats window',
    ];
    view.forEach((r, i) =>
      t.truthy(r.error, `${names[i]} must not answer on appmesh: ${JSON.stringify(r)}`),
    );

    // Inside its container the sidecar's stats window is read-only.
    const [replica] = await replicas();
    const inside = async (method: string, path: string) =>
      (
        await sh(
          `docker exec ${replica} node -e "fetch('http://127.0.0.1:9102${path}', { method: '${method}' }).then(async (r) => console.log(r.status, await r.text()))"`,
        )
      ).trim();
    const stats = await inside('GET', '/stats/prometheus');
    t.regex(stats, /^200 /);
    t.regex(await inside('GET', '/clusters'), /^404 /);
    t.regex(await inside('POST', '/stats/prometheus'), /^404 /);
    const egress = /envoy_tcp_downstream_cx_total\{envoy_tcp_prefix="postgres_egress"\} (\d+)/.exec(
      stats,
    );
    t.truthy(egress, 'the sidecar counts its database connections');
    t.true(Number(egress?.[1]) > 0, 'the service reached PostgreSQL through its sidecar');
  },
);

test.serial('7. make clean leaves no container, network or volume behind', async (t) => {
  await make('clean');
  t.is((await sh(`docker ps -aq --filter label=com.docker.compose.project=${PROJECT}`)).trim(), '');
  t.is((await sh('docker network ls -q --filter name=^appmesh$')).trim(), '');
  t.is(
    (await sh(`docker volume ls -q --filter label=com.docker.compose.project=${PROJECT}`)).trim(),
    '',
  );
});
