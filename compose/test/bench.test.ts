// make bench's smoke run against the real mesh: a second or so per figure, so the bench
// cannot rot. It checks that every figure is there and sane, not how fast the mesh is.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import type { Results } from '../../scripts/bench/bench.js';
import type { PriceResults } from '../../scripts/bench/price-run.js';
import { EDGE, make, sh } from './helpers.js';

test.after.always(async () => {
  await make('clean');
});

test.serial(
  'make bench --smoke measures the six paths, both endpoints, and scaling with its CPU and memory (with the floor, and the load per replica), and writes its files',
  async (t) => {
    const out = mkdtempSync(`${tmpdir()}/bench-`);
    const printed = await make('bench', `ARGS=--smoke --out ${out}`);
    const results = JSON.parse(readFileSync(`${out}/latest.json`, 'utf8')) as Results;

    t.regex(results.versions.envoy, /^\d+\.\d+\.\d+$/);
    t.regex(results.versions.node, /^v\d+\./);
    t.regex(results.versions.postgres, /^\d+/);
    t.true(results.machine.cores >= 1);
    // 2 endpoints x 6 paths (direct, floor, sidecar, mesh, host, https) x (1 fixed rate + 1
    // throughput run)
    t.is(results.runs.length, 24);
    t.deepEqual(
      [...new Set(results.runs.map((r) => r.path))],
      ['direct', 'floor', 'sidecar', 'mesh', 'host', 'https'],
    );
    for (const run of results.runs) {
      const what = `${run.endpoint} ${run.path} ${JSON.stringify(run.load)}`;
      t.is(run.result.ok, 1, `${what}: every answer a 2xx`);
      t.true(
        run.result.rps > 0 &&
          run.result.latencyMs.p50 > 0 &&
          run.result.latencyMs.p50 <= run.result.latencyMs.p99,
        what,
      );
      t.truthy(run.usage.node, `${what}: node found`);
      t.truthy(run.usage.sidecar, `${what}: the sidecar found`);
      t.truthy(run.usage.edge, `${what}: the edge found`);
      t.true(run.usage.sidecar!.rssMB > 0 && run.usage.node!.privateMB > 0, what);
    }
    // Only the mesh path goes through the edge: it works (uses CPU) only there.
    const maxRun = (path: string, endpoint = 'health') =>
      results.runs.find(
        (r) => r.endpoint === endpoint && r.path === path && 'connections' in r.load,
      )!;
    t.true(maxRun('mesh').usage.edge!.cores > maxRun('direct').usage.edge!.cores);
    // The floor's edge and sidecar are its own two minimal Envoys, and they carry its load.
    t.true(maxRun('floor').usage.edge!.cores > 0 && maxRun('floor').usage.sidecar!.cores > 0);
    // The host path goes through the edge's published port: through docker-proxy, where the
    // engine runs one (it does unless started with --userland-proxy=false).
    t.true(maxRun('host').usage.edge!.cores > 0);
    const userlandProxy = (await sh('pgrep -c -x docker-proxy || true')).trim() !== '0';
    if (userlandProxy)
      t.true(maxRun('host').usage.hostProxy!.cores > 0, 'docker-proxy carried the host path');
    else t.is(maxRun('host').usage.hostProxy, null);
    t.regex(printed, /The host path: the same mesh from the host/);
    // HTTPS from the host: TLS at the edge, which works for it.
    t.true(maxRun('https').usage.edge!.cores > 0);
    t.regex(printed, /Client TLS: the same mesh from the host over HTTPS/);
    t.regex(printed, /What the mesh's cost is made of/);
    // The floor's proxies and their private network are gone afterwards.
    t.is(
      (
        await sh(
          'docker ps -aq --filter name=usermesh_bench_; docker network ls -q --filter name=usermesh_bench_floor',
        )
      ).trim(),
      '',
    );
    // The database's own Envoy works on database reads only.
    const dbproxy = (endpoint: string) => maxRun('mesh', endpoint).usage.dbproxy?.cores ?? 0;
    t.true(
      dbproxy('read') > dbproxy('health'),
      `db proxy ${dbproxy('read')} vs ${dbproxy('health')} cores`,
    );

    // The same mesh loads without mutual TLS, every answer a 2xx, paired with their mTLS runs.
    t.is(results.plaintext?.length, 4);
    t.is(results.mtlsAgain?.length, 4, 'and with it once more, after the plaintext pass');
    for (const run of [...(results.plaintext ?? []), ...(results.mtlsAgain ?? [])]) {
      t.is(run.path, 'mesh');
      t.is(run.result.ok, 1, `${run.endpoint} ${JSON.stringify(run.load)}`);
      t.truthy(run.usage.edge && run.usage.sidecar && run.usage.dbproxy);
    }
    t.regex(printed, /What mutual TLS costs/);
    t.regex(
      printed,
      /mTLS over plaintext, GET \/user\/health at the highest throughput: \d+\.\d % (less|more) throughput/,
    );

    t.deepEqual(
      results.scaling.map((s) => s.replicas),
      [1, 2],
    );
    t.true(
      results.scaling.every(
        (s) => s.result.ok === 1 && s.result.rps > 0 && s.cores! > 0 && s.memoryMB! > 0,
      ),
    );
    t.true(
      results.scaling[1]!.memoryMB! > results.scaling[0]!.memoryMB!,
      'a second replica holds memory of its own',
    );
    // The floor over the same replicas (a floor sidecar in each)
    // and the mesh with the load grown per replica: every answer a 2xx, with CPU counted.
    for (const s of results.scaling)
      t.true(
        s.floor!.result.ok === 1 && s.floor!.result.rps > 0 && s.floor!.cores > 0,
        `floor over ${s.replicas}`,
      );
    t.is(
      results.scaling[0]!.perReplica,
      undefined,
      '1 replica: the fixed load already is the load per replica',
    );
    t.is(results.scaling[1]!.perReplica!.connections, 2 * results.settings.connections);
    t.true(
      results.scaling[1]!.perReplica!.result.ok === 1 && results.scaling[1]!.perReplica!.cores > 0,
    );
    t.regex(printed, /The floor \(two minimal Envoys/);
    t.regex(printed, /connections per replica \(the load grows with the replicas\)/);

    t.regex(printed, /Latency at a fixed request rate/);
    t.regex(printed, /Targets/);
    t.true(readFileSync(`${out}/latency.svg`, 'utf8').startsWith('<svg'));
    t.log(
      printed
        .split('\n')
        .filter((l) => l.startsWith('- '))
        .join('\n'),
    );
  },
);

// The price list's smoke run (a second per load), on the mesh the bench above left up: every
// configuration serves, and each lacks, on the running proxies, the one feature it takes out.
test.serial(
  'make price-list --smoke: every configuration serves, each lacks its feature on the running proxies, the shipped pair has them all',
  async (t) => {
    const out = mkdtempSync(`${tmpdir()}/price-`);
    const printed = await make('price-list', `ARGS=--smoke --out ${out}`);
    const results = JSON.parse(readFileSync(`${out}/price-list.json`, 'utf8')) as PriceResults;
    const names = results.variants.map((v) => v.name);
    t.deepEqual(names.slice(0, 3), ['shipped', 'floor', 'mtls-floor']);
    t.true(names.length >= 15, names.join(', '));
    t.is(results.runs.length, names.length, 'one round of each');
    for (const run of results.runs) {
      for (const load of [run.latency, run.atRate, run.max]) {
        t.is(load.result.ok, 1, `${run.variant}: every answer a 2xx`);
        t.true(load.edgeUs > 0 && load.sidecarUs > 0, `${run.variant}: both proxies carried it`);
      }
      t.true(run.memoryMB.edge > 0 && run.memoryMB.sidecar > 0, run.variant);
    }
    // One proof per feature: the shipped pair has it, its variant does not (for mtls: a client
    // with no certificate gets an answer from the variant's sidecar only; for the access log: the
    // variant's edge writes no line).
    t.is(results.proofs.length, names.length - 3);
    // An extra the other way round: for HTTPS from clients, only its pair's edge made TLS
    // handshakes on 8443.
    for (const p of results.proofs) {
      t.is(p.inShipped, !p.adds, `the shipped pair ${p.adds ? 'lacks' : 'has'} ${p.feature}`);
      t.is(p.inVariant, !!p.adds, `the pair ${p.adds ? 'with' : 'without'} ${p.feature}`);
    }
    t.true(results.proofs.some((p) => p.feature === 'https-clients' && p.adds));
    t.regex(printed, /The price of each feature/);
    t.regex(
      printed,
      /Checked on the running proxies: the shipped pair has each of the \d+ features/,
    );
    t.regex(printed, /Targets \(the shipped pair against the mTLS floor, same run\)/);
    // The list's proxies, load generator and network are gone, and the mesh still serves.
    t.is(
      (
        await sh(
          'docker ps -aq --filter name=usermesh_bench_; docker network ls -q --filter name=usermesh_bench_price',
        )
      ).trim(),
      '',
    );
    t.is((await sh(`curl -s -o /dev/null -w '%{http_code}' ${EDGE}/user/health`)).trim(), '200');
  },
);
