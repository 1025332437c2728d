// The edge's retry policy, run by the real Envoy: the edge's own routes, as the rollout writes
// them (envoy/edge-routes.yaml) into edge.yaml as its entrypoint renders it, with only the usersvc cluster pointed at a small HTTP server here that
// answers what each test asks and counts the attempts. A bug (500) is answered once and never
// retried; a read that meets a 503 is tried again; a write only when the replica says that
// nothing was done (x-mesh-retry-safe), and the client never sees that header.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import test from 'ava';
import { stringify } from 'yaml';
import { DEFAULT_SETTINGS, staticEdge } from './edge-static.js';
import { envoyBinary } from './envoy-binary.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access -- Envoy config as plain data */
type Any = Record<string, any>;

const attempts = new Map<string, number>();
let upstream: Server;
let envoy: ChildProcess;
let edge = '';

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

/** The edge's config with its live routes (edge-static.ts), on ephemeral ports, with usersvc = the upstream above in plain HTTP/1.1. */
function edgeConfig(dir: string, upstreamPort: number): string {
  const config = staticEdge(
    {
      ...DEFAULT_SETTINGS,
      limits: {
        ...DEFAULT_SETTINGS.limits,
        EDGE_LIMIT_READ_BURST: 1000,
        EDGE_LIMIT_HASH_BURST: 1000,
      },
    },
    '127.0.0.1',
  );
  config.admin.address.socket_address.port_value = 0;
  const listeners = config.static_resources.listeners as Any[];
  config.static_resources.listeners = listeners.filter((l) => l.name === 'ingress');
  config.static_resources.listeners[0].address.socket_address = {
    address: '127.0.0.1',
    port_value: 0,
  };
  // No tracing here: Zipkin's cluster would need the mesh's certificates, and nothing is traced by default.
  delete config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing;
  config.static_resources.clusters = (config.static_resources.clusters as Any[]).filter(
    (c) => c.name !== 'zipkin',
  );
  const usersvc = (config.static_resources.clusters as Any[]).find((c) => c.name === 'usersvc')!;
  Object.assign(usersvc, {
    type: 'STATIC',
    load_assignment: {
      cluster_name: 'usersvc',
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: {
                address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } },
              },
            },
          ],
        },
      ],
    },
  });
  for (const key of [
    'transport_socket',
    'typed_extension_protocol_options',
    'health_checks',
    'dns_lookup_family',
    'dns_refresh_rate',
    'respect_dns_ttl',
  ])
    delete usersvc[key];
  writeFileSync(`${dir}/edge.yaml`, stringify(config));
  return `${dir}/edge.yaml`;
}

test.before(async () => {
  const dir = mkdtempSync(`${tmpdir()}/edge-retries-`);
  const file = edgeConfig(dir, await startUpstream());
  envoy = spawn(
    envoyBinary(),
    [
      '-c',
      file,
      '--disable-hot-restart',
      '--log-level',
      'error',
      '--admin-address-path',
      `${dir}/admin`,
      '--concurrency',
      '1',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // Wait for the admin address, then ask it where the ingress listener is.
  const until = Date.now() + 20_000;
  while (!edge && Date.now() < until) {
    try {
      const admin = readFileSync(`${dir}/admin`, 'utf8').trim();
      const listeners = (await (
        await fetch(`http://${admin}/listeners?format=json`)
      ).json()) as Any;
      edge = `http://127.0.0.1:${listeners.listener_statuses[0].local_address.socket_address.port_value}`;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (!edge) throw new Error('the edge did not start within 20 s');
});

test.after.always(() => {
  envoy?.kill();
  upstream?.close();
});

async function send(method: string, status: string) {
  const response = await fetch(`${edge}/user/${status}`, {
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
