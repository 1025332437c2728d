// Every Envoy config passes `envoy --mode validate` with the real Envoy binary (envoy-binary.ts).
// Then the properties that keep the mesh safe are read from the parsed YAML (the `yaml`
// package), so a reworded comment cannot pass or fail them. The configs read their
// certificates from /run/mesh and their SDS files from /etc/envoy/sds (as in the images);
// here both point into a temporary directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { parse } from 'yaml';
import {
  clustersFor,
  limitsFromEnv,
  liveFile,
  plainHttpFromEnv,
  routesFor,
  UsageError,
  weightFrom,
  withoutTracer,
} from '../../scripts/lib/edge-config.js';
import {
  DEFAULT_SETTINGS,
  deployedConfig,
  envoyPath,
  envoyValidate,
  renderedEdge,
  renderedEdgeWith,
  staticEdge,
} from './edge-static.js';

const configs = ['sidecar.yaml', 'edge.yaml', 'postgres-sidecar.yaml'];
const read = (name: string) => readFileSync(envoyPath(name), 'utf8');

// The parsed configs: the tests walk Envoy's config tree as plain data, where a missing key
// simply fails the test, so the checks for `any` are off from here on.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */
type Any = Record<string, any>;
const config = (name: string): Any =>
  (name === 'edge.yaml' ? staticEdge() : parse(read(name))) as Any;
const listener = (cfg: Any, name: string): Any => {
  const found = (cfg.static_resources.listeners as Any[]).find((l) => l.name === name);
  if (!found) throw new Error(`no listener ${name}`);
  return found;
};
const hcm = (l: Any): Any =>
  (l.filter_chains[0].filters as Any[]).find(
    (f) => f.name === 'envoy.filters.network.http_connection_manager',
  )!.typed_config;
const cluster = (cfg: Any, name: string): Any =>
  (cfg.static_resources.clusters as Any[]).find((c) => c.name === name)!;
const seconds = (duration: string) => Number(duration.replace(/s$/, ''));

const validate = envoyValidate;
const asDeployed = deployedConfig;

for (const name of configs) {
  test(`envoy --mode validate accepts envoy/${name}`, (t) => {
    const result = validate(asDeployed(name, mkdtempSync(`${tmpdir()}/envoy-config-`)));
    t.is(result.status, 0, result.stderr + result.stdout);
    t.regex(result.stdout, /OK/);
  });
}

test("envoy --mode validate accepts the edge's live routes and clusters with a canary, at every weight", (t) => {
  for (const canaryWeight of [0, 10, 100]) {
    const edge = staticEdge({ ...DEFAULT_SETTINGS, canaryWeight });
    const result = validate(
      asDeployed('edge.yaml', mkdtempSync(`${tmpdir()}/envoy-config-`), edge),
    );
    t.is(result.status, 0, `weight ${canaryWeight}: ${result.stderr}${result.stdout}`);
  }
});

test('the live routes: limits filled in from the environment, a bad limit refused with its name', (t) => {
  const limits = limitsFromEnv({
    EDGE_LIMIT_HASH_PER_S: '3',
    EDGE_LIMIT_READ_BURST: '500',
    EDGE_LIMIT_READ_PER_S: '',
  });
  const bucketsFor = (edges: number) => {
    const routes = routesFor(read('edge-routes.yaml'), { limits, edges, canaryWeight: null });
    t.false(JSON.stringify(routes).includes('${'), 'nothing left to fill in');
    return (routes.resources[0].virtual_hosts[0].routes as Any[])
      .map(
        (r: Any) =>
          r.typed_per_filter_config?.['envoy.filters.http.local_ratelimit']?.descriptors?.[0]
            .token_bucket,
      )
      .filter(Boolean);
  };
  const one = bucketsFor(1);
  t.like(
    one[0],
    { tokens_per_fill: 100, fill_interval: '1s', max_tokens: 500 },
    'reads: the default rate, the burst given',
  );
  t.like(one[1], one[0], 'logging out: as reads (it hashes nothing)');
  t.like(
    one[2],
    { tokens_per_fill: 3, fill_interval: '1s', max_tokens: 10 },
    'creates and logins: the rate given, the default burst',
  );
  // Two edges share the clients: each enforces half, so that both together allow the limits.
  const two = bucketsFor(2);
  t.like(two[0], { tokens_per_fill: 100, fill_interval: '2s', max_tokens: 250 });
  t.like(two[2], { tokens_per_fill: 3, fill_interval: '2s', max_tokens: 5 });
  t.like(
    bucketsFor(3)[2],
    { tokens_per_fill: 3, fill_interval: '3s', max_tokens: 4 },
    'a burst share rounds up',
  );
  t.throws(() => bucketsFor(0), { instanceOf: UsageError });
  for (const bad of ['0', '-1', '1.5', 'lots', '1e3']) {
    t.throws(
      () => limitsFromEnv({ EDGE_LIMIT_READ_PER_S: bad }),
      { instanceOf: UsageError, message: /EDGE_LIMIT_READ_PER_S must be a whole number/ },
      bad,
    );
  }
  t.throws(() => renderedEdge('not-an-address'), {
    message: /HOST_GATEWAY must be an IPv4 address/,
  });
});

test("render-edge.sh puts the edge's admin and metrics on the ports of the slot its entrypoint claimed", (t) => {
  const render = (port: string, metrics = '9104') =>
    spawnSync('bash', [envoyPath('render-edge.sh')], {
      input: read('edge.yaml'),
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOST_GATEWAY: '172.17.0.1',
        ADMIN_PORT: port,
        METRICS_PORT: metrics,
      },
    });
  const edge = parse(render('9902').stdout) as Any;
  t.is(edge.admin.address.socket_address.port_value, 9902);
  t.is(
    cluster(edge, 'admin').load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
      .socket_address.port_value,
    9902,
  );
  t.is(
    (edge.static_resources.listeners as Any[]).find((l) => l.name === 'metrics')!.address
      .socket_address.port_value,
    9104,
  );
  const bad = render('99x');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /ADMIN_PORT must be a port number/);
  t.regex(render('9902', 'x').stderr, /METRICS_PORT must be a port number/);
});

test("a canary: pinned by the mesh's key (and x-canary: 1 only where clients may), the rest split by weight; no canary, no trace of it", (t) => {
  const key = '0123456789abcdef0123456789abcdef';
  const routesAt = (canaryWeight: number | null, clients = false) =>
    routesFor(read('edge-routes.yaml'), {
      ...DEFAULT_SETTINGS,
      canaryWeight,
      ...(canaryWeight === null ? {} : { canaryPin: { key, clients } }),
    }).resources[0].virtual_hosts[0].routes as Any[];
  t.false(JSON.stringify(routesAt(null)).includes('canary'));
  t.false(
    JSON.stringify(clustersFor(read('edge-clusters.yaml'), DEFAULT_SETTINGS)).includes('canary'),
  );
  const routes = routesAt(10);
  const toUsers = routesAt(null).filter((r) => r.route?.cluster === 'usersvc').length;
  const pinned = routes.filter((r) => r.route?.cluster === 'usersvc_canary');
  t.is(pinned.length, toUsers, 'each /user route has its pinned twin');
  for (const r of pinned) {
    t.deepEqual(r.match.headers.at(-1), { name: 'x-canary', string_match: { exact: key } });
    const twin = routes[routes.indexOf(r) + 1]!;
    t.deepEqual(twin.route.weighted_clusters.clusters, [
      { name: 'usersvc', weight: 90 },
      { name: 'usersvc_canary', weight: 10 },
    ]);
    const without = (route: Any, key: string) =>
      Object.fromEntries(Object.entries(route).filter(([k]) => k !== key));
    t.deepEqual(
      without(r.route, 'cluster'),
      without(twin.route, 'weighted_clusters'),
      'the same timeout and retries',
    );
  }
  // Where the operator lets clients pick it: x-canary: 1 as well as the key, nothing else.
  for (const r of routesAt(10, true).filter((x) => x.route?.cluster === 'usersvc_canary'))
    t.deepEqual(r.match.headers.at(-1), {
      name: 'x-canary',
      string_match: { safe_regex: { regex: `1|${key}` } },
    });
  // No pins given (a canary state of another version): nothing pins, the split stays.
  const unpinned = routesFor(read('edge-routes.yaml'), { ...DEFAULT_SETTINGS, canaryWeight: 10 })
    .resources[0].virtual_hosts[0].routes as Any[];
  t.false(unpinned.some((r) => r.route?.cluster === 'usersvc_canary'));
  t.is(
    routesAt(0).filter((r) => r.route?.weighted_clusters).length,
    0,
    'weight 0: only a pinned request reaches it',
  );
  // The service never sees a client's x-canary.
  t.deepEqual(
    (routesFor(read('edge-routes.yaml'), DEFAULT_SETTINGS).resources[0].virtual_hosts[0] as Any)
      .request_headers_to_remove,
    ['x-canary'],
  );
  const canary = (
    clustersFor(read('edge-clusters.yaml'), { ...DEFAULT_SETTINGS, canaryWeight: 10 })
      .resources as Any[]
  ).find((c) => c.name === 'usersvc_canary')!;
  t.is(
    canary.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address,
    'usersvc-canary',
  );
  t.throws(() => weightFrom('101'), {
    instanceOf: UsageError,
    message: /WEIGHT must be a whole number from 0 to 100/,
  });
  t.is(weightFrom(undefined), 10);
});

test('a live file names its content: the same settings give the same version, other settings another', (t) => {
  const file = (canaryWeight: number | null) =>
    liveFile(
      routesFor(read('edge-routes.yaml'), {
        ...DEFAULT_SETTINGS,
        canaryWeight,
        canaryPin: { key: 'k', clients: false },
      }),
      'edge-routes.yaml',
    );
  t.is(file(10).version, file(10).version);
  t.not(file(10).version, file(20).version);
  t.regex(file(null).text, /^# Written by meshctl \(scripts\/lib\/edge-config.ts\)/);
  t.is((parse(file(null).text) as Any).version_info, file(null).version);
});

test('no admin interface listens beyond loopback', (t) => {
  for (const name of configs)
    t.is(config(name).admin.address.socket_address.address, '127.0.0.1', name);
});

test('the read-only windows route only GET (and HEAD) to the admin cluster', (t) => {
  const stats = listener(config('sidecar.yaml'), 'stats');
  t.is(stats.address.socket_address.address, '127.0.0.1');
  const routes = hcm(stats).route_config.virtual_hosts[0].routes as Any[];
  const toAdmin = routes.filter((r) => r.route?.cluster === 'admin');
  t.deepEqual(
    toAdmin.map((r) => r.match.path),
    ['/stats/prometheus', '/ready'],
  );
  for (const r of toAdmin) t.is(r.match.headers[0].string_match.exact, 'GET');
  const edgeAdmin = hcm(listener(config('edge.yaml'), 'admin_readonly')).route_config
    .virtual_hosts[0].routes as Any[];
  for (const r of edgeAdmin.filter((x) => x.route?.cluster === 'admin'))
    t.is(r.match.headers[0].string_match.safe_regex.regex, 'GET|HEAD');
});

test('every listener open to appmesh demands a client certificate and names the one identity it lets in', (t) => {
  const cases: [string, string, string][] = [
    ['sidecar.yaml', 'ingress', 'spiffe://appmesh/edge'],
    ['postgres-sidecar.yaml', 'mesh', 'spiffe://appmesh/usersvc'],
    ['sidecar.yaml', 'metrics', 'spiffe://appmesh/prometheus'],
    ['edge.yaml', 'metrics', 'spiffe://appmesh/prometheus'],
  ];
  for (const [file, name, peer] of cases) {
    const l = listener(config(file), name);
    const tls = l.filter_chains[0].transport_socket.typed_config;
    t.true(tls.require_client_certificate, `${file} ${name}`);
    t.is(
      tls.common_tls_context.tls_params.tls_minimum_protocol_version,
      'TLSv1_3',
      `${file} ${name}`,
    );
    const principals = JSON.stringify(l.filter_chains[0].filters).match(
      /"principal_name":\{"exact":"([^"]+)"\}/g,
    );
    t.deepEqual(principals, [`"principal_name":{"exact":"${peer}"}`], `${file} ${name}`);
  }
  // And the clients check whom they reach.
  const san = (c: Any) =>
    c.transport_socket.typed_config.common_tls_context.combined_validation_context
      .default_validation_context.match_typed_subject_alt_names[0].matcher.exact;
  t.is(san(cluster(config('edge.yaml'), 'usersvc')), 'spiffe://appmesh/usersvc');
  t.is(san(cluster(config('sidecar.yaml'), 'postgres')), 'spiffe://appmesh/postgres');
  for (const file of ['edge.yaml', 'sidecar.yaml'])
    t.is(san(cluster(config(file), 'zipkin')), 'spiffe://appmesh/observe', `${file} zipkin`);
});

test("without a tracer: the images' sed and the host's withoutTracer leave out the same lines, the tracer and nothing else", (t) => {
  for (const name of ['edge.yaml', 'sidecar.yaml']) {
    const template = read(name);
    const bySed = spawnSync('sed', ['/# tracing: begin$/,/# tracing: end$/d', envoyPath(name)], {
      encoding: 'utf8',
    }).stdout;
    t.is(withoutTracer(template), bySed, name);
    t.not(bySed, template, `${name} has the markers`);
    t.false(/^\s*tracing:/m.test(bySed), `${name} keeps no tracing key`);
    const kept = (text: string) => (parse(text) as Any).static_resources.listeners.length;
    t.is(kept(bySed.replaceAll(/\$\{\w+\}/g, '0')), kept(template.replaceAll(/\$\{\w+\}/g, '0')));
  }
  // And the sidecar as its entrypoint runs it by default: valid, with no tracer.
  const sidecar = parse(withoutTracer(read('sidecar.yaml'))) as Any;
  t.is(hcm(listener(sidecar, 'ingress')).tracing, undefined);
});

test('tracing: the edge traces TRACE_PERCENT of requests (0 unless the observability profile runs), and carries no tracer at 0; the sidecars only what the edge traces', (t) => {
  const tracing = (cfg: Any) => hcm(listener(cfg, 'ingress')).tracing;
  // At 0 % the edge has no tracing at all (it would still make a span per request)...
  for (const zero of ['0', '0.0']) {
    const edge = parse(renderedEdgeWith({ TRACE_PERCENT: zero })) as Any;
    t.is(tracing(edge), undefined, zero);
    t.is(hcm(listener(edge, 'https')).tracing, undefined, zero);
  }
  t.is(tracing(config('edge.yaml')), undefined, 'the default');
  // ... and above it, traces that share of requests, on both client listeners.
  const traced = parse(renderedEdgeWith({ TRACE_PERCENT: '100' })) as Any;
  t.is(tracing(traced).random_sampling.value, 100);
  t.is(hcm(listener(traced, 'https')).tracing.random_sampling.value, 100);
  t.is(
    tracing(parse(renderedEdgeWith({ TRACE_PERCENT: '0.5' })) as Any).random_sampling.value,
    0.5,
  );
  t.is(tracing(config('sidecar.yaml')).random_sampling.value, 0);
  for (const cfg of [traced, config('sidecar.yaml')]) {
    t.is(tracing(cfg).client_sampling.value, 0, 'a client cannot ask for a trace');
    t.is(tracing(cfg).provider.typed_config.collector_cluster, 'zipkin');
  }
  for (const bad of ['-1', '101', 'all', '1e2']) {
    const rendered = spawnSync('bash', [envoyPath('render-edge.sh')], {
      input: read('edge.yaml'),
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOST_GATEWAY: '172.17.0.1', TRACE_PERCENT: bad },
    });
    t.is(rendered.status, 2, bad);
    t.regex(rendered.stderr, /TRACE_PERCENT/);
  }
});

test("the edge's entrypoint checks EDGE_WORKERS before anything else: a whole number from 1 to 99, else exit 2 naming it", (t) => {
  const run = (workers: string | undefined) =>
    spawnSync('bash', [envoyPath('edge-entrypoint.sh')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...(workers === undefined ? {} : { EDGE_WORKERS: workers }) },
    });
  for (const bad of ['0', '100', 'two', '-1', '1.5', ' 1']) {
    const r = run(bad);
    t.is(r.status, 2, bad);
    t.regex(r.stderr, /^edge: EDGE_WORKERS must be a whole number from 1 to 99, got "/, bad);
  }
  // A good one (or none: 1) passes the check, and the entrypoint goes on to look for its live
  // files, which this host does not have.
  for (const good of [undefined, '1', '4', '99']) {
    const r = run(good);
    t.is(r.status, 1, String(good));
    t.regex(r.stderr, /no \/etc\/envoy\/live\/routes\.yaml/, String(good));
  }
});

test("a replica's entrypoint checks SIDECAR_TRACING before it starts anything: 0 or 1, else exit 2 naming it", (t) => {
  // (A good value would go on to start Envoy and Node: the compose suites run those.)
  for (const bad of ['2', 'yes', 'on', ' 1', '0 ']) {
    const r = spawnSync('bash', [envoyPath('../user-service/entrypoint.sh')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, SIDECAR_TRACING: bad },
    });
    t.is(r.status, 2, bad);
    t.regex(r.stderr, /^entrypoint: SIDECAR_TRACING must be 0 or 1, got "/, bad);
  }
});

test("the observability proxy: its UIs let in the host's address only, its span port the proxies' identities, for POST /api/v2/spans only", (t) => {
  const dir = mkdtempSync(`${tmpdir()}/envoy-config-`);
  const file = asDeployed('observe.yaml', dir);
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll('${HOST_GATEWAY}', '172.17.0.1'));
  const result = validate(file);
  t.is(result.status, 0, result.stderr + result.stdout);
  const observe = parse(readFileSync(file, 'utf8')) as Any;
  t.is(observe.admin.address.socket_address.address, '127.0.0.1');
  for (const name of ['prometheus_ui', 'zipkin_ui']) {
    const rbac = listener(observe, name).filter_chains[0].filters[0];
    t.is(rbac.name, 'envoy.filters.network.rbac');
    t.deepEqual(rbac.typed_config.rules.policies.host.principals, [
      { direct_remote_ip: { address_prefix: '172.17.0.1', prefix_len: 32 } },
    ]);
  }
  const spans = listener(observe, 'spans');
  t.true(spans.filter_chains[0].transport_socket.typed_config.require_client_certificate);
  const principals = JSON.stringify(spans.filter_chains[0].filters).match(
    /"principal_name":\{"exact":"([^"]+)"\}/g,
  );
  t.deepEqual(principals, [
    '"principal_name":{"exact":"spiffe://appmesh/edge"}',
    '"principal_name":{"exact":"spiffe://appmesh/usersvc"}',
  ]);
  const routes = hcm(spans).route_config.virtual_hosts[0].routes as Any[];
  t.deepEqual(
    routes.filter((r) => r.route).map((r) => [r.match.path, r.match.headers[0].string_match.exact]),
    [['/api/v2/spans', 'POST']],
  );
  // Prometheus and Zipkin themselves are on loopback, behind it.
  for (const c of observe.static_resources.clusters as Any[])
    t.is(
      c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address,
      '127.0.0.1',
    );
});

test("the edge is hardened as Envoy's edge best practices say", (t) => {
  const edge = config('edge.yaml');
  const ingress = listener(edge, 'ingress');
  const h = hcm(ingress);
  t.is(ingress.per_connection_buffer_limit_bytes, 32768);
  t.like(h, {
    use_remote_address: true,
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    max_request_headers_kb: 32,
  });
  t.like(h.common_http_protocol_options, {
    headers_with_underscores_action: 'REJECT_REQUEST',
    max_headers_count: 100,
  });
  t.like(h.http2_protocol_options, {
    max_concurrent_streams: 100,
    initial_stream_window_size: 65536,
    initial_connection_window_size: 1048576,
  });
  for (const timeout of ['request_headers_timeout', 'request_timeout', 'stream_idle_timeout'])
    t.truthy(h[timeout], timeout);
  const actions = (edge.overload_manager.actions as Any[]).map((a) => a.name);
  t.true(actions.includes('envoy.overload_actions.stop_accepting_requests'));
  t.true(actions.includes('envoy.overload_actions.shrink_heap'));
  t.truthy(
    h.local_reply_config.body_format.json_format.request_id,
    "the edge's own answers are JSON with the request id",
  );
  // Every /user route is rate limited per client (an IPv4 address, an IPv6 /64); a 500 is
  // never retried.
  const routes = h.route_config.virtual_hosts[0].routes as Any[];
  for (const r of routes.filter((x) => x.route)) {
    const limit = r.typed_per_filter_config['envoy.filters.http.local_ratelimit'];
    t.deepEqual(
      limit.rate_limits,
      [
        {
          actions: [{ masked_remote_address: { v4_prefix_mask_len: 32, v6_prefix_mask_len: 64 } }],
        },
      ],
      r.match.path_separated_prefix,
    );
    t.false(
      /\b5xx\b/.test(r.route.retry_policy.retry_on),
      `${JSON.stringify(r.match)} retries on ${r.route.retry_policy.retry_on}`,
    );
  }
});

test('HTTPS for clients: the same connection manager as plain HTTP, TLS 1.2 and 1.3, forward-secret AEAD ciphers only, h2 by ALPN, the certificate through SDS', (t) => {
  const edge = config('edge.yaml');
  const https = listener(edge, 'https');
  t.is(https.address.socket_address.port_value, 8443);
  t.is(https.per_connection_buffer_limit_bytes, 32768);
  t.deepEqual(hcm(https), hcm(listener(edge, 'ingress')), 'one set of routes, limits and timeouts');
  const tls = https.filter_chains[0].transport_socket.typed_config.common_tls_context;
  t.like(tls.tls_params, {
    tls_minimum_protocol_version: 'TLSv1_2',
    tls_maximum_protocol_version: 'TLSv1_3',
  });
  for (const suite of tls.tls_params.cipher_suites as string[])
    t.regex(suite, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
  t.deepEqual(tls.alpn_protocols, ['h2', 'http/1.1']);
  t.is(tls.tls_certificate_sds_secret_configs[0].name, 'public');
});

test("a client cannot set the mesh's own headers: the path the log shows, a trace's ids and sampling, its own address", (t) => {
  const h = hcm(listener(config('edge.yaml'), 'ingress'));
  const removed = (h.early_header_mutation_extensions[0].typed_config.mutations as Any[]).map(
    (m) => m.remove,
  );
  for (const name of ['x-envoy-original-path', 'x-b3-traceid', 'x-b3-sampled', 'b3', 'traceparent'])
    t.true(removed.includes(name), name);
  t.is(h.access_log[0].typed_config.log_format.json_format.path, '%REQ(:PATH)%');
  for (const name of ['x-forwarded-proto', 'x-request-id']) t.true(removed.includes(name), name);
  // Nor its address, unless it comes from networks EDGE_TRUSTED_CIDRS names (edge-client-address.test.ts).
  t.is(h.use_remote_address, true);
  t.deepEqual(h.original_ip_detection_extensions, []);
  const trusting = hcm(
    listener(parse(renderedEdgeWith({ TRUSTED_CIDRS: '10.0.0.0/8,fd00::/8' })) as Any, 'ingress'),
  );
  t.is(trusting.use_remote_address, false);
  t.deepEqual(trusting.original_ip_detection_extensions[0].typed_config.xff_trusted_cidrs.cidrs, [
    { address_prefix: '10.0.0.0', prefix_len: 8 },
    { address_prefix: 'fd00::', prefix_len: 8 },
  ]);
  for (const [bad, message] of [
    ['0.0.0.0/0', /may not trust every address/],
    ['10.0.0.0/33', /must be networks/],
    ['10.0.0.1', /must be networks/],
  ] as const)
    t.throws(() => renderedEdgeWith({ TRUSTED_CIDRS: bad }), { message }, bad);
});

test('envoy --mode validate accepts the edge with EDGE_TRUSTED_CIDRS', (t) => {
  const edge = staticEdge(DEFAULT_SETTINGS, undefined, { TRUSTED_CIDRS: '10.0.0.0/8,fd00::/8' });
  const result = validate(asDeployed('edge.yaml', mkdtempSync(`${tmpdir()}/envoy-config-`), edge));
  t.is(result.status, 0, result.stderr + result.stdout);
});

test('HSTS on every answer the routes give; EDGE_HTTP=redirect sends plain HTTP (and only it) to HTTPS first', (t) => {
  const vhost = (http: Record<string, string>) =>
    routesFor(read('edge-routes.yaml'), {
      ...DEFAULT_SETTINGS,
      http: plainHttpFromEnv(http),
    }).resources[0].virtual_hosts[0];
  t.deepEqual(vhost({}).response_headers_to_add[0].header, {
    key: 'strict-transport-security',
    value: 'max-age=31536000',
  });
  t.false(JSON.stringify(vhost({ EDGE_HTTP: 'public' })).includes('https_redirect'));
  const first = vhost({ EDGE_HTTP: 'redirect', EDGE_HTTPS_PORT: '443' }).routes[0];
  t.deepEqual(first.match.headers, [
    { name: 'x-forwarded-proto', string_match: { exact: 'http' } },
  ]);
  t.like(first.redirect, {
    https_redirect: true,
    port_redirect: 443,
    response_code: 'PERMANENT_REDIRECT',
  });
  t.throws(() => plainHttpFromEnv({ EDGE_HTTP: 'yes' }), {
    message: /EDGE_HTTP must be local, redirect or public/,
  });
  t.throws(() => plainHttpFromEnv({ EDGE_HTTPS_PORT: '70000' }), { message: /EDGE_HTTPS_PORT/ });
});

test('envoy --mode validate accepts the edge with EDGE_HTTP=redirect', (t) => {
  const edge = staticEdge({
    ...DEFAULT_SETTINGS,
    http: plainHttpFromEnv({ EDGE_HTTP: 'redirect' }),
  });
  const result = validate(asDeployed('edge.yaml', mkdtempSync(`${tmpdir()}/envoy-config-`), edge));
  t.is(result.status, 0, result.stderr + result.stdout);
});

test("no sidecar timeout outlasts the edge's", (t) => {
  const edge = hcm(listener(config('edge.yaml'), 'ingress'));
  const sidecar = hcm(listener(config('sidecar.yaml'), 'ingress'));
  for (const timeout of ['request_headers_timeout', 'stream_idle_timeout']) {
    t.truthy(sidecar[timeout], timeout);
    t.true(seconds(sidecar[timeout]) <= seconds(edge[timeout]), timeout);
  }
  const edgeRoute = Math.max(
    ...(edge.route_config.virtual_hosts[0].routes as Any[])
      .filter((r) => r.route)
      .map((r) => seconds(r.route.timeout)),
  );
  for (const r of sidecar.route_config.virtual_hosts[0].routes as Any[])
    t.true(seconds(r.route.timeout) < edgeRoute, JSON.stringify(r.match));
  t.truthy(
    sidecar.local_reply_config.body_format.json_format,
    "the sidecar's own answers are JSON too",
  );
});

test('one template rule for every Envoy file: ${NAME} filled whole, in the images (render.sh) as on the host (edge-config.ts); a name nothing fills is refused', (t) => {
  const render = (input: string, names: string[], env: Record<string, string>) =>
    spawnSync('bash', [envoyPath('render.sh'), ...names], {
      input,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    });
  const filled = render('port_value: ${PORT}\naddress: ${HOST}\n', ['PORT', 'HOST'], {
    PORT: '9901',
    HOST: '10.0.0.1',
  });
  t.is(filled.status, 0, filled.stderr);
  t.deepEqual(parse(filled.stdout), { port_value: 9901, address: '10.0.0.1' });
  const left = render('port_value: ${PORT}\nother: ${PROT}\n', ['PORT'], { PORT: '9901' });
  t.is(left.status, 2);
  t.regex(left.stderr, /render\.sh: the template names what nothing fills: \$\{PROT\}/);
  // Every placeholder of the templates is a whole YAML value, so the rule is the same on both sides.
  for (const file of ['edge.yaml', 'observe.yaml', 'edge-routes.yaml', 'edge-clusters.yaml']) {
    const text = read(file)
      .split('\n')
      .filter((l) => !l.trim().startsWith('#'))
      .join('\n');
    const inside = [...text.matchAll(/[^\s:]\$\{\w+\}|\$\{\w+\}[^\s\n]/g)].map((m) => m[0]);
    t.deepEqual(inside, [], `${file}: a placeholder inside a value`);
  }
});
