// The conformance suite: one set of checks, written once, that every target of the mesh passes
// (compose with either CLI, plain docker, Swarm, Kubernetes), as Kubernetes' conformance tests
// hold every distribution to one bar. A target's suite brings its mesh up, then calls
// conformance(test, target) with a small adapter (conformance/target.ts); each check is an ava
// test named "conformance: ...", and the suite ends with the table of every target recorded in
// this checkout (.cache/conformance/), target x check.
import { request } from 'node:https';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { ExecutionContext, TestFn } from 'ava';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { steadyLoad } from '../compose/test/helpers.js';
import { until } from '../scripts/lib/wait.js';
import { CHECKS, type Check } from './checks.js';
import { PROBE_LIB } from './probe.js';
import { parseProcs, PROC_STATUS } from './procs.js';
import { printTable, record } from './table.js';
import type { Probe, Target, Workload } from './target.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** One request over HTTPS to the target's edge, trusting the target's CA. */
function httpsCall(
  target: Target,
  method: string,
  path: string,
  { json, headers = {} }: { json?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const { host, port, servername, ca } = target.https;
  const body = json === undefined ? undefined : JSON.stringify(json);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        servername,
        method,
        path,
        ca: readFileSync(ca),
        agent: false,
        headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: JSON.parse(text || '{}') as Record<string, unknown>,
          }),
        );
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A TLS handshake with the edge at one protocol version: what was agreed, or the error. */
function handshake(target: Target, version: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3') {
  const { host, port, servername, ca } = target.https;
  return new Promise<{ protocol?: string; alpn?: string | false | null; error?: string }>(
    (resolve) => {
      const socket = connect({
        host,
        port,
        servername,
        ca: [readFileSync(ca, 'utf8')],
        minVersion: version,
        maxVersion: version,
        ALPNProtocols: ['h2', 'http/1.1'],
        // Node refuses TLS 1.1 itself unless the security level allows it.
        ciphers: version === 'TLSv1.1' ? 'DEFAULT:@SECLEVEL=0' : undefined,
      });
      socket.setTimeout(5000, () => socket.destroy(new Error('no handshake in 5 s')));
      socket.once('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      socket.once('secureConnect', () => {
        resolve({ protocol: socket.getProtocol() ?? '', alpn: socket.alpnProtocol });
        socket.end();
      });
    },
  );
}

/** A probe answered with content: a 2xx or 3xx status. */
const answered = (p: Probe | undefined) => p?.status !== undefined && p.status < 400;

/** Every process of a workload, from its /proc, and how its root filesystem is mounted. */
async function inside(target: Target, w: Workload) {
  const out = await target.exec(
    w,
    `${PROC_STATUS}; echo "ROOT $(grep -m1 ' / ' /proc/self/mounts)"; test -e /var/run/secrets/kubernetes.io && echo TOKEN; find / -xdev -perm /6000 -type f 2>/dev/null | sed 's/^/SETID /'; true`,
  );
  const procs = parseProcs(out);
  // One ROOT line per container the adapter ran the script in (a Pod may have two).
  const rootMounts = [...out.matchAll(/^ROOT \S+ \/ \S+ (\S+)/gm)].map((m) => m[1]!);
  return {
    procs,
    readOnly: rootMounts.length > 0 && rootMounts.every((o) => o.split(',').includes('ro')),
    token: /^TOKEN$/m.test(out),
    setid: [...out.matchAll(/^SETID (.+)$/gm)].map((m) => m[1]!),
  };
}

/**
 * What a process running as root may hold: owning and moving others' files (the CA), starting
 * its children as their users and stopping them (a replica's start), the port holder's
 * firewall. Docker's defaults beyond these (NET_RAW, MKNOD, SYS_CHROOT, SETFCAP, ...) fail.
 */
const ROOT_MAY_HOLD = [0, 1, 3, 5, 6, 7, 12].reduce((m, bit) => m | (1n << BigInt(bit)), 0n);

export function conformance(test: TestFn, target: Target): void {
  const results: Partial<Record<Check, string>> = {};
  const check = (key: Check, body: (t: ExecutionContext) => Promise<void>) =>
    test.serial(`conformance (${target.name}): ${CHECKS[key]}`, body);
  test.afterEach.always((t) => {
    const key = (Object.keys(CHECKS) as Check[]).find((k) => t.title.endsWith(CHECKS[k]));
    if (!key) return;
    const exempt = key === 'hardening' ? target.exemptions?.noNewPrivileges : undefined;
    results[key] = t.passed ? (exempt ? `pass*` : 'pass') : 'FAIL';
  });
  test.after.always(() => {
    record(target.name, results, target.exemptions);
    printTable();
  });

  check('walk', async (t) => {
    const name = `conf${Date.now().toString(36)}`;
    const health = await httpsCall(target, 'GET', '/user/health');
    t.is(health.status, 200);
    const created = await httpsCall(target, 'PUT', `/user/${name}`, {
      json: { fullname: 'Conformance', password: 'conformance-pass' },
    });
    t.is(created.status, 201);
    t.like((await httpsCall(target, 'GET', `/user/${name}`)).body, { ok: true, username: name });
    const again = await httpsCall(target, 'PUT', `/user/${name}`, {
      json: { fullname: 'Again', password: 'conformance-pass' },
    });
    t.is(again.status, 409);
    const login = await httpsCall(target, 'POST', `/user/${name}/login`, {
      json: { password: 'conformance-pass' },
    });
    t.is(login.status, 200);
    const wrong = await httpsCall(target, 'POST', `/user/${name}/login`, {
      json: { password: 'not-the-password' },
    });
    t.is(wrong.status, 401);
    const del = await httpsCall(target, 'DELETE', `/user/${name}`, {
      headers: { authorization: `Bearer ${String(login.body.token)}` },
    });
    t.is(del.status, 200);
    t.is((await httpsCall(target, 'GET', `/user/${name}`)).status, 404);
  });

  check('https', async (t) => {
    const v13 = await handshake(target, 'TLSv1.3');
    t.is(v13.protocol, 'TLSv1.3', JSON.stringify(v13));
    t.is(v13.alpn, 'h2', 'h2 by ALPN');
    t.is((await handshake(target, 'TLSv1.2')).protocol, 'TLSv1.2');
    const v11 = await handshake(target, 'TLSv1.1');
    t.truthy(v11.error, `TLS 1.1 refused: ${JSON.stringify(v11)}`);
    const reply = await httpsCall(target, 'GET', '/user/health');
    t.regex(String(reply.headers['strict-transport-security']), /max-age=\d{7,}/, 'HSTS');
  });

  check('plain', async (t) => {
    const { address, https, plain } = target.outside;
    const [control, ...probes] = await target.fromOutside([
      `https://${address}:${https}/user/health`,
      ...plain.map((p) => `http://${address}:${p}/user/health`),
    ]);
    t.is(control?.status, 200, `HTTPS from outside answers (the probe reaches the host)`);
    probes.forEach((p, i) => {
      const what = `plain HTTP on ${address}:${plain[i]}: ${JSON.stringify(p)}`;
      if (p?.status === undefined) t.truthy(p?.error, what);
      else {
        t.is(p.status, 308, what);
        t.regex(String(p.location), /^https:\/\//, what);
      }
    });
  });

  check('admin', async (t) => {
    const { address, admin } = target.outside;
    const outside = await target.fromOutside(admin.map((p) => `http://${address}:${p}/ready`));
    outside.forEach((p, i) =>
      t.false(answered(p), `admin port ${admin[i]} from outside: ${JSON.stringify(p)}`),
    );
    const urls = [
      'https://edge:8443/user/health', // the control: the neighbour is on the mesh's network
      'http://edge:8001/ready',
      'http://edge:9901/ready',
      'http://usersvc:9901/ready',
      'http://usersvc:9102/stats/prometheus',
      'http://postgres:9901/ready',
    ];
    const seen = await target.neighbour<Probe[]>(`${PROBE_LIB}
      const out = [];
      for (const url of ${JSON.stringify(urls)}) out.push(await probe(url));
      console.log(JSON.stringify(out));`);
    t.is(seen[0]?.status, 200, `a neighbour reaches the edge's HTTPS: ${JSON.stringify(seen[0])}`);
    seen
      .slice(1)
      .forEach((p, i) =>
        t.false(answered(p), `${urls[i + 1]} from a neighbour: ${JSON.stringify(p)}`),
      );
  });

  check('identity', async (t) => {
    const [tlsNoCert, plain, database] = await target.neighbour<
      [Probe, Probe, { handshake: boolean; bytes: number }]
    >(`${PROBE_LIB}
      console.log(JSON.stringify([await probe('https://usersvc:8080/user/health'), await probe('http://usersvc:8080/user/health'), await pg()]));`);
    t.false(
      answered(tlsNoCert),
      `TLS without a certificate to a sidecar: ${JSON.stringify(tlsNoCert)}`,
    );
    t.false(answered(plain), `plain HTTP to a sidecar: ${JSON.stringify(plain)}`);
    t.is(database.bytes, 0, `the database answered a client without a certificate`);
  });

  check('hardening', async (t) => {
    const workloads = await target.workloads();
    t.true(
      workloads.some((w) => w.service === 'usersvc'),
      'a replica runs',
    );
    t.true(
      workloads.some((w) => w.service === 'edge'),
      'an edge runs',
    );
    for (const w of workloads) {
      const { procs, readOnly, token, setid } = await inside(target, w);
      t.true(procs.length > 0, `${w.name}: its processes`);
      t.deepEqual(setid, [], `${w.name}: setuid or setgid programs`);
      t.true(readOnly, `${w.name}: root filesystem read-only`);
      t.false(token, `${w.name}: holds a service-account token`);
      for (const p of procs) {
        const what = `${w.name}: ${p.name} (uid ${p.uid})`;
        if (!target.exemptions?.noNewPrivileges)
          t.is(p.noNewPrivs, '1', `${what}: no new privileges`);
        const caps = BigInt(`0x${p.capEff || '0'}`);
        if (p.uid !== 0) t.is(caps, 0n, `${what} holds capabilities`);
        else t.is(caps & ~ROOT_MAY_HOLD, 0n, `${what} holds capabilities beyond its own`);
      }
    }
  });

  // The price list's one clear saving (docs/performance.md): each edge runs EDGE_WORKERS
  // workers, 1 unless set, on every target, whatever the machine's cores.
  check('workers', async (t) => {
    const edges = (await target.workloads()).filter((w) => w.service === 'edge');
    t.true(edges.length > 0, 'an edge runs');
    for (const w of edges) {
      const stats = await target.exec(w, 'edge-admin GET /stats?filter=server.concurrency');
      t.regex(stats, /^server\.concurrency: 1$/m, `${w.name}: ${stats.slice(-120)}`);
    }
  });

  check('split', async (t) => {
    const replicas = (await target.workloads()).filter((w) => w.service === 'usersvc');
    t.true(replicas.length > 0);
    for (const w of replicas) {
      const { procs } = await inside(target, w);
      const envoy = procs.find((p) => p.name === 'envoy');
      const node = procs.find((p) => p.name === 'node' || p.name === 'MainThread');
      t.truthy(envoy && node, `${w.name}: envoy and node run`);
      t.not(envoy!.uid, node!.uid, `${w.name}: Node and Envoy as different users`);
      t.not(node!.uid, 0, `${w.name}: Node not as root`);
      // Set by the entrypoint itself, whatever the engine could set for the container.
      t.is(node!.noNewPrivs, '1', `${w.name}: Node with no new privileges`);
      t.is(envoy!.noNewPrivs, '1', `${w.name}: Envoy with no new privileges`);
      const asNode = await target.exec(
        w,
        'cat /run/mesh/key.pem >/dev/null 2>&1 && echo read || echo refused',
        node!.uid,
      );
      t.is(asNode.trim(), 'refused', `${w.name}: Node's user cannot read the mesh key`);
      const asEnvoy = await target.exec(w, 'head -c 40 /run/mesh/key.pem', envoy!.uid);
      t.regex(asEnvoy, /BEGIN/, `${w.name}: Envoy's user reads it (the control)`);
    }
  });

  check('headers', async (t) => {
    // Honoured, these would time a read out after 1 ms (504), or retry it; the edge takes
    // x-envoy-* headers from no client (Envoy 1.40: no address is internal unless configured).
    const forged = {
      'x-envoy-upstream-rq-timeout-ms': '1',
      'x-envoy-upstream-rq-per-try-timeout-ms': '1',
      'x-envoy-retry-on': '5xx',
      'x-envoy-max-retries': '5',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'http',
      // No canary runs here: a client that asks for one still gets the stable replicas.
      'x-canary': '1',
    };
    for (let i = 0; i < 10; i++) {
      const reply = await httpsCall(target, 'GET', '/user/conformance-nobody', { headers: forged });
      t.is(reply.status, 404, `forged headers, read ${i + 1}: ${JSON.stringify(reply.body)}`);
    }
  });

  check('tokens', async (t) => {
    const name = `tok${Date.now().toString(36)}`;
    const password = 'conformance-pass';
    t.is(
      (await httpsCall(target, 'PUT', `/user/${name}`, { json: { fullname: 'T', password } }))
        .status,
      201,
    );
    const login = await httpsCall(target, 'POST', `/user/${name}/login`, { json: { password } });
    const token = String(login.body.token);
    // Anyone can check it: the published keys verify it, with the mesh's issuer and audience.
    const jwks = (await httpsCall(target, 'GET', '/user/.well-known/jwks.json')).body;
    const { payload } = await jwtVerify(
      token,
      createLocalJWKSet(jwks as unknown as JSONWebKeySet),
      {
        issuer: 'spiffe://appmesh/usersvc',
        audience: 'appmesh/user',
      },
    );
    t.is(payload.sub, String(login.body.uuid));
    // A forged token (alg none, this payload) is the edge's own 401: no replica sees it.
    const [, body] = token.split('.');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${body}.`;
    const bearer = (value: string) => ({ headers: { authorization: `Bearer ${value}` } });
    const forged = await httpsCall(target, 'DELETE', `/user/${name}`, bearer(none));
    t.is(forged.status, 401);
    t.regex(String(forged.body.detail), /^jwt_authn_access_denied/);
    t.is((await httpsCall(target, 'DELETE', `/user/${name}`)).status, 401, 'no token');
    // Logged out, the token is refused (by the service: it is still well signed).
    t.is((await httpsCall(target, 'POST', `/user/${name}/logout`, bearer(token))).status, 200);
    const revoked = await httpsCall(target, 'DELETE', `/user/${name}`, bearer(token));
    t.is(revoked.status, 401);
    t.regex(String(revoked.body.error), /revoked/);
    const again = await httpsCall(target, 'POST', `/user/${name}/login`, { json: { password } });
    t.is(
      (await httpsCall(target, 'DELETE', `/user/${name}`, bearer(String(again.body.token)))).status,
      200,
    );
  });

  check('limits', async (t) => {
    await target.limits('default');
    try {
      const { address, https } = target.outside;
      const statuses = await target.burstFromOutside(
        `https://${address}:${https}/user/health`,
        1000,
        50,
      );
      const by = (s: number) => statuses.filter((x) => x === s).length;
      t.true(by(429) > 0, `429s from one client past the burst: ${by(200)} 200, ${by(429)} 429`);
      t.is(by(200) + by(429), statuses.length, 'nothing but 200 and 429');
    } finally {
      await target.limits('lifted');
    }
  });

  check('removal', async (t) => {
    const load = steadyLoad(
      [{ path: '/user/health' }, { path: '/user/conformance-nobody', expect: 404 }],
      4,
      target.loadBase,
    );
    let removed = '';
    try {
      // The load runs before the replica goes, and goes on for 400 requests after.
      await until(
        30_000,
        () => Promise.resolve(load.sent() > 50 ? true : undefined),
        () => 'no load',
      );
      removed = await target.removeReplica();
      const after = load.sent();
      await until(
        60_000,
        () => Promise.resolve(load.sent() > after + 400 ? true : undefined),
        () => 'the load stalled',
      );
    } finally {
      const { total, failures } = await load.stop();
      t.log(`${removed}: ${total} requests, ${failures.length} failed`);
      t.true(total > 100, `a real load: ${total} requests`);
      t.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${total} failed`);
    }
  });
}
