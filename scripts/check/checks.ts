// The checks of meshctl check, each a question about this machine or the running mesh with one
// answer (report.ts). `pre` ones need no mesh: the engine, compose, the ports, the base images,
// secrets/ and its certificates. The rest look at the mesh the way its users reach it.
import { X509Certificate } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { connect, rootCertificates } from 'node:tls';
import { parse } from 'yaml';
import { readCanaryState } from '../lib/canary.js';
import { otherCheckout } from '../lib/checkout.js';
import { compose, composeCli, composeEnv } from '../lib/compose.js';
import { inspectService, runningOf } from '../lib/containers.js';
import { docker, engineInfo, PROJECT } from '../lib/docker.js';
import {
  COMPOSE_EDGES,
  DEFAULT_LIMITS,
  composeEdgeSettings,
  LIFTED_LIMITS,
  limitsFromEnv,
  renderEdgeFiles,
  STABLE,
  type EdgeSettings,
  type Limits,
} from '../lib/edge-config.js';
import { edgeHosts, liveVersions } from '../lib/edge-hosts.js';
import { edgeAdmins, edgeUrl, isReady } from '../lib/edges.js';
import { publishedPort, type EdgePortSetting } from '../lib/ports.js';
import { EDGE_LIVE_DIR, ROOT } from '../lib/paths.js';
import { hostnames } from '../lib/edge-tls.js';
import { CA_FILE, JWKS_FILE, SECRETS_DIR } from '../lib/secrets.js';
import { loadSettings, type Settings } from '../lib/settings.js';
import { declaredServices, shortOf, throughTheEdge } from '../lib/verify.js';
import type { Result } from './report.js';

export interface Check {
  id: string;
  /** needs no running mesh (meshctl check --pre) */
  pre: boolean;
  run(settings: Settings): Promise<Result | Result[]>;
}

const ok = (id: string, detail: string): Result => ({ id, status: 'ok', detail });
const warn = (id: string, detail: string, hint: string): Result => ({
  id,
  status: 'warn',
  detail,
  hint,
});
const fail = (id: string, detail: string, hint: string): Result => ({
  id,
  status: 'fail',
  detail,
  hint,
});
const oneLine = (err: unknown) =>
  String((err as Error).message ?? err)
    .split('\n')
    .at(-1)!
    .slice(0, 160);

/**
 * The user ids the proxies run as: each reads its own directory of secrets/ (a replica's
 * sidecar, uid 101, not its Node, uid 1000, which is given only its two secret files).
 */
const OWNERS: Record<string, number> = {
  edge: 101,
  usersvc: 101,
  postgres: 999,
  prometheus: 65534,
  observe: 101,
};
const SERVICES_WITH_CERTS = Object.keys(OWNERS);

const engine: Check = {
  id: 'engine',
  pre: true,
  async run() {
    try {
      const version = await engineInfo('Version', { timeoutMs: 10_000 });
      return ok('engine', `Docker engine ${version} answers`);
    } catch (err) {
      return fail(
        'engine',
        `cannot reach the Docker engine: ${oneLine(err)}`,
        'start it (systemctl start docker, or dockerd), or point DOCKER_HOST at one you may use',
      );
    }
  },
};

const composeCheck: Check = {
  id: 'compose',
  pre: true,
  async run() {
    try {
      const cli = (await composeCli()).join(' ');
      const version = (await compose(['version', '--short'], { timeoutMs: 10_000 })).trim();
      return ok('compose', `compose: ${cli} ${version}`);
    } catch (err) {
      return fail(
        'compose',
        `no compose CLI: ${oneLine(err)}`,
        'install Compose v2 (the docker compose plugin) or v1 (docker-compose)',
      );
    }
  },
};

/** Can this process bind host:port? '' if so, else the error's code. */
function bindError(port: number, host: string): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve('')));
  });
}

/** One port the mesh publishes: free, or published by the mesh's own edge-port. */
function portCheck(setting: EdgePortSetting, name: string, what: string): Check {
  return {
    id: `port-${name}`,
    pre: true,
    async run(settings) {
      const { address, port } = publishedPort(settings, setting);
      const host = address || (setting === 'EDGE_ADMIN_PORT' ? '127.0.0.1' : '0.0.0.0');
      const id = `port-${name}`;
      const holders = (
        await docker([
          'ps',
          '--filter',
          `publish=${port}`,
          '--format',
          '{{.Names}} {{.Label "com.docker.compose.project"}}',
        ]).catch(() => '')
      )
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' '));
      if (holders.some(([, project]) => project === PROJECT))
        return ok(id, `port ${port} (${what}) is the mesh's`);
      const error = await bindError(port, host);
      if (!error) return ok(id, `port ${port} (${what}) is free`);
      const who = holders.length
        ? `container ${holders.map(([name]) => name).join(', ')}`
        : 'another process';
      return fail(
        id,
        `port ${port} (${what}) is taken by ${who} (${error})`,
        `stop it (ss -ltnp 'sport = :${port}' names it), or give the mesh another: ${setting}=${port + 80} meshctl up`,
      );
    },
  };
}

/** The mesh on the engine is this checkout's: another's has other secrets and data. */
const checkout: Check = {
  id: 'checkout',
  pre: true,
  async run() {
    let other: string | null;
    try {
      other = await otherCheckout();
    } catch (err) {
      return warn('checkout', `cannot ask the engine: ${oneLine(err)}`, 'see the engine line');
    }
    if (!other) return ok('checkout', 'no mesh of another checkout runs on this engine');
    return fail(
      'checkout',
      `a mesh started from another checkout (${other}) runs on this engine, with that install's secrets and data`,
      'make clean (there or here) removes it, its database too (make backup there first)',
    );
  },
};

const baseImages: Check = {
  id: 'images',
  pre: true,
  async run() {
    const env = composeEnv();
    const wanted = [
      env.NODE_IMAGE || 'node:24-bookworm-slim',
      env.ENVOY_IMAGE || 'envoyproxy/envoy:v1.40-latest',
      env.POSTGRES_IMAGE || 'postgres:15-bookworm',
      env.DEBIAN_IMAGE || 'debian:bookworm-slim',
    ];
    const present = await Promise.all(
      wanted.map((image) =>
        docker(['image', 'inspect', '-f', '{{.Id}}', image]).then(
          () => true,
          () => false,
        ),
      ),
    );
    const missing = wanted.filter((_, i) => !present[i]);
    const kit = existsSync(`${ROOT}.images.env`) ? " (the offline kit's)" : '';
    if (!missing.length) return ok('images', `base images: all ${wanted.length} present${kit}`);
    return warn(
      'images',
      `base images missing: ${missing.join(', ')}`,
      'meshctl up pulls them, or builds stand-ins with the offline kit where there is no registry (meshctl images)',
    );
  },
};

/** Every directory and file of secrets/ private to its owner; each service's directory its user's. */
const secretsModes: Check = {
  id: 'secrets',
  pre: true,
  run() {
    const id = 'secrets';
    if (!existsSync(SECRETS_DIR))
      return Promise.resolve(
        warn(
          id,
          'secrets/ does not exist yet',
          "meshctl up (or meshctl secrets) creates the install's CA, certificates and passwords",
        ),
      );
    const problems: string[] = [];
    const mode = (path: string) => lstatSync(path).mode & 0o777;
    const octal = (m: number) => m.toString(8).padStart(4, '0');
    if (mode(SECRETS_DIR) !== 0o700)
      problems.push(`secrets/ is mode ${octal(mode(SECRETS_DIR))}, not 0700`);
    const walk = (dir: string) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return; // a service's directory, private to its user: not ours to list unless root
      }
      for (const name of names) {
        const path = `${dir}/${name}`;
        const stat = lstatSync(path);
        // The CA's certificate is for clients to trust, the token keys' public halves for
        // anyone to verify tokens with: public, and readable by them.
        if (stat.isSymbolicLink() || path === CA_FILE || path === JWKS_FILE) continue;
        if ((stat.mode & 0o077) !== 0)
          problems.push(
            `${path.slice(ROOT.length)} is mode ${octal(stat.mode & 0o777)}: others may read it`,
          );
        if (stat.isDirectory()) walk(path);
      }
    };
    walk(SECRETS_DIR);
    for (const [service, uid] of Object.entries(OWNERS)) {
      const dir = `${SECRETS_DIR}/${service}`;
      if (existsSync(dir) && lstatSync(dir).uid !== uid)
        problems.push(
          `secrets/${service} is owned by uid ${lstatSync(dir).uid}, not ${uid} (${service}'s user)`,
        );
    }
    if (problems.length)
      return Promise.resolve(
        fail(
          id,
          `secrets/: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
          'chmod 700 secrets (files 600), or remove secrets/ and run meshctl up for new ones (a new CA: every certificate is reissued)',
        ),
      );
    return Promise.resolve(
      ok(
        id,
        "secrets/: private to their owners (0700 directories, 0600 files), each service's its own user's",
      ),
    );
  },
};

/** A certificate, read here if this user may, else through the mesh CA's image (as root, read-only). */
async function readPem(path: string): Promise<string> {
  try {
    return readFileSync(`${SECRETS_DIR}/${path}`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    return docker([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${SECRETS_DIR}:/secrets:ro`,
      '--entrypoint',
      'cat',
      'usermesh/mesh-ca:latest',
      `/secrets/${path}`,
    ]);
  }
}

const HOUR = 3_600_000;

/** Each service's certificate: signed by the install's CA, and not about to expire. */
const certificates: Check = {
  id: 'certificates',
  pre: true,
  async run() {
    const id = 'certificates';
    if (!existsSync(`${SECRETS_DIR}/ca/ca.pem`))
      return warn(
        id,
        'no CA in secrets/ca yet',
        "meshctl up creates it, and every service's certificate",
      );
    const ca = new X509Certificate(await readPem('ca/ca.pem'));
    const problems: string[] = [];
    let soonest = Infinity;
    for (const service of SERVICES_WITH_CERTS) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(await readPem(`${service}/cert.pem`));
      } catch (err) {
        problems.push(`${service}: no certificate (${oneLine(err)})`);
        continue;
      }
      if (!cert.verify(ca.publicKey) || !cert.checkIssued(ca)) {
        problems.push(
          `${service}: not issued by the install's CA (issuer ${cert.issuer.replace(/\n/g, ', ')})`,
        );
        continue;
      }
      const from = Date.parse(cert.validFrom);
      const to = Date.parse(cert.validTo);
      // Certificates that live a day are renewed at half their life: within a quarter of it is late.
      const margin = Math.min(24 * HOUR, (to - from) / 4);
      const left = to - Date.now();
      soonest = Math.min(soonest, left);
      if (left <= 0) problems.push(`${service}: expired ${cert.validTo}`);
      else if (left < margin) problems.push(`${service}: expires in ${(left / HOUR).toFixed(1)} h`);
    }
    if (problems.length)
      return fail(
        id,
        `certificates: ${problems.join('; ')}`,
        "meshctl rotate-certs issues new ones from the install's CA (the mesh-ca service renews them while the mesh runs)",
      );
    return ok(
      id,
      `certificates: ${SERVICES_WITH_CERTS.length}, from the install's CA; the soonest expires in ${(soonest / HOUR).toFixed(1)} h`,
    );
  },
};

const declared = (settings: Settings) => Number(settings.USERSVC_REPLICAS || 1);

const services: Check = {
  id: 'services',
  pre: false,
  async run(settings) {
    const wanted = declaredServices(declared(settings));
    const short = (await Promise.all(wanted.map(([s, n]) => shortOf(s, n)))).filter(Boolean);
    if (short.length)
      return fail(
        'services',
        short.join('; '),
        'meshctl up starts what is stopped and brings each service back to its count; meshctl logs SERVICE says why it stopped',
      );
    return ok(
      'services',
      `every service runs as declared: ${wanted.map(([s, n]) => `${s} ${n}`).join(', ')}`,
    );
  },
};

/** The versions in the live files meshctl wrote (.mesh/edge/). */
function writtenVersions(): { routes: string; clusters: string } | undefined {
  const read = (name: string) =>
    (parse(readFileSync(`${EDGE_LIVE_DIR}/${name}`, 'utf8')) as { version_info: string })
      .version_info;
  try {
    return { routes: read('routes.yaml'), clusters: read('clusters.yaml') };
  } catch {
    return undefined;
  }
}

/** The certificate HTTPS clients get, from a handshake through the published port. */
function servedCertificate(
  port: number,
  servername: string,
  ca: string[],
): Promise<{ cert: X509Certificate; protocol: string; trusted: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false });
    socket.setTimeout(5000, () =>
      socket.destroy(new Error(`no TLS handshake on port ${port} within 5 s`)),
    );
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      // Node checks the chain and the name (servername) in the handshake.
      const trusted = socket.authorized ? null : String(socket.authorizationError);
      socket.end();
      if (!peer) reject(new Error('the edge showed no certificate'));
      else resolve({ cert: peer, protocol: socket.getProtocol() ?? '?', trusted });
    });
  });
}

const https: Check = {
  id: 'https',
  pre: false,
  async run(settings) {
    const id = 'https';
    const { port } = publishedPort(settings, 'EDGE_HTTPS_PORT');
    // A client trusts the usual public CAs and the install's own (secrets/ca.pem).
    const ca = [
      ...rootCertificates,
      ...(existsSync(CA_FILE) ? [readFileSync(CA_FILE, 'utf8')] : []),
    ];
    const name = hostnames(settings).find((n) => !isIP(n)) ?? 'localhost';
    const served = await servedCertificate(port, name, ca);
    const left = Date.parse(served.cert.validTo) - Date.now();
    const what = `${served.protocol}, a certificate for ${served.cert.subjectAltName ?? '?'} until ${served.cert.validTo}`;
    if (served.trusted)
      return fail(
        id,
        `HTTPS on port ${port}: ${what}, which a client of ${name} refuses: ${served.trusted}`,
        settings.EDGE_TLS_CERT_FILE
          ? 'renew your certificate (EDGE_TLS_CERT_FILE), then meshctl up installs it'
          : 'meshctl up issues the edge a new one (EDGE_HOSTNAMES lists the names clients use)',
      );
    if (settings.EDGE_TLS_CERT_FILE && left < 7 * 24 * HOUR)
      return warn(
        id,
        `HTTPS on port ${port}: ${what}: ${(left / 24 / HOUR).toFixed(1)} days left`,
        'renew your certificate (EDGE_TLS_CERT_FILE), then meshctl up installs it',
      );
    return ok(id, `HTTPS on port ${port}: ${what}`);
  },
};

const edges: Check = {
  id: 'edges',
  pre: false,
  async run() {
    const id = 'edges';
    const all = await edgeAdmins();
    const ready = await Promise.all(all.map(isReady));
    const live = all.filter((_, i) => ready[i]);
    if (live.length < COMPOSE_EDGES)
      return fail(
        id,
        `${live.length} of ${COMPOSE_EDGES} edges live`,
        'meshctl up brings the edges back (meshctl logs edge says why one stopped)',
      );
    const written = writtenVersions();
    if (!written) return fail(id, 'no live routes written in .mesh/edge', 'meshctl up writes them');
    const taken = await Promise.all(live.map(liveVersions));
    const behind = live.filter(
      (_, i) => taken[i]!.routes !== written.routes || taken[i]!.clusters !== written.clusters,
    );
    if (behind.length)
      return fail(
        id,
        `${behind.map((e) => e.name).join(', ')} not on the routes and clusters written (${written.routes}, ${written.clusters})`,
        'meshctl logs edge says why it rejected them; meshctl up writes and applies them again',
      );
    return ok(
      id,
      `${live.length} edges live, on routes ${written.routes} and clusters ${written.clusters}`,
    );
  },
};

const replicas: Check = {
  id: 'replicas',
  pre: false,
  async run(settings) {
    const id = 'replicas';
    const running = (await runningOf('usersvc')).filter((c) => c.state === 'running');
    const hosts = await edgeHosts(STABLE);
    const unhealthy = running.filter((c) => !hosts.find((h) => h.address === c.address)?.healthy);
    const revision = settings.USERSVC_REVISION;
    const stale = revision ? running.filter((c) => c.revision !== revision) : [];
    const problems = [
      ...unhealthy.map((c) => `${c.name} not healthy in the edges' view`),
      ...stale.map((c) => `${c.name} on revision ${c.revision || '-'}, not ${revision}`),
    ];
    if (problems.length)
      return fail(
        id,
        problems.join('; '),
        'meshctl up replaces replicas on an old revision; meshctl stats and meshctl logs usersvc show why one is unhealthy',
      );
    return ok(
      id,
      `${running.length} running replica(s) healthy in every edge's view${revision ? `, all on revision ${revision}` : ''}`,
    );
  },
};

const database: Check = {
  id: 'database',
  pre: false,
  async run() {
    const url = `${edgeUrl()}/user/health?deep=1`;
    const problem = await throughTheEdge(url, 5_000);
    if (problem)
      return fail(
        'database',
        problem,
        'meshctl logs postgres usersvc says why; meshctl up starts what is stopped',
      );
    return ok(
      'database',
      `${url} answers 200 through the published port: the edge, a replica, its sidecar, the database`,
    );
  },
};

/** The canary's state while one runs (lib/canary.ts), else null. */
const runningCanary = async () =>
  (await runningOf('usersvc-canary')).length === 0 ? null : readCanaryState();

const describeLimits = (l: Limits) =>
  `${l.EDGE_LIMIT_HASH_PER_S}/s creates and logins (burst ${l.EDGE_LIMIT_HASH_BURST}), ${l.EDGE_LIMIT_READ_PER_S}/s other requests (burst ${l.EDGE_LIMIT_READ_BURST}) per client`;

/** The ports Docker's userland proxy publishes on IPv6 (`::`): from its processes' arguments. */
function proxiedOnIpv6(): number[] {
  const ports: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone since the listing
    }
    if (!args[0]?.endsWith('docker-proxy')) continue;
    const arg = (name: string) => args[args.indexOf(name) + 1];
    if (arg('-host-ip') === '::') ports.push(Number(arg('-host-port')));
  }
  return ports;
}

/**
 * The bound on each client address's connections (scripts/edge-port/: iptables connlimit in
 * the edge's namespace), and whether IPv6 clients arrive through Docker's port proxy, where
 * they share one address and so one bound and one set of rate limits.
 */
const connections: Check = {
  id: 'connections',
  pre: false,
  async run(settings) {
    const id = 'connections';
    const want = settings.EDGE_CONNECTIONS_PER_CLIENT || '256';
    const [holder] = await runningOf('edge-port');
    if (!holder) return fail(id, 'edge-port is not running', 'meshctl up');
    const rules = await docker(['exec', holder.id, 'iptables', '-S', 'INPUT']).catch(
      (err: Error) => `(${oneLine(err)})`,
    );
    if (!rules.includes(`--connlimit-above ${want} `))
      return fail(
        id,
        `no bound on connections per client address (want ${want}): ${rules.trim().split('\n').at(-1)}`,
        'meshctl logs edge-port says why (a kernel without connlimit?); meshctl up sets it again',
      );
    const https = publishedPort(settings, 'EDGE_HTTPS_PORT').port;
    if (proxiedOnIpv6().includes(https))
      return warn(
        id,
        `at most ${want} connections per client address; IPv6 clients reach port ${https} through Docker's userland proxy, all from one address: they share one bound and one set of rate limits`,
        'for their own addresses, let Docker publish IPv6 by NAT rather than by its proxy (daemon.json: "ip6tables": true, "userland-proxy": false, and an IPv6 subnet on appmesh: Docker\'s IPv6 docs), or put a proxy of yours in front (EDGE_TRUSTED_CIDRS)',
      );
    return ok(id, `at most ${want} connections per client address to the edge's ports`);
  },
};

const limits: Check = {
  id: 'limits',
  pre: false,
  async run() {
    const id = 'limits';
    const written = writtenVersions();
    const canary = await runningCanary();
    const routes = (l: Limits) =>
      renderEdgeFiles({
        ...composeEdgeSettings(process.env, canary),
        limits: l,
      } satisfies EdgeSettings).routes.version;
    const configured = limitsFromEnv(process.env);
    if (written?.routes === routes(configured))
      return ok(id, `rate limits as configured: ${describeLimits(configured)}`);
    if (written?.routes === routes(limitsFromEnv(LIFTED_LIMITS)))
      return warn(
        id,
        'rate limits lifted to bench values (meshctl bench or fuzz lifted them)',
        `meshctl up puts the configured ones back (${describeLimits(DEFAULT_LIMITS)})`,
      );
    return fail(
      id,
      `the edge's routes (${written?.routes ?? 'none'}) are not what this configuration renders (${routes(configured)})`,
      'meshctl up applies them (EDGE_LIMIT_* in the environment set other limits)',
    );
  },
};

/** Containers read the host's clock; a remote engine (DOCKER_HOST) may not share it. */
const clock: Check = {
  id: 'clock',
  pre: false,
  async run() {
    const [postgres] = await inspectService('postgres');
    if (!postgres?.running)
      return fail('clock', 'no running postgres container to compare clocks with', 'meshctl up');
    const before = Date.now();
    const theirs = Number((await docker(['exec', postgres.id, 'date', '+%s%3N'])).trim());
    const after = Date.now();
    const skew = Math.abs(theirs - (before + after) / 2) - (after - before) / 2;
    const ms = Math.max(0, Math.round(skew));
    if (ms > 1000)
      return fail(
        'clock',
        `the containers' clock is ${ms} ms off the host's`,
        "synchronise the engine host's clock (chrony or systemd-timesyncd): certificates and tokens depend on it",
      );
    return ok('clock', `clocks agree: the containers' within ${ms} ms of the host's`);
  },
};

export const CHECKS: Check[] = [
  engine,
  composeCheck,
  checkout,
  portCheck('EDGE_PORT', 'edge', 'the edge'),
  portCheck('EDGE_HTTPS_PORT', 'https', "the edge's HTTPS"),
  portCheck('EDGE_ADMIN_PORT', 'admin', "the edge's admin, on loopback"),
  baseImages,
  secretsModes,
  certificates,
  services,
  edges,
  https,
  connections,
  replicas,
  database,
  limits,
  clock,
];

/** Runs the checks (the `pre` ones only, with `pre`); a check that throws is a failed line. */
export async function runChecks({ pre = false } = {}): Promise<Result[]> {
  const settings = loadSettings();
  const results: Result[] = [];
  for (const check of CHECKS.filter((c) => c.pre || !pre)) {
    try {
      const r = await check.run(settings);
      results.push(...(Array.isArray(r) ? r : [r]));
    } catch (err) {
      results.push(
        fail(check.id, `${check.id}: ${oneLine(err)}`, 'meshctl logs, and the message, say more'),
      );
    }
    // With no engine, nothing after it can be asked.
    if (check.id === 'engine' && results.at(-1)!.status === 'fail') break;
  }
  return results;
}
