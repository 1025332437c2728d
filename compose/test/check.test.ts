// meshctl check (make check) on a real mesh: every line ✓ when it is healthy, and each of these
// turns exactly its own line ✗ with exit 1: a stopped replica, a certificate from another CA,
// secrets/ readable by others, and (before an up) a port another process holds.
import { createServer } from 'node:net';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { LIFTED_LIMITS, make, root, sh } from './helpers.js';

interface Report {
  ok: boolean;
  checks: { id: string; status: 'ok' | 'warn' | 'fail'; detail: string; hint?: string }[];
}

/** meshctl check --json (and any flags); its report and exit code, whatever the code. */
async function check(...flags: string[]): Promise<Report & { code: number }> {
  const run = await sh(`node bin/meshctl.js check --json ${flags.join(' ')}; echo "exit=$?"`);
  const [json, code] = run.split(/\nexit=/);
  return { ...(JSON.parse(json!) as Report), code: Number(code) };
}
const failing = (r: Report) => r.checks.filter((c) => c.status === 'fail').map((c) => c.id);
const ALL = [
  'engine',
  'compose',
  'checkout',
  'port-edge',
  'port-https',
  'port-admin',
  'images',
  'secrets',
  'certificates',
  'services',
  'edges',
  'https',
  'connections',
  'replicas',
  'database',
  'limits',
  'clock',
];

test.before(async () => {
  await make('up', 'N=2');
});

test.serial(
  'a healthy mesh: every check holds, make check prints one ✓ line each, exit 0',
  async (t) => {
    const report = await check();
    t.is(report.code, 0);
    t.deepEqual(
      report.checks.map((c) => c.id),
      ALL,
    );
    // One warning is this engine's, not the mesh's: Docker's userland proxy carrying IPv6
    // clients (they share one address at the edge), where the engine publishes that way.
    const ipv6Proxied = (await sh('pgrep -a -x docker-proxy || true')).includes('-host-ip :: ');
    t.deepEqual(
      report.checks.filter((c) => c.status !== 'ok').map((c) => `${c.id}: ${c.status}`),
      ipv6Proxied ? ['connections: warn'] : [],
    );
    const printed = await make('check');
    const warned = ipv6Proxied ? 1 : 0;
    t.is(printed.split('\n').filter((l) => l.startsWith('✓ ')).length, ALL.length - warned);
    t.regex(
      printed,
      /✓ every service runs as declared: postgres 1, usersvc 2, edge-port 1, edge 2, mesh-ca 1, mesh-keeper 1/,
    );
    t.regex(printed, new RegExp(`all ${ALL.length} checks hold`));
  },
);

test.serial(
  'a stopped replica: only "services" fails, naming it; make up brings it back',
  async (t) => {
    const [replica] = (
      await sh(
        'docker ps -q --filter label=com.docker.compose.project=usermesh --filter label=com.docker.compose.service=usersvc',
      )
    ).split('\n');
    await sh(`docker stop -t 5 ${replica}`);
    const report = await check();
    t.is(report.code, 1);
    t.deepEqual(failing(report), ['services']);
    t.regex(
      report.checks.find((c) => c.id === 'services')!.detail,
      /usersvc: 1 of 2 running \(\S+ exited/,
    );
    await make('up');
    t.deepEqual(failing(await check()), []);
  },
);

test.serial(
  'a certificate from another CA: only "certificates" fails, naming the service',
  async (t) => {
    // prometheus's: its proxy is not running (no observability profile), so nothing reloads it.
    const dir = mkdtempSync(`${tmpdir()}/other-ca-`);
    await sh(
      `docker run --rm --network none -v ${dir}:/out usermesh/mesh-ca:latest new-ca /out/ca`,
    );
    await sh(
      `docker run --rm --network none -v ${dir}:/out usermesh/mesh-ca:latest issue prometheus /out/cert 1 /out/ca`,
    );
    const cert = `${root}secrets/prometheus/cert.pem`;
    const original = readFileSync(cert);
    try {
      copyFileSync(`${dir}/cert/cert.pem`, cert);
      const report = await check();
      t.is(report.code, 1);
      t.deepEqual(failing(report), ['certificates']);
      t.regex(
        report.checks.find((c) => c.id === 'certificates')!.detail,
        /prometheus: not issued by the install's CA/,
      );
    } finally {
      writeFileSync(cert, original);
      rmSync(dir, { recursive: true, force: true });
    }
    t.deepEqual(failing(await check()), []);
  },
);

test.serial('secrets/ with mode 0644: only "secrets" fails, with the chmod to run', async (t) => {
  await sh(`chmod 0644 ${root}secrets`);
  try {
    const report = await check();
    t.is(report.code, 1);
    t.deepEqual(failing(report), ['secrets']);
    const line = report.checks.find((c) => c.id === 'secrets')!;
    t.regex(line.detail, /secrets\/ is mode 0644, not 0700/);
    t.regex(line.hint!, /chmod 700 secrets/);
  } finally {
    await sh(`chmod 0700 ${root}secrets`);
  }
});

test.serial(
  'before an up, a port another process holds: check --pre fails on that port alone',
  async (t) => {
    // The edge would publish 18000 (EDGE_PORT), which a process of this test holds.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(18000, '0.0.0.0', resolve));
    try {
      const report = JSON.parse(
        (
          await sh('EDGE_PORT=18000 node bin/meshctl.js check --pre --json || true', 60_000, {
            ...LIFTED_LIMITS,
          })
        ).trim(),
      ) as Report;
      t.false(report.ok);
      t.deepEqual(
        report.checks.map((c) => c.id),
        ALL.slice(0, 9),
      );
      t.deepEqual(failing(report), ['port-edge']);
      t.regex(
        report.checks.find((c) => c.id === 'port-edge')!.detail,
        /port 18000 \(the edge\) is taken by another process \(EADDRINUSE\)/,
      );
    } finally {
      server.close();
    }
  },
);

test.serial(
  "another checkout's make up refuses this one's mesh (exit 2) and its check fails naming it; the mesh untouched",
  async (t) => {
    // Compose knows a project by its name alone: a second clone's up would roll onto this mesh
    // with its own CA and database password. The copy has no .env and no secrets/.
    const other = mkdtempSync(`${tmpdir()}/usermesh-other-`);
    const ids = 'docker ps -q --filter label=com.docker.compose.project=usermesh | sort';
    const before = await sh(ids);
    try {
      await sh(`git clone -q "${root}" "${other}" && ln -s "${root}node_modules" "${other}/"`);
      const run = await sh(`cd "${other}" && node bin/meshctl.js up 2>&1; echo "exit=$?"`);
      t.regex(run, /exit=2$/m);
      t.true(run.includes(`a mesh started from another checkout (${root.replace(/\/$/, '')})`));
      t.regex(run, /make clean \(there or here\) removes it/);
      // Its meshctl check says so too, on a line of its own.
      const report = JSON.parse(
        await sh(`cd "${other}" && node bin/meshctl.js check --pre --json || true`),
      ) as Report;
      const line = report.checks.find((c) => c.id === 'checkout')!;
      t.is(line.status, 'fail');
      t.true(line.detail.includes(`another checkout (${root.replace(/\/$/, '')})`));
      t.is(await sh(ids), before);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  },
);
