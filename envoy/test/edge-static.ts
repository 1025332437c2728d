// The edge's whole config as one static file, for the tests: envoy/edge.yaml as its entrypoint
// renders it, with the live routes and clusters that scripts/lib/edge-config.ts would
// write (for the settings given) put in place of the RDS and CDS sources. So `envoy --mode
// validate` checks the routes and clusters too, and a test Envoy runs exactly those routes.
// Also each config as deployed, in a directory of its own, and `envoy --mode validate` on it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import {
  clustersFor,
  COMPOSE_EDGES,
  DEFAULT_LIMITS,
  routesFor,
  type EdgeSettings,
} from '../../scripts/lib/edge-config.js';
import { envoyBinary } from './envoy-binary.js';
import { newTokenKeys } from '../../user-service/src/tokens.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- Envoy config as plain data */
type Any = Record<string, any>;

export const envoyPath = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url));
const read = (name: string) => readFileSync(envoyPath(name), 'utf8');

/** edge.yaml as envoy/render-edge.sh renders it (HOST_GATEWAY filled in), as text. */
export function renderedEdge(hostGateway = '172.17.0.1'): string {
  return renderedEdgeWith({ HOST_GATEWAY: hostGateway });
}

/** edge.yaml as envoy/render-edge.sh renders it with these variables (ADMIN_PORT, TRACE_PERCENT ...). */
export function renderedEdgeWith(vars: Record<string, string>): string {
  const env = { PATH: process.env.PATH, HOST_GATEWAY: '172.17.0.1', ...vars };
  const rendered = spawnSync('bash', [envoyPath('render-edge.sh')], {
    input: read('edge.yaml'),
    encoding: 'utf8',
    env,
  });
  if (rendered.status !== 0) throw new Error(`render-edge.sh: ${rendered.stderr}`);
  return rendered.stdout;
}

export const DEFAULT_SETTINGS: EdgeSettings = {
  limits: DEFAULT_LIMITS,
  edges: COMPOSE_EDGES,
  canaryWeight: null,
};

/** The edge's config with its routes and clusters inline: what it runs, as data. */
export function staticEdge(
  settings: EdgeSettings = DEFAULT_SETTINGS,
  hostGateway?: string,
  vars: Record<string, string> = {},
): Any {
  const routes = routesFor(read('edge-routes.yaml'), settings).resources[0];
  const clusters = clustersFor(read('edge-clusters.yaml'), settings).resources as Any[];
  const rendered = renderedEdgeWith({
    ...(hostGateway ? { HOST_GATEWAY: hostGateway } : {}),
    ...vars,
  });
  return inlineLive(parse(rendered) as Any, routes as Any, clusters);
}

/** A rendered edge.yaml with these live routes (one RouteConfiguration) and clusters in place of RDS and CDS. */
export function inlineLive(config: Any, liveRoutes: Any, liveClusters: Any[]): Any {
  const withoutType = (resource: Any): Any =>
    Object.fromEntries(Object.entries(resource).filter(([key]) => key !== '@type'));
  // Both client listeners (plain and HTTPS) serve the same routes.
  for (const name of ['ingress', 'https']) {
    const listener = (config.static_resources.listeners as Any[]).find((l) => l.name === name)!;
    const hcm = structuredClone(listener.filter_chains[0].filters[0].typed_config);
    delete hcm.rds;
    hcm.route_config = withoutType(liveRoutes);
    listener.filter_chains[0].filters = [
      { ...listener.filter_chains[0].filters[0], typed_config: hcm },
    ];
  }
  delete config.dynamic_resources;
  (config.static_resources.clusters as Any[]).push(...liveClusters.map(withoutType));
  return config;
}

/**
 * A config as its container sees it (the edge's: `edge`, with its live routes and clusters
 * inline), written into `dir` with its paths moved there: the SDS files, /run/mesh,
 * /run/edge-public and the token keys (a JWKS of a key of its own).
 */
export function deployedConfig(name: string, dir: string, edge: unknown = staticEdge()): string {
  const local = (text: string) =>
    text
      .replaceAll('/etc/envoy/sds/', `${dir}/sds/`)
      .replaceAll('/run/mesh', `${dir}/mesh`)
      .replaceAll('/run/edge-public', `${dir}/edge-public`)
      .replaceAll('/etc/envoy/jwks.json', `${dir}/jwks.json`);
  for (const sub of ['sds', 'mesh', 'edge-public']) mkdirSync(`${dir}/${sub}`, { recursive: true });
  writeFileSync(`${dir}/jwks.json`, newTokenKeys().jwks);
  for (const sds of ['identity.yaml', 'trust.yaml', 'public.yaml'])
    writeFileSync(`${dir}/sds/${sds}`, local(read(`sds/${sds}`)));
  writeFileSync(`${dir}/${name}`, local(name === 'edge.yaml' ? stringify(edge) : read(name)));
  return `${dir}/${name}`;
}

/** `envoy --mode validate` on a config file, with the real binary. */
export const envoyValidate = (file: string) =>
  spawnSync(
    envoyBinary(),
    ['--mode', 'validate', '-c', file, '--disable-hot-restart', '--log-level', 'error'],
    { encoding: 'utf8' },
  );
