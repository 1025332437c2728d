// The edge's whole config as one static file, for the tests: envoy/edge.yaml as its entrypoint
// renders it, with the live routes and clusters that scripts/rollout/edge-config.ts would
// write (for the settings given) put in place of the RDS and CDS sources. So `envoy --mode
// validate` checks the routes and clusters too, and a test Envoy runs exactly those routes.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { clustersFor, DEFAULT_LIMITS, routesFor, type EdgeSettings } from '../../scripts/rollout/edge-config.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- Envoy config as plain data */
type Any = Record<string, any>;

export const envoyPath = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url));
const read = (name: string) => readFileSync(envoyPath(name), 'utf8');

/** edge.yaml as envoy/render-edge.sh renders it (HOST_GATEWAY filled in), as text. */
export function renderedEdge(hostGateway = '172.17.0.1'): string {
  const rendered = spawnSync('bash', [envoyPath('render-edge.sh')], { input: read('edge.yaml'), encoding: 'utf8', env: { PATH: process.env.PATH, HOST_GATEWAY: hostGateway } });
  if (rendered.status !== 0) throw new Error(`render-edge.sh: ${rendered.stderr}`);
  return rendered.stdout;
}

export const DEFAULT_SETTINGS: EdgeSettings = { limits: DEFAULT_LIMITS, canaryWeight: null };

/** The edge's config with its routes and clusters inline: what it runs, as data. */
export function staticEdge(settings: EdgeSettings = DEFAULT_SETTINGS, hostGateway?: string): Any {
  const config = parse(renderedEdge(hostGateway)) as Any;
  const routes = routesFor(read('edge-routes.yaml'), settings).resources[0];
  const clusters = clustersFor(read('edge-clusters.yaml'), settings).resources as Any[];
  const ingress = (config.static_resources.listeners as Any[]).find((l) => l.name === 'ingress')!;
  const hcm = ingress.filter_chains[0].filters[0].typed_config;
  delete hcm.rds;
  delete routes['@type'];
  hcm.route_config = routes;
  delete config.dynamic_resources;
  const withoutType = (resource: Any): Any => Object.fromEntries(Object.entries(resource).filter(([key]) => key !== '@type'));
  (config.static_resources.clusters as Any[]).push(...clusters.map(withoutType));
  return config;
}
