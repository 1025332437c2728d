// The trust boundary, end to end in real Docker: past the edge, nothing answers a caller that
// lacks the mesh's identity or holds the wrong one; no string in the repository signs a token
// the mesh accepts; and certificates rotate on a running mesh without a failed request.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import type { Report } from '../../scripts/stats/report.js';
import { issueToken } from '../../user-service/src/tokens.js';
import {
  ADMIN,
  call,
  containers,
  edgeStat,
  fromNeighbour,
  healthyInEdge,
  HTTPS_PROBE,
  make,
  root,
  servingSerials,
  sh,
  statInside,
  steadyLoad,
} from './helpers.js';

const secrets = `${root}secrets`;
/** Certificates the mesh must refuse, made by the mesh's own CA tool: expired, and from another CA. */
const bad = mkdtempSync(`${tmpdir()}/bad-certs-`);

/** A counter summed over every running usersvc sidecar. */
const sidecarTotal = async (stat: string) =>
  (await Promise.all((await containers()).map((c) => statInside(c, stat)))).reduce(
    (a, b) => a + b,
    0,
  );

test.before(async () => {
  await make('up', 'N=2');
  await sh(`docker run --rm --network none -v ${secrets}:/secrets:ro -v ${bad}:/out --entrypoint bash usermesh/mesh-ca:latest -c '
    mesh-ca issue edge /out/expired -1 && mesh-ca new-ca /out/rogue-ca && mesh-ca issue edge /out/rogue 1 /out/rogue-ca'`);
});
test.after.always(async () => {
  await make('clean');
});

test.serial(
  'a container on appmesh with no identity: the sidecar, the edge admin and PostgreSQL refuse it',
  async (t) => {
    const noCert = await sidecarTotal('listener.0.0.0.0_8080.ssl.fail_verify_no_cert');
    const adminDenied = await edgeStat('admin_readonly.rbac.denied');
    const [sidecar, plaintext, admin] = await fromNeighbour<
      { status?: number; error?: string }[]
    >(`${HTTPS_PROBE}
    const plain = (url) => fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => ({ status: r.status }), (e) => ({ error: String(e.cause?.code ?? e) }));
    console.log(JSON.stringify([await get('https://usersvc:8080/user/health'), await plain('http://usersvc:8080/user/health'), await plain('http://edge:8001/clusters')]));
  `);
    t.truthy(sidecar?.error, `TLS without a client certificate: ${JSON.stringify(sidecar)}`);
    t.truthy(plaintext?.error, `plain HTTP to a sidecar: ${JSON.stringify(plaintext)}`);
    t.truthy(admin?.error, `the edge's admin window from appmesh: ${JSON.stringify(admin)}`);
    t.true(
      (await sidecarTotal('listener.0.0.0.0_8080.ssl.fail_verify_no_cert')) > noCert,
      'the sidecar counts the handshake it refused',
    );
    t.true(
      (await edgeStat('admin_readonly.rbac.denied')) > adminDenied,
      'the edge counts the admin connection it cut',
    );
    t.is((await fetch(`${ADMIN}/ready`)).status, 200, 'while the host still reads it on 127.0.0.1');

    // PostgreSQL, with the right password: the mesh port wants mutual TLS, the server itself
    // listens on its container's loopback only.
    const psql = (port: number, sslmode: string) =>
      sh(
        `docker run --rm --network appmesh --user 0 -v ${secrets}/usersvc:/id:ro --entrypoint bash usermesh/postgres:latest -c \
      'PGPASSWORD=$(cat /id/db_password) PGCONNECT_TIMEOUT=5 psql "host=postgres port=${port} user=usersvc dbname=users sslmode=${sslmode}" -tAc "select 42" 2>&1; echo "exit $?"'`,
        60_000,
      );
    for (const [port, sslmode] of [
      [5432, 'disable'],
      [5432, 'require'],
      [5433, 'disable'],
    ] as const) {
      const out = await psql(port, sslmode);
      t.regex(out, /exit [1-9]/, `port ${port}, sslmode ${sslmode}: ${out}`);
      t.notRegex(out, /^42$/m);
    }
    const [postgres] = await containers('postgres');
    const control = await sh(
      `docker exec ${postgres} bash -c 'PGPASSWORD=$(cat /run/secrets/postgres_usersvc_password) psql -h 127.0.0.1 -U usersvc -d users -tAc "select 42"'`,
    );
    t.is(control.trim(), '42', 'the password used above is the right one');
  },
);

test.serial(
  'a valid certificate of another identity: the sidecar answers 403, PostgreSQL closes the connection',
  async (t) => {
    const denied = await sidecarTotal('http.ingress.rbac.denied');
    const [postgres] = await containers('postgres');
    const pgDenied = await statInside(postgres!, 'postgres.rbac.denied');
    const [asUsersvc, asEdge, pgAsEdge, pgAsUsersvc] = await fromNeighbour<
      { status?: number; body?: string; handshake?: boolean; bytes?: number }[]
    >(
      `${HTTPS_PROBE}
    console.log(JSON.stringify([await get('https://usersvc:8080/user/health', '/usersvc'), await get('https://usersvc:8080/user/health', '/edge'), await pg('/edge'), await pg('/usersvc')]));`,
      { [`${secrets}/usersvc`]: '/usersvc', [`${secrets}/edge`]: '/edge' },
    );
    t.is(
      asUsersvc?.status,
      403,
      `usersvc's identity calling a usersvc sidecar: ${JSON.stringify(asUsersvc)}`,
    );
    t.regex(asUsersvc?.body ?? '', /RBAC/);
    t.is(asEdge?.status, 200, 'the edge identity is let in: the probe itself works');
    t.deepEqual(
      pgAsEdge,
      { handshake: true, bytes: 0 },
      "the edge identity completes TLS, then PostgreSQL's sidecar closes without a byte",
    );
    t.true(
      (pgAsUsersvc?.bytes ?? 0) > 0,
      'the usersvc identity reaches PostgreSQL: the probe itself works',
    );
    t.true((await sidecarTotal('http.ingress.rbac.denied')) > denied);
    t.true((await statInside(postgres!, 'postgres.rbac.denied')) > pgDenied);
  },
);

test.serial(
  'an expired or wrong-CA certificate is a refused, counted handshake; nothing crashes',
  async (t) => {
    const before = await sidecarTotal('listener.0.0.0.0_8080.ssl.fail_verify_error');
    const results = await fromNeighbour<{ status?: number; error?: string }[]>(
      `${HTTPS_PROBE}
    console.log(JSON.stringify([await get('https://usersvc:8080/user/health', '/bad/expired'), await get('https://usersvc:8080/user/health', '/bad/rogue')]));`,
      { [bad]: '/bad' },
    );
    for (const r of results) t.truthy(r.error, JSON.stringify(r));
    t.true(
      (await sidecarTotal('listener.0.0.0.0_8080.ssl.fail_verify_error')) >= before + 2,
      'both counted as failed verifications',
    );
    t.is(await healthyInEdge(), 2, 'every replica still healthy');
    t.is((await call('/user/health')).status, 200);

    // make stats shows it: refusals per sidecar, and when each certificate expires (within a day).
    const report = JSON.parse(await make('stats', 'ARGS=--json')) as Report;
    const trust = report.replicas.map((r) => r.sidecar!.trust);
    t.true(trust.reduce((n, x) => n + x.tlsRefused, 0) >= 3, JSON.stringify(trust));
    t.true(trust.reduce((n, x) => n + x.rbacDenied, 0) >= 1, JSON.stringify(trust));
    const now = Date.now() / 1000;
    for (const at of [report.edge.certExpiresAt, ...trust.map((x) => x.certExpiresAt)])
      t.true(at !== null && at > now && at <= now + 86_400 + 60, String(at));
  },
);

test.serial(
  'no string in the repository, nor an empty or short secret, signs a token the mesh accepts',
  async (t) => {
    t.is(
      (
        await call('/user/mallory', {
          method: 'PUT',
          json: { fullname: 'Mallory', password: 'mallory-rules' },
        })
      ).status,
      201,
    );
    const victim = await call('/user/mallory');
    const sub = String(victim.body.uuid);

    // Every line, word and quoted string of every version of every file in the history.
    const history = execFileSync('git', ['log', '-p', '--all'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    const candidates = new Set<string>(['', 'a', 'secret', 'changeme', 'x'.repeat(31)]);
    for (const raw of history.split('\n')) {
      const line = raw.replace(/^[+ -]/, '').trim();
      candidates.add(line);
      for (const word of line.split(/\s+/)) candidates.add(word);
      for (const word of line.split(/[^A-Za-z0-9._~+/=@#%^&*!?-]+/))
        candidates.add(word.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, ''));
      for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|`([^`]*)`/g))
        candidates.add(m[1] ?? m[2] ?? m[3] ?? '');
    }
    t.true(
      candidates.has('test-secret-that-is-at-least-32-characters-long'),
      'the old test secret is among them',
    );
    t.true(
      candidates.has('dev-only-token-secret-change-me-0123456789'),
      'and the old compose default',
    );

    const statuses = new Map<number, number>();
    const queue = [...candidates];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let secret = queue.pop(); secret !== undefined; secret = queue.pop()) {
          const token = issueToken({ sub, name: 'mallory' }, secret, 600);
          const r = await fetch('http://127.0.0.1:8000/user/mallory', {
            method: 'DELETE',
            headers: { authorization: `Bearer ${token}` },
          });
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      }),
    );
    t.log(`${candidates.size} forged tokens: ${JSON.stringify(Object.fromEntries(statuses))}`);
    t.deepEqual([...statuses.keys()], [401]);
    t.is((await call('/user/mallory')).status, 200, 'mallory is still there');

    // The real token does delete: the forged ones failed for their signature, not for the route.
    const login = await call('/user/mallory/login', {
      method: 'POST',
      json: { password: 'mallory-rules' },
    });
    t.is(
      (
        await call('/user/mallory', {
          method: 'DELETE',
          headers: { authorization: `Bearer ${String(login.body.token)}` },
        })
      ).status,
      200,
    );
  },
);

test.serial(
  'the renewer (compose service mesh-ca) has no network, and renews due certificates on the running mesh',
  async (t) => {
    const [renewer] = await containers('mesh-ca');
    t.truthy(renewer, 'the renewer runs beside the mesh');
    t.is((await sh(`docker inspect -f '{{.HostConfig.NetworkMode}}' ${renewer}`)).trim(), 'none');
    const proxies = [...(await containers('edge')), ...(await containers('usersvc'))];
    const before = await Promise.all(proxies.map(servingSerials));
    // What its hourly pass does when certificates are past half their life; here every one is "due".
    const out = await sh(`docker exec -e RENEW_BEFORE=999999999 ${renewer} mesh-ca renew`);
    // One new certificate per identity the mesh CA issues, and the edge's own for HTTPS.
    const renewed = out
      .trim()
      .split('\n')
      .map((line) => /^mesh-ca: (\S+): certificate/.exec(line)?.[1]);
    t.deepEqual(
      renewed.sort(),
      ['edge', 'edge-public', 'observe', 'postgres', 'prometheus', 'usersvc'],
      out,
    );
    const deadline = Date.now() + 20_000;
    let after = before;
    while (
      Date.now() < deadline &&
      after.some((serials, i) => serials.some((x) => before[i]!.includes(x)))
    )
      after = await Promise.all(proxies.map(servingSerials));
    after.forEach((serials, i) =>
      t.false(
        serials.some((x) => before[i]!.includes(x)),
        `${proxies[i]} presents a renewed certificate`,
      ),
    );
    t.is((await call('/user/health')).status, 200);
  },
);

test.serial(
  'make rotate-certs under steady load: 0 failed, and every proxy then presents its new certificate',
  async (t) => {
    const proxies = [
      ...(await containers('usersvc')),
      ...(await containers('edge')),
      ...(await containers('postgres')),
    ];
    const before = new Map(
      await Promise.all(proxies.map(async (c) => [c, await servingSerials(c)] as const)),
    );
    const load = steadyLoad('/user/health');
    await make('rotate-certs');
    // Give the sidecars and the database's a moment to swap too: wait until every proxy serves
    // a certificate it did not before, polling for up to 20 s, while the load keeps going.
    const deadline = Date.now() + 20_000;
    let changed: boolean[] = [];
    do {
      changed = await Promise.all(
        proxies.map(async (c) =>
          (await servingSerials(c)).every((s) => !before.get(c)!.includes(s)),
        ),
      );
    } while (!changed.every(Boolean) && Date.now() < deadline);
    const { total, failures } = await load.stop();
    t.log(`${total} requests through the edge during the rotation, ${failures.length} failed`);
    t.true(total > 50);
    t.deepEqual(failures, []);
    t.deepEqual(
      changed,
      proxies.map(() => true),
      'every proxy presents a new certificate',
    );

    // A replica started after the rotation gets the new certificate too.
    await make('scale', 'N=3');
    const now = await servingSerials(proxies[0]!);
    const newest = (await containers('usersvc')).find((c) => !proxies.includes(c))!;
    t.deepEqual(await servingSerials(newest), now);
    // And the database's data path still works end to end (usersvc -> postgres over the new certificates).
    t.is(
      (
        await call('/user/rotated', {
          method: 'PUT',
          json: { fullname: 'After Rotation', password: 'rotated-pass' },
        })
      ).status,
      201,
    );
  },
);
