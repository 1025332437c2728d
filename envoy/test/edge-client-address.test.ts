// Whose address the edge's per-client limits key on, run by the real Envoy (test-edge.ts):
// by default the connection's, whatever X-Forwarded-For a client sends; with
// EDGE_TRUSTED_CIDRS, the one X-Forwarded-For names, but only on a connection from those
// networks. Clients here are loopback addresses: 127.0.0.2 plays the proxy of yours, 127.0.0.1
// and 127.0.0.3 clients that reach the edge directly. Logins: a client's burst is small.
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import test from 'ava';
import { plainHttpFromEnv } from '../../scripts/lib/edge-config.js';
import { DEFAULT_SETTINGS } from './edge-static.js';
import { startTestEdge, type TestEdge } from './test-edge.js';

let upstream: Server;
const edges: Record<'plain' | 'trusting' | 'redirect', TestEdge | undefined> = {
  plain: undefined,
  trusting: undefined,
  redirect: undefined,
};

test.before(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"error":"wrong password"}');
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const upstreamPort = (upstream.address() as { port: number }).port;
  const trust = { TRUSTED_CIDRS: '127.0.0.2/32' };
  [edges.plain, edges.trusting, edges.redirect] = await Promise.all([
    startTestEdge({ upstreamPort }),
    startTestEdge({ upstreamPort, vars: trust }),
    startTestEdge({
      upstreamPort,
      vars: trust,
      settings: { ...DEFAULT_SETTINGS, http: plainHttpFromEnv({ EDGE_HTTP: 'redirect' }) },
    }),
  ]);
});

test.after.always(() => {
  for (const edge of Object.values(edges)) edge?.stop();
  upstream?.close();
});

/** A login from a loopback address of ours, with these headers: its status. */
function login(edge: TestEdge, from: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${edge.url}/user/alice/login`,
      {
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end('{"password":"not it"}');
  });
}

/** 20 logins one after another from `from`, each claiming another X-Forwarded-For: how many the edge refused. */
async function refusedOf20(edge: TestEdge, from: string): Promise<number> {
  let refused = 0;
  for (let i = 1; i <= 20; i++)
    if ((await login(edge, from, { 'x-forwarded-for': `198.51.100.${i}` })) === 429) refused++;
  return refused;
}

test('by default a client\'s X-Forwarded-For changes nothing: 20 logins "from" 20 addresses meet the limit', async (t) => {
  t.true((await refusedOf20(edges.plain!, '127.0.0.2')) >= 10);
});

test('with EDGE_TRUSTED_CIDRS, each client the trusted proxy names has a bucket of its own', async (t) => {
  t.is(await refusedOf20(edges.trusting!, '127.0.0.2'), 0);
});

test('with EDGE_TRUSTED_CIDRS, a client that reaches the edge directly cannot choose its address', async (t) => {
  t.true((await refusedOf20(edges.trusting!, '127.0.0.3')) >= 10);
});

test('no client turns plain HTTP into HTTPS with X-Forwarded-Proto, trusted network or not (EDGE_HTTP=redirect)', async (t) => {
  for (const from of ['127.0.0.1', '127.0.0.2'])
    t.is(await login(edges.redirect!, from, { 'x-forwarded-proto': 'https' }), 308, from);
});
