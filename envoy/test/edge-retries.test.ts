// The edge's retry policy, run by the real Envoy: the edge's own routes, as the rollout writes
// them (envoy/edge-routes.yaml) into edge.yaml as its entrypoint renders it, with only the usersvc cluster pointed at a small HTTP server here that
// answers what each test asks and counts the attempts. A bug (500) is answered once and never
// retried; a read that meets a 503 is tried again; a write only when the replica says that
// nothing was done (x-mesh-retry-safe), and the client never sees that header.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import test from 'ava';
import { DEFAULT_SETTINGS } from './edge-static.js';
import { startTestEdge, type TestEdge } from './test-edge.js';

const attempts = new Map<string, number>();
let upstream: Server;
let edge: TestEdge | undefined;

/** The upstream: /user/<status>[-safe] answers that status (and the retry-safe header), counting tries. */
function startUpstream(): Promise<number> {
  upstream = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    attempts.set(key, (attempts.get(key) ?? 0) + 1);
    const [, status, safe] = /^\/user\/(\d{3})(-safe)?$/.exec(req.url ?? '') ?? [];
    res.writeHead(Number(status ?? 200), {
      'content-type': 'application/json',
      ...(safe ? { 'x-mesh-retry-safe': 'true' } : {}),
    });
    res.end(JSON.stringify({ ok: Number(status) < 400 }));
  });
  upstream.listen(0, '127.0.0.1');
  return once(upstream, 'listening').then(() => (upstream.address() as { port: number }).port);
}

test.before(async () => {
  edge = await startTestEdge({
    upstreamPort: await startUpstream(),
    settings: {
      ...DEFAULT_SETTINGS,
      limits: {
        ...DEFAULT_SETTINGS.limits,
        EDGE_LIMIT_READ_BURST: 1000,
        EDGE_LIMIT_HASH_BURST: 1000,
      },
    },
  });
});

test.after.always(() => {
  edge?.stop();
  upstream?.close();
});

async function send(method: string, status: string) {
  const response = await fetch(`${edge!.url}/user/${status}`, {
    method,
    ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }),
  });
  await response.arrayBuffer();
  return {
    status: response.status,
    tries: attempts.get(`${method} /user/${status}`) ?? 0,
    retrySafeHeader: response.headers.get('x-mesh-retry-safe'),
  };
}

test('a 500 (a bug) is answered once, for a read and a write alike', async (t) => {
  t.like(await send('GET', '500'), { status: 500, tries: 1 });
  t.like(await send('POST', '500'), { status: 500, tries: 1 });
});

test('a read that meets a 503 is tried three times in all', async (t) => {
  t.like(await send('GET', '503'), { status: 503, tries: 3 });
});

test('a write is retried after a 503 only when the replica says nothing was done', async (t) => {
  t.like(await send('PUT', '503'), { status: 503, tries: 1 });
  t.like(await send('POST', '503-safe'), { status: 503, tries: 3, retrySafeHeader: null });
});
