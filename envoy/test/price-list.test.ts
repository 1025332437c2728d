// The price list's configurations (scripts/bench/price-list.ts): built from the shipped files,
// each accepted by the real Envoy, each different from the shipped pair in its one feature.
// That each serves and lacks its feature on running proxies is compose/test/bench.test.ts's.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { stringify } from 'yaml';
import {
  edgeHcm,
  FEATURES,
  EXTRAS,
  OPTIONS,
  PRICE_SIDECAR_PORT,
  shippedPair,
  sidecarHcm,
  variants,
  type Pair,
} from '../../scripts/bench/price-list.js';
import { clustersFor, routesFor } from '../../scripts/lib/edge-config.js';
import { liveFile, withoutTracer } from '../../scripts/lib/edge-config.js';
import {
  DEFAULT_SETTINGS,
  deployedConfig,
  envoyPath,
  envoyValidate,
  renderedEdge,
} from './edge-static.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- Envoy configs as plain data */
const read = (name: string) => readFileSync(envoyPath(name), 'utf8');
const REPLICA = '10.9.8.7';

function shipped(): Pair {
  return shippedPair(
    renderedEdge(),
    liveFile(routesFor(read('edge-routes.yaml'), DEFAULT_SETTINGS), 'edge-routes.yaml').text,
    liveFile(clustersFor(read('edge-clusters.yaml'), DEFAULT_SETTINGS), 'edge-clusters.yaml').text,
    // The sidecar as its entrypoint renders it by default (SIDECAR_TRACING=0).
    withoutTracer(read('sidecar.yaml')),
    REPLICA,
    { edge: read('edge.yaml'), sidecar: read('sidecar.yaml') },
  );
}

// The edge of a pair as one static file: its live routes and clusters in place of RDS and CDS.
function staticEdgeOf(pair: Pair): any {
  const edge = structuredClone(pair.edge);
  if (!pair.routes) return edge;
  const untyped = (r: any) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== '@type'));
  for (const listener of edge.static_resources.listeners) {
    const hcm = listener.filter_chains[0].filters[0].typed_config;
    delete hcm.rds;
    hcm.route_config = untyped(pair.routes.resources[0]);
  }
  delete edge.dynamic_resources;
  edge.static_resources.clusters.push(...pair.clusters.resources.map(untyped));
  return edge;
}

test('the shipped pair is the shipped configs: the same connection managers, one route to the replica, ports of its own', (t) => {
  const pair = shipped();
  const rendered = renderedEdge();
  t.true(
    rendered.includes('envoy.filters.http.jwt_authn') &&
      JSON.stringify(edgeHcm(pair)).includes('envoy.filters.http.jwt_authn'),
  );
  t.deepEqual(
    pair.edge.static_resources.listeners.map((l: any) => l.name),
    ['ingress', 'https'],
  );
  t.deepEqual(
    pair.sidecar.static_resources.listeners.map((l: any) => l.name),
    ['ingress'],
  );
  // HTTPS from clients meets the same connection manager as plain HTTP.
  const hcmOn = (name: string) =>
    pair.edge.static_resources.listeners.find((l: any) => l.name === name).filter_chains[0]
      .filters[0].typed_config;
  t.deepEqual(hcmOn('https'), hcmOn('ingress'));
  t.is(
    pair.sidecar.static_resources.listeners[0].address.socket_address.port_value,
    PRICE_SIDECAR_PORT,
  );
  const endpoints = JSON.stringify(pair.clusters.resources[0].load_assignment);
  t.true(endpoints.includes(REPLICA) && endpoints.includes(String(PRICE_SIDECAR_PORT)));
  // The filters every request meets are the shipped ones, in order.
  t.deepEqual(
    edgeHcm(pair).http_filters.map((f: any) => f.name),
    [
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.jwt_authn',
      'envoy.filters.http.router',
    ],
  );
  t.deepEqual(
    sidecarHcm(pair).http_filters.map((f: any) => f.name),
    ['envoy.filters.http.rbac', 'envoy.filters.http.health_check', 'envoy.filters.http.router'],
  );
  // As the entrypoints start them: one sidecar worker, EDGE_WORKERS (1) at the edge.
  t.deepEqual(pair.sidecarArgs, ['--concurrency', '1']);
  t.deepEqual(pair.edgeArgs, ['--concurrency', '1']);
});

test('each variant changes the shipped pair, and no two variants are the same configuration', (t) => {
  const pair = shipped();
  const all = variants(pair, REPLICA);
  t.deepEqual(
    all.map((v) => v.name),
    [
      'shipped',
      'floor',
      'mtls-floor',
      ...FEATURES.map((f) => `no-${f.name}`),
      ...OPTIONS.map((f) => f.name),
      ...EXTRAS.map((f) => f.name),
    ],
  );
  const seen = new Set<string>();
  for (const v of all) {
    const text = JSON.stringify(v.pair);
    t.false(seen.has(text), `${v.name} is the same as another variant`);
    seen.add(text);
  }
  // Taking a feature out leaves the shipped pair as it was (each variant works on a copy).
  t.deepEqual(pair, shipped());
});

test('the floors route only: the mTLS floor has the shipped TLS at both ends, the other none', (t) => {
  const all = variants(shipped(), REPLICA);
  const floor = all.find((v) => v.name === 'floor')!.pair;
  const mtls = all.find((v) => v.name === 'mtls-floor')!.pair;
  t.false(JSON.stringify(floor).includes('transport_socket'));
  t.true(JSON.stringify(mtls.edge).includes('UpstreamTlsContext'));
  t.true(JSON.stringify(mtls.sidecar).includes('require_client_certificate'));
  for (const p of [floor, mtls]) {
    const text = JSON.stringify(p);
    for (const absent of ['access_log', 'rbac', 'local_ratelimit', 'health_check', 'tracing'])
      t.false(text.includes(absent), absent);
  }
});

test('every configuration of the price list passes envoy --mode validate, edge and sidecar', (t) => {
  for (const v of variants(shipped(), REPLICA)) {
    for (const [side, config] of [
      ['edge', staticEdgeOf(v.pair)],
      ['sidecar', v.pair.sidecar],
    ] as const) {
      const file = deployedConfig('edge.yaml', mkdtempSync(`${tmpdir()}/price-list-`), config);
      const result = envoyValidate(file);
      t.is(
        result.status,
        0,
        `${v.name}'s ${side}: ${result.stderr}${result.stdout}\n${stringify(config).slice(0, 200)}`,
      );
    }
  }
});
