// HTTPS at the edge, end to end in real Docker: the install's own certificate over TLS 1.3 and
// h2, graded by a TLS scanner (sslyze) against Mozilla's "intermediate" profile; plain HTTP on
// the host's loopback only, or redirected (EDGE_HTTP); your own certificate installed, then
// replaced under load with no failed request; a bad one refused in one line, before anything
// changes. And the headers only the mesh may set: a client's x-envoy-original-path.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, copyFileSync } from 'node:fs';
import { request } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { connect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import test from 'ava';
import { compose, EDGE, LIFTED_LIMITS, make, makeWith, root, sh, until } from './helpers.js';

/** make up with these settings, the edge's limits lifted as make() lifts them. */
const upWithMake = (env: Record<string, string>) => makeWith({ ...LIFTED_LIMITS, ...env }, 'up');

const exec = promisify(execFile);
const CA = readFileSync.bind(null, `${root}secrets/ca.pem`, 'utf8');
const SSLYZE = `${root}.cache/sslyze-6.3.1/bin/sslyze`;
/** A certificate authority of "yours", and what it issued for localhost: a, b, expired. */
const yours = mkdtempSync(`${tmpdir()}/your-certs-`);
const pem = (name: string) => `${yours}/${name}`;

/** The host's first address that is not loopback: where a client on the network arrives. */
const hostAddress = () =>
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)!.address;

/** One TLS handshake with the edge: protocol, ALPN and the certificate it showed. */
function handshake(options: { host?: string; minVersion?: 'TLSv1.2'; ca?: string[] } = {}) {
  return new Promise<{ protocol: string; alpn: string | false | null; cert: X509Certificate }>(
    (resolve, reject) => {
      const socket = connect({
        host: options.host ?? '127.0.0.1',
        port: 8443,
        servername: 'localhost',
        ca: options.ca ?? [CA()],
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      socket.setTimeout(5000, () => socket.destroy(new Error('no handshake in 5 s')));
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        resolve({
          protocol: socket.getProtocol()!,
          alpn: socket.alpnProtocol,
          cert: socket.getPeerX509Certificate()!,
        });
        socket.end();
      });
    },
  );
}

/**
 * GET /user/health over HTTPS from `workers` loops until stop(), a new connection (and so a
 * new handshake) each time, trusting `ca`; which certificate served each answer, what failed.
 */
function httpsLoad(ca: string[], workers = 4) {
  let running = true;
  const stopBy = setTimeout(() => (running = false), 5 * 60_000);
  const failures: string[] = [];
  const serials = new Map<string, number>();
  let total = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: 8443,
          servername: 'localhost',
          path: '/user/health',
          ca,
          agent: false,
          timeout: 10_000,
        },
        (res) => {
          const serial = (res.socket as TLSSocket).getPeerX509Certificate()?.serialNumber ?? '?';
          res.resume().on('end', () => {
            if (res.statusCode === 200) serials.set(serial, (serials.get(serial) ?? 0) + 1);
            else failures.push(`status ${res.statusCode}`);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        failures.push(err.message);
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      total++;
      await once();
    }
  });
  return {
    async stop() {
      running = false;
      clearTimeout(stopBy);
      await Promise.all(loops);
      return { total, failures, serials };
    },
  };
}

/** meshctl up with these settings: its exit code and what it said on stderr. */
async function upWith(env: Record<string, string>) {
  try {
    await exec('node', ['bin/meshctl.js', 'up'], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: 120_000,
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

test.before(async () => {
  await make('up');
  await sh(`docker run --rm --network none -v ${yours}:/out --entrypoint bash usermesh/mesh-ca:latest -c '
    mesh-ca new-ca /out/ca >/dev/null && for c in a b; do mesh-ca issue localhost /out/$c 1 /out/ca; done
    mesh-ca issue localhost /out/expired -1 /out/ca'`);
  await sh(
    `mkdir -p ${pem('live')} && cp ${pem('a/cert.pem')} ${pem('a/key.pem')} ${pem('live')}/`,
  );
});
test.after.always(async () => {
  await make('clean');
});

test.serial(
  'curl --cacert secrets/ca.pem https://localhost:8443/user/health: 200 over h2 and TLS 1.3, with HSTS',
  async (t) => {
    const out = await sh(
      `curl -sS --cacert secrets/ca.pem -D - -o /dev/null -w '%{http_code} %{http_version}' https://localhost:8443/user/health`,
    );
    t.regex(out, /\n200 2$/, out);
    t.regex(out, /^strict-transport-security: max-age=31536000\r$/m);
    const shake = await handshake();
    t.is(shake.protocol, 'TLSv1.3');
    t.is(shake.alpn, 'h2');
    t.true(shake.cert.checkIssued(new X509Certificate(CA())), "issued by the install's CA");
    for (const name of ['localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1'])
      t.true(shake.cert.subjectAltName!.includes(name), name);
  },
);

test.serial(
  "sslyze grades the listener against Mozilla's intermediate profile: compliant; no SSL 3, TLS 1.0 or 1.1",
  async (t) => {
    const json = `${yours}/sslyze.json`;
    const { stdout } = await exec(SSLYZE, [
      '--mozilla_config=intermediate',
      `--certinfo_ca_file=${root}secrets/ca.pem`,
      `--json_out=${json}`,
      'localhost:8443',
    ]).catch((err: { stdout: string }) => ({ stdout: `sslyze failed: ${err.stdout}` }));
    t.regex(stdout, /localhost:8443: OK - Compliant/, stdout.split('\n').slice(-8).join('\n'));
    type Scan = Record<string, { result: { accepted_cipher_suites: unknown[] } }>;
    const scan = (
      JSON.parse(readFileSync(json, 'utf8')) as { server_scan_results: { scan_result: Scan }[] }
    ).server_scan_results[0]!.scan_result;
    const accepted = (v: string) =>
      scan[`${v}_cipher_suites`]!.result.accepted_cipher_suites.length;
    for (const old of ['ssl_2_0', 'ssl_3_0', 'tls_1_0', 'tls_1_1']) t.is(accepted(old), 0, old);
    t.true(accepted('tls_1_2') > 0 && accepted('tls_1_3') > 0);
  },
);

test.serial(
  "plain HTTP answers on the host's loopback only; HTTPS on every address; EDGE_HTTP=redirect: a 308 to HTTPS",
  async (t) => {
    const address = hostAddress();
    const plain = (host: string) =>
      sh(
        `curl -sS -m 5 -o /dev/null -w '%{http_code} %{redirect_url}' http://${host}:8000/user/health || true`,
      );
    t.regex(await plain('127.0.0.1'), /^200 /);
    t.regex(await plain(address), /^000/, `plain HTTP at ${address}: refused`);
    t.is((await handshake({ host: address })).protocol, 'TLSv1.3', `HTTPS at ${address}`);

    await upWithMake({ EDGE_HTTP: 'redirect' });
    t.is(await plain(address), `308 https://${address}:8443/user/health`);
    const https = await sh(
      `curl -sS --cacert secrets/ca.pem -o /dev/null -w '%{http_code}' https://localhost:8443/user/health`,
    );
    t.is(https, '200', 'HTTPS itself is not redirected');

    await upWithMake({ EDGE_HTTP: '' });
    t.regex(await plain(address), /^000/, 'back to loopback only');
  },
);

test.serial(
  'your certificate (EDGE_TLS_CERT_FILE): installed by make up, then replaced under load: 0 failed, the new one served',
  async (t) => {
    const env = {
      EDGE_TLS_CERT_FILE: pem('live/cert.pem'),
      EDGE_TLS_KEY_FILE: pem('live/key.pem'),
    };
    await upWithMake(env);
    const yourCa = [readFileSync(pem('ca/ca.pem'), 'utf8')];
    const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;
    t.is((await handshake({ ca: yourCa })).cert.serialNumber, serialOf(pem('a/cert.pem')));

    const load = httpsLoad(yourCa);
    // What an ACME client's renewal does: new files in place; then make up installs them.
    copyFileSync(pem('b/cert.pem'), pem('live/cert.pem'));
    copyFileSync(pem('b/key.pem'), pem('live/key.pem'));
    await make('up'); // .env keeps the files' names
    const b = serialOf(pem('b/cert.pem'));
    await until(
      30_000,
      async () => ((await handshake({ ca: yourCa })).cert.serialNumber === b ? true : undefined),
      () => 'the edge did not serve the new certificate within 30 s',
    );
    const { total, failures, serials } = await load.stop();
    t.log(
      `${total} HTTPS requests, each a new handshake, ${failures.length} failed; served: ${JSON.stringify([...serials])}`,
    );
    t.deepEqual(failures, []);
    t.true((serials.get(b) ?? 0) > 0, 'answers with the new certificate');

    // Back to the install's own.
    await upWithMake({ EDGE_TLS_CERT_FILE: '', EDGE_TLS_KEY_FILE: '' });
    t.true((await handshake()).cert.checkIssued(new X509Certificate(CA())));
  },
);

test.serial(
  'a missing, expired or mismatched certificate: one line naming the file, exit 2, the mesh unchanged',
  async (t) => {
    const before = (await handshake()).cert.serialNumber;
    const env = readFileSync(`${root}.env`, 'utf8');
    const cases: [Record<string, string>, RegExp][] = [
      [
        { EDGE_TLS_CERT_FILE: pem('none.pem'), EDGE_TLS_KEY_FILE: pem('a/key.pem') },
        /^up: EDGE_TLS_CERT_FILE: cannot read \S+none\.pem \(no such file\)$/,
      ],
      [
        { EDGE_TLS_CERT_FILE: pem('expired/cert.pem'), EDGE_TLS_KEY_FILE: pem('expired/key.pem') },
        /^up: EDGE_TLS_CERT_FILE: \S+expired\/cert\.pem expired on /,
      ],
      [
        { EDGE_TLS_CERT_FILE: pem('a/cert.pem'), EDGE_TLS_KEY_FILE: pem('b/key.pem') },
        /^up: EDGE_TLS_KEY_FILE: \S+b\/key\.pem is not the key of the certificate in \S+a\/cert\.pem$/,
      ],
      [
        {
          EDGE_TLS_CERT_FILE: pem('a/cert.pem'),
          EDGE_TLS_KEY_FILE: pem('a/key.pem'),
          EDGE_HOSTNAMES: 'mesh.example',
        },
        /^up: EDGE_TLS_CERT_FILE: \S+a\/cert\.pem does not name mesh\.example \(EDGE_HOSTNAMES\)/,
      ],
      [{ EDGE_HTTP: 'open' }, /^up: EDGE_HTTP must be local, redirect or public, got "open"$/],
    ];
    for (const [settings, message] of cases) {
      const { code, stderr } = await upWith(settings);
      t.is(code, 2, JSON.stringify(settings));
      t.regex(stderr.trim(), message);
      t.is(stderr.trim().split('\n').length, 1, 'one line');
    }
    t.is(readFileSync(`${root}.env`, 'utf8'), env, '.env unchanged');
    t.is((await handshake()).cert.serialNumber, before, 'the same certificate served');
  },
);

test.serial(
  "a client's x-envoy-original-path does not change the path the edge logs",
  async (t) => {
    const r = await fetch(`${EDGE}/user/health`, {
      headers: { 'x-envoy-original-path': '/forged' },
    });
    t.is(r.status, 200);
    const id = r.headers.get('x-request-id')!;
    const line = await until(
      20_000,
      async () => (await compose('logs --no-color edge')).split('\n').find((l) => l.includes(id)),
      () => `no access log line for ${id}`,
    );
    const entry = JSON.parse(line.slice(line.indexOf('{'))) as { path: string };
    t.is(entry.path, '/user/health');
  },
);
