// The mesh without mutual TLS, for one pass of make bench: what mTLS costs is measured side by
// side with this, in the same run. It is the shipped Envoy configs with every TLS transport
// socket and every identity-based RBAC filter taken out, mounted over the images' copies by a
// compose override; nothing ships it, and the bench puts the real configs back afterwards.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse, stringify } from 'yaml';
import {
  clustersFor,
  COMPOSE_EDGES,
  edgeSettingsFromEnv,
  liveFile,
  routesFor,
  withoutTracer,
  writeLiveFile,
} from '../lib/edge-config.js';

/** A config with no transport_socket anywhere and no RBAC filter that checks a peer's identity. */
export function withoutTls(config: unknown): unknown {
  if (Array.isArray(config)) {
    return config
      .filter((item) => !(isRbac(item) && JSON.stringify(item).includes('"authenticated"')))
      .map(withoutTls);
  }
  if (config === null || typeof config !== 'object') return config;
  return Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key !== 'transport_socket')
      .map(([key, value]) => [key, withoutTls(value)]),
  );
}

const isRbac = (item: unknown) =>
  typeof item === 'object' &&
  item !== null &&
  /^envoy\.filters\.(http|network)\.rbac$/.test(String((item as { name?: unknown }).name));

// Each config, the compose service that runs it, and where its image keeps it.
const CONFIGS = [
  { file: 'edge.yaml', service: 'edge', path: '/etc/envoy/edge.yaml' },
  { file: 'sidecar.yaml', service: 'usersvc', path: '/etc/envoy/sidecar.yaml' },
  { file: 'postgres-sidecar.yaml', service: 'postgres', path: '/etc/envoy/postgres-sidecar.yaml' },
];

/** Writes the plaintext configs and a compose override that mounts them; the override's path. */
export function writePlaintextOverride(root: string): string {
  const dir = mkdtempSync(`${tmpdir()}/usermesh-plaintext-`);
  const services: Record<string, { volumes: string[] }> = {};
  for (const { file, service, path } of CONFIGS) {
    // Parsed, the template loses its comments, the tracer's markers among them: the tracer goes
    // here, as the entrypoints leave it out when nothing traces (make bench traces nothing).
    const template = withoutTracer(readFileSync(`${root}envoy/${file}`, 'utf8'));
    const text = `# make bench's plaintext pass: envoy/${file} without mutual TLS. Not for use.\n${stringify(withoutTls(parse(template)))}`;
    writeFileSync(`${dir}/${file}`, text, { mode: 0o644 });
    services[service] = { volumes: [`${dir}/${file}:${path}:ro`] };
  }
  // The edge's live routes and clusters (as make up writes them, limits from the environment),
  // the clusters without TLS, in a live directory of their own.
  const settings = edgeSettingsFromEnv(process.env, COMPOSE_EDGES);
  const template = (name: string) => readFileSync(`${root}envoy/${name}`, 'utf8');
  writeLiveFile(
    `${dir}/live`,
    'routes.yaml',
    liveFile(routesFor(template('edge-routes.yaml'), settings), 'edge-routes.yaml').text,
  );
  writeLiveFile(
    `${dir}/live`,
    'clusters.yaml',
    liveFile(
      withoutTls(clustersFor(template('edge-clusters.yaml'), settings)) as Record<string, unknown>,
      'edge-clusters.yaml',
    ).text,
  );
  services.edge!.volumes.push(`${dir}/live:/etc/envoy/live:ro`);
  writeFileSync(`${dir}/plaintext.yml`, stringify({ services }));
  return `${dir}/plaintext.yml`;
}
