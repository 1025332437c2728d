// The observability profile (make up OBSERVE=1), in real Docker with a real Prometheus and
// Zipkin: Prometheus finds every replica through DNS and scrapes it over mutual TLS, follows a
// scale-down with no config edit, loads its rules; one request's trace holds the edge's and
// the sidecar's spans, found by the request id the client got back; and nothing of it answers
// a container on appmesh that lacks the mesh's identity. Its alert fires when no replica is left.
import test from 'ava';
import {
  containers,
  EDGE,
  fromNeighbour,
  HTTPS_PROBE,
  LIFTED_LIMITS,
  make,
  makeWith,
  root,
  sh,
  until,
} from './helpers.js';

const PROMETHEUS = 'http://127.0.0.1:9090';
const ZIPKIN = 'http://127.0.0.1:9411';
const OBSERVE = { ...LIFTED_LIMITS, OBSERVE: '1' };

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query's result from Prometheus' API. */
async function query(promql: string): Promise<Sample[]> {
  const r = await fetch(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await r.json()) as { status: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`${promql}: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** `up` per job: how many targets answer (value 1), and how many there are. */
async function upByJob(): Promise<Record<string, { up: number; targets: number }>> {
  const jobs: Record<string, { up: number; targets: number }> = {};
  for (const s of await query('up')) {
    const job = (jobs[s.metric.job!] ??= { up: 0, targets: 0 });
    job.targets++;
    if (s.value[1] === '1') job.up++;
  }
  return jobs;
}

test.before(async () => {
  await make('clean');
  await makeWith(OBSERVE, 'up', 'N=3');
});
test.after.always(async () => {
  await make('clean');
});

test.serial(
  'Prometheus scrapes the two edges and the 3 replicas over mutual TLS: up == 1 for each',
  async (t) => {
    const jobs = await until(
      120_000,
      async () => {
        const j: Record<string, { up: number; targets: number } | undefined> =
          await upByJob().catch(() => ({}));
        // Every target is scraped at its own offset in the interval: an idle slot has no `up`
        // sample until its first (failed) scrape, so wait for all four too.
        const all = j.edge?.targets === 4 && j.usersvc?.targets === 3;
        return all && j.edge?.up === 2 && j.usersvc?.up === 3 ? j : undefined;
      },
      async () =>
        `Prometheus' up by job: ${JSON.stringify(await upByJob().catch((e) => String(e)))}`,
    );
    // Four edge slots, each with its metrics port; two edges hold two of them.
    t.deepEqual(jobs, { edge: { up: 2, targets: 4 }, usersvc: { up: 3, targets: 3 } });
    // What it scrapes is the proxies' own figures, with the recording rules over them.
    for (let i = 0; i < 50; i++) await (await fetch(`${EDGE}/user/health?deep=1`)).arrayBuffer();
    const rate = await until(
      60_000,
      async () => {
        const r = await query('usersvc:requests:rate1m');
        return r.length === 3 ? r : undefined;
      },
      async () =>
        `usersvc:requests:rate1m: ${JSON.stringify(await query('usersvc:requests:rate1m'))}`,
    );
    t.is(rate.length, 3, 'one request-rate series per replica');
    const rules = (await (await fetch(`${PROMETHEUS}/api/v1/rules`)).json()) as {
      data: {
        groups: { rules: { name: string; type: string; state?: string; health: string }[] }[];
      };
    };
    const all = rules.data.groups.flatMap((g) => g.rules);
    t.deepEqual(
      all.filter((r) => r.health !== 'ok').map((r) => r.name),
      [],
      'every rule evaluates',
    );
    t.like(
      all.find((r) => r.name === 'EdgeHasNoHealthyReplica'),
      { type: 'alerting', state: 'inactive' },
    );
    t.like(
      all.find((r) => r.name === 'EdgeDegraded'),
      { type: 'alerting', state: 'inactive' },
      'both edges answer',
    );
    t.truthy(all.find((r) => r.name === 'usersvc:latency_ms:p99_1m'));
  },
);

test.serial(
  "one request, found in Zipkin by the x-request-id it came back with: the edge's span and the sidecar's; a client's trace headers neither choose its id nor stop it being sampled",
  async (t) => {
    // A client that asks for no sampling, in a trace of its choosing (B3 and W3C alike).
    const chosen = 'c0ffee'.padEnd(32, '0');
    const r = await fetch(`${EDGE}/user/nobody-here`, {
      headers: {
        'x-b3-traceid': chosen,
        'x-b3-spanid': 'c0ffee0000000001',
        'x-b3-sampled': '0',
        traceparent: `00-${chosen}-c0ffee0000000001-00`,
      },
    });
    t.is(r.status, 404);
    const id = r.headers.get('x-request-id');
    t.truthy(id);
    type Span = {
      traceId: string;
      kind?: string;
      localEndpoint?: { serviceName?: string };
      tags?: Record<string, string>;
    };
    const trace = await until(
      60_000,
      async () => {
        const res = await fetch(
          `${ZIPKIN}/api/v2/traces?annotationQuery=${encodeURIComponent(`guid:x-request-id=${id}`)}&lookback=600000&limit=10`,
        );
        const traces = (await res.json()) as Span[][];
        const spans = traces.flat();
        const services = new Set(spans.map((s) => s.localEndpoint?.serviceName));
        return services.has('edge') && services.has('usersvc') ? traces : undefined;
      },
      () => `no trace with the edge's and the sidecar's spans for x-request-id ${id}`,
    );
    t.is(trace.length, 1, 'one trace');
    const spans = trace[0]!;
    t.true(spans.length >= 2, `${spans.length} spans`);
    t.true(
      spans.every((s) => s.tags?.['guid:x-request-id'] === id),
      'every span carries the request id',
    );
    t.true(spans.every((s) => s.traceId === spans[0]!.traceId));
    t.not(spans[0]!.traceId, chosen, 'the trace started at the edge, not where the client said');
  },
);

test.serial(
  "make scale N=1: the removed replicas leave Prometheus' targets, with no config edit",
  async (t) => {
    await make('scale', 'N=1');
    const jobs = await until(
      60_000,
      async () => {
        const j = await upByJob();
        return j.usersvc?.targets === 1 ? j : undefined;
      },
      async () => `Prometheus' up by job: ${JSON.stringify(await upByJob())}`,
    );
    t.deepEqual(jobs.usersvc, { up: 1, targets: 1 });
    const active = (await (await fetch(`${PROMETHEUS}/api/v1/targets?state=active`)).json()) as {
      data: { activeTargets: { labels: { job: string } }[] };
    };
    t.is(active.data.activeTargets.filter((x) => x.labels.job === 'usersvc').length, 1);
  },
);

test.serial(
  'from appmesh with no identity, or another one: the UIs, the span port and the metrics listeners refuse',
  async (t) => {
    const results = await fromNeighbour<Record<string, { status?: number; error?: string }>>(
      `${HTTPS_PROBE}
    const plain = (url) => fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => ({ status: r.status }), (e) => ({ error: String(e.cause?.code ?? e) }));
    console.log(JSON.stringify({
      prometheusUi: await plain('http://observe:9090/api/v1/query?query=up'),
      zipkinUi: await plain('http://observe:9411/api/v2/services'),
      spansNoCert: await get('https://observe:9412/api/v2/spans'),
      sidecarMetricsNoCert: await get('https://usersvc:9103/stats/prometheus'),
      sidecarMetricsAsUsersvc: await get('https://usersvc:9103/stats/prometheus', '/id/usersvc'),
      edgeMetricsAsUsersvc: await get('https://edge:9103/stats/prometheus', '/id/usersvc'),
      sidecarMetricsAsPrometheus: await get('https://usersvc:9103/stats/prometheus', '/id/prometheus'),
      spansAsPrometheus: await get('https://observe:9412/api/v2/spans', '/id/prometheus'),
    }));
  `,
      {
        [`${root}secrets/usersvc`]: '/id/usersvc',
        [`${root}secrets/prometheus`]: '/id/prometheus',
      },
    );
    t.truthy(
      results.prometheusUi?.error,
      `Prometheus' UI from appmesh: ${JSON.stringify(results.prometheusUi)}`,
    );
    t.truthy(
      results.zipkinUi?.error,
      `Zipkin's UI from appmesh: ${JSON.stringify(results.zipkinUi)}`,
    );
    t.truthy(
      results.spansNoCert?.error,
      `spans without a certificate: ${JSON.stringify(results.spansNoCert)}`,
    );
    t.truthy(
      results.sidecarMetricsNoCert?.error,
      `a sidecar's metrics without a certificate: ${JSON.stringify(results.sidecarMetricsNoCert)}`,
    );
    t.is(
      results.sidecarMetricsAsUsersvc?.status,
      403,
      "a sidecar's metrics: only Prometheus' identity",
    );
    t.is(
      results.edgeMetricsAsUsersvc?.status,
      403,
      "the edge's metrics: only Prometheus' identity",
    );
    t.is(results.sidecarMetricsAsPrometheus?.status, 200, "Prometheus' identity reads them");
    t.is(results.spansAsPrometheus?.status, 403, 'only the proxies may post spans');
    t.is(
      (await fetch(`${PROMETHEUS}/-/ready`)).status,
      200,
      'while the host reads Prometheus on 127.0.0.1',
    );
  },
);

test.serial(
  'the edge with no healthy replica: the alert EdgeHasNoHealthyReplica fires',
  async (t) => {
    await sh(`docker stop ${(await containers()).join(' ')}`);
    type Alert = { labels: { alertname: string }; state: string };
    const firing = await until(
      90_000,
      async () => {
        const alerts = (
          (await (await fetch(`${PROMETHEUS}/api/v1/alerts`)).json()) as {
            data: { alerts: Alert[] };
          }
        ).data.alerts;
        return alerts.find(
          (a) => a.labels.alertname === 'EdgeHasNoHealthyReplica' && a.state === 'firing',
        );
      },
      async () =>
        `alerts: ${JSON.stringify(await (await fetch(`${PROMETHEUS}/api/v1/alerts`)).json())}`,
    );
    t.truthy(firing);
  },
);

test.serial(
  'the observability profile is hardened too: no capability, no new privileges, a read-only root filesystem',
  async (t) => {
    for (const service of ['observe', 'prometheus', 'zipkin']) {
      const [id] = await containers(service);
      const hc = JSON.parse(await sh(`docker inspect -f '{{json .HostConfig}}' ${id}`)) as {
        CapDrop: string[];
        ReadonlyRootfs: boolean;
        SecurityOpt: string[];
      };
      t.deepEqual(hc.CapDrop, ['ALL'], service);
      t.true(hc.ReadonlyRootfs, service);
      t.true(hc.SecurityOpt.includes('no-new-privileges:true'), service);
    }
  },
);
