// The real Envoy running the edge's config for a test: edge.yaml as its entrypoint renders it
// (with the variables given), its live routes and clusters inline (edge-static.ts), on an
// ephemeral port on loopback, plain HTTP only, with usersvc pointed at a server of the test's.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify } from 'yaml';
import type { EdgeSettings } from '../../scripts/lib/edge-config.js';
import { newTokenKeys } from '../../user-service/src/tokens.js';
import { DEFAULT_SETTINGS, staticEdge } from './edge-static.js';
import { envoyBinary } from './envoy-binary.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access -- Envoy config as plain data */
type Any = Record<string, any>;

export interface TestEdge {
  /** http://127.0.0.1:PORT, the edge's plain listener. */
  url: string;
  /** http://127.0.0.1:PORT, its admin interface (stats). */
  admin: string;
  stop(): void;
}

/** The edge's config with usersvc = 127.0.0.1:upstreamPort in plain HTTP/1.1, its plain listener only. */
function edgeConfig(
  settings: EdgeSettings,
  vars: Record<string, string>,
  upstreamPort: number,
): Any {
  const config = staticEdge(settings, '127.0.0.1', vars);
  config.admin.address.socket_address.port_value = 0;
  const listeners = config.static_resources.listeners as Any[];
  config.static_resources.listeners = listeners.filter((l) => l.name === 'ingress');
  // Every loopback address reaches it, so a test can be a client from 127.0.0.1 or 127.0.0.2.
  config.static_resources.listeners[0].address.socket_address = {
    address: '0.0.0.0',
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
  return config;
}

/**
 * Starts the edge (settings: the live routes' and clusters'; vars: what render-edge.sh is
 * given, TRUSTED_CIDRS say) and waits up to 20 s for its listener.
 */
export async function startTestEdge(options: {
  upstreamPort: number;
  settings?: EdgeSettings;
  vars?: Record<string, string>;
  /** The public keys it checks tokens against (what secrets/jwks.json holds); else a key of its own. */
  jwks?: string;
}): Promise<TestEdge> {
  const dir = mkdtempSync(`${tmpdir()}/test-edge-`);
  const config = edgeConfig(
    options.settings ?? DEFAULT_SETTINGS,
    options.vars ?? {},
    options.upstreamPort,
  );
  writeFileSync(`${dir}/jwks.json`, options.jwks ?? newTokenKeys().jwks);
  writeFileSync(
    `${dir}/edge.yaml`,
    stringify(config).replaceAll('/etc/envoy/jwks.json', `${dir}/jwks.json`),
  );
  const envoy = spawn(
    envoyBinary(),
    [
      '-c',
      `${dir}/edge.yaml`,
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
  while (Date.now() < until) {
    try {
      const admin = readFileSync(`${dir}/admin`, 'utf8').trim();
      const listeners = (await (
        await fetch(`http://${admin}/listeners?format=json`)
      ).json()) as Any;
      const port = listeners.listener_statuses[0].local_address.socket_address.port_value as number;
      return {
        url: `http://127.0.0.1:${port}`,
        admin: `http://${admin}`,
        stop: () => envoy.kill(),
      };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  envoy.kill();
  throw new Error('the edge did not start within 20 s');
}
