// The tools' view of several edges: edge-admin's raw answers (recorded from a real edge with
// `docker exec <edge> edge-admin GET ...`: chunked, as Envoy's admin answers HTTP/1.1), and
// the merge of two edges' /clusters and /stats into one (captured from the real mesh).
import { readFileSync } from 'node:fs';
import test from 'ava';
import { AdminError, parseRawResponse } from '../edges.js';
import { mergeHosts, mergeStats, parseClusters, parseStatsJson } from '../envoy-admin.js';

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
const statsFixture = (name: string) =>
  readFileSync(new URL(`../../stats/test/fixtures/${name}`, import.meta.url), 'utf8');

test("edge-admin's raw answer: status and body, one chunk or several", (t) => {
  const one = parseRawResponse(fixture('edge-admin-chunked.txt'));
  t.is(one.status, 200);
  t.deepEqual(JSON.parse(one.body), {
    stats: [{ name: 'http.edge.downstream_rq_total', value: 2 }],
  });
  const several = parseRawResponse(fixture('edge-admin-stats.txt'));
  t.is(several.status, 200);
  const lines = several.body.trimEnd().split('\n');
  t.true(lines.length > 50, `${lines.length} lines`);
  t.true(
    lines.every((l) => /^cluster\.usersvc\.\S+: /.test(l)),
    'every line a stat: no chunk sizes left in the body',
  );
});

test("edge-admin's raw answer: a plain body, and what is not HTTP or is cut short", (t) => {
  t.deepEqual(
    parseRawResponse('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nPRE_'),
    { status: 503, body: 'PRE_' },
  );
  t.throws(() => parseRawResponse('bash: /dev/tcp/127.0.0.1/9901: Connection refused'), {
    instanceOf: AdminError,
  });
  const whole = fixture('edge-admin-stats.txt');
  t.throws(() => parseRawResponse(whole.slice(0, whole.length / 2)), {
    instanceOf: AdminError,
    message: /cut short/,
  });
});

test("two edges' hosts: counters summed, healthy only where every edge says so", (t) => {
  const a = parseClusters(statsFixture('edge-clusters.json'), 'usersvc');
  const b = parseClusters(statsFixture('edge-clusters-unhealthy.json'), 'usersvc');
  t.is(a.length, 3);
  const merged = mergeHosts([a, a]);
  t.is(merged.length, 3);
  for (const [i, h] of merged.entries()) {
    t.true(h.healthy);
    t.is(h.counters.rq_total, 2 * (a[i]!.counters.rq_total ?? 0));
  }
  // The same addresses in both captures: one edge has marked a replica unhealthy.
  const sick = b.filter((h) => !h.healthy).map((h) => h.address);
  t.true(sick.length > 0);
  const withSick = mergeHosts([b.map((h) => ({ ...h, healthy: true, flags: [] })), b]);
  t.deepEqual(
    withSick.filter((h) => !h.healthy).map((h) => h.address),
    sick,
  );
  // A replica one edge has not found yet is not healthy everywhere.
  const [missing] = mergeHosts([a, a.slice(1)]);
  t.false(missing!.healthy);
  t.deepEqual(missing!.flags, ['not_in_every_edge']);
  t.deepEqual(mergeHosts([]), []);
});

test("two edges' stats: counters summed, a certificate's expiry the soonest, quantiles the slower edge's", (t) => {
  const one = parseStatsJson(statsFixture('edge-stats.json'));
  const other = parseStatsJson(statsFixture('edge-stats.json'));
  const total = 'http.edge.downstream_rq_total';
  const expiry = 'cluster.usersvc.ssl.certificate.identity.expiration_unix_time_seconds';
  t.true((one.values.get(total) ?? 0) > 0, 'the capture counted requests');
  one.values.set(expiry, 1795481897);
  other.values.set(total, 7).set(expiry, 1795481797);
  const time = 'cluster.usersvc.upstream_rq_time';
  one.cumulative.set(
    time,
    new Map([
      [50, 5],
      [99, 10],
    ]),
  );
  other.cumulative.set(
    time,
    new Map([
      [50, 1],
      [99, 1e6],
    ]),
  );
  const merged = mergeStats([one, other]);
  t.is(merged.values.get(total), (one.values.get(total) ?? 0) + 7);
  t.is(merged.values.get(expiry), 1795481797);
  t.deepEqual(
    merged.cumulative.get(time),
    new Map([
      [50, 5],
      [99, 1e6],
    ]),
  );
  t.is(mergeStats([one]).values.get(total), one.values.get(total), 'one edge: its own figures');
});
