// What the end-to-end test files share: where the repository is, the addresses the host
// reaches the mesh on, running make, shell commands and compose from the repository root,
// one client for the edge, a steady load, and probes from containers next to the mesh.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rootCertificates } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciInit } from 'undici';
import { edgeAdmins } from '../../scripts/lib/edges.js';
import { compose as composeArgs } from '../../scripts/lib/compose.js';
import { edgeHosts } from '../../scripts/lib/edge-hosts.js';
import { PROBE_LIB } from '../../conformance/probe.js';

const exec = promisify(execFile);
export const root = new URL('../..', import.meta.url).pathname;
export const EDGE = 'http://127.0.0.1:8000';
export const ADMIN = 'http://127.0.0.1:8001';
export const PROJECT = 'usermesh';

/**
 * The edge limits each client address (envoy/render-edge.sh), and every request from these
 * tests comes from one address (Docker's port proxy). The suites that load the mesh on purpose
 * lift the limits, so that they test what they say; abuse.test.ts tests the limits themselves,
 * and brings the edge up with the defaults (an empty value) or its own.
 */
export const LIFTED_LIMITS: Record<string, string> = {
  EDGE_LIMIT_HASH_PER_S: '1000000',
  EDGE_LIMIT_HASH_BURST: '1000000',
  EDGE_LIMIT_READ_PER_S: '1000000',
  EDGE_LIMIT_READ_BURST: '1000000',
};

const options = (timeoutMs: number, env: Record<string, string>) => ({
  cwd: root,
  timeout: timeoutMs,
  maxBuffer: 64 * 1024 * 1024,
  env: { ...process.env, ...env },
});

export async function sh(
  command: string,
  timeoutMs = 600_000,
  env = LIFTED_LIMITS,
): Promise<string> {
  return (await exec('bash', ['-c', command], options(timeoutMs, env))).stdout;
}

/** `make <args>` from the repository root, with the edge's limits lifted; its stdout. */
export function make(...args: string[]): Promise<string> {
  return makeWith(LIFTED_LIMITS, ...args);
}

/** `make <args>` with these environment variables (edge limits, say); its stdout. */
export async function makeWith(env: Record<string, string>, ...args: string[]): Promise<string> {
  return (await exec('make', ['--no-print-directory', ...args], options(20 * 60_000, env))).stdout;
}

/** compose as meshctl runs it (v1 or v2: COMPOSE_CLI), from the repository root; its stdout. */
export const compose = (args: string) => composeArgs(args.split(' ').filter(Boolean));
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it gives a value, for up to `timeoutMs`; else fails with `failure()`. */
export { until } from '../../scripts/lib/wait.js';

let trusting: Agent | undefined;
/**
 * fetch, where an https URL trusts the install's CA (secrets/ca.pem, read at the first such
 * request: the mesh's first make up makes it) besides the public ones, and asks for the edge
 * by the name its certificate carries, localhost, at whatever address it is reached (a swarm
 * node's, a NodePort's): Node's own fetch takes no CA.
 */
export function meshFetch(url: string, init: RequestInit = {}): Promise<Response> {
  if (!url.startsWith('https:')) return fetch(url, init);
  trusting ??= new Agent({
    connect: {
      ca: [...rootCertificates, readFileSync(`${root}secrets/ca.pem`, 'utf8')],
      servername: 'localhost',
    },
  });
  // Its Response is undici's own class, the same API as the global one.
  const undiciInit = { ...init, dispatcher: trusting } as unknown as UndiciInit;
  return undiciFetch(url, undiciInit);
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** A request through the edge (another one at `base`: a swarm's); the JSON body. */
export async function call(
  path: string,
  init: RequestInit & { json?: unknown } = {},
  base = EDGE,
): Promise<Reply> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set('content-type', 'application/json');
  const response = await meshFetch(`${base}${path}`, {
    ...rest,
    headers,
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP/1.1 request to the edge exactly as given: the path is not normalised, any header goes. */
export function rawCall(
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawReply> {
  const { hostname, port } = new URL(EDGE);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** The running containers of a compose service of the mesh. */
export const containers = async (service = 'usersvc') =>
  (
    await sh(
      `docker ps -q --filter label=com.docker.compose.project=${PROJECT} --filter label=com.docker.compose.service=${service}`,
    )
  )
    .split('\n')
    .filter(Boolean);

/** How many usersvc hosts every edge counts as healthy (each edge asked in its container). */
export async function healthyInEdge(): Promise<number> {
  return (await edgeHosts('usersvc')).filter((h) => h.healthy).length;
}

/** One counter of the edges, summed over every running edge (0 where it does not exist yet). */
export async function edgeStat(name: string): Promise<number> {
  const filter = encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`);
  const values = await Promise.all(
    (await edgeAdmins()).map(async (e) =>
      Number(/: (\d+)/.exec(await e.call(`/stats?filter=${filter}`))?.[1] ?? 0),
    ),
  );
  return values.reduce((a, b) => a + b, 0);
}

/** One request of a steady load, and the status it must get. */
export interface LoadRequest {
  method?: string;
  path: string;
  json?: unknown;
  headers?: Record<string, string>;
  expect?: number; // default 200
}

/**
 * Steady requests through the edge from `workers` loops until stop(), each loop going round
 * `requests` (a path alone: GETs that must answer 200). Any other status, or no answer, is a
 * failure. Also counts which version answered (the body's `version`).
 */
export function steadyLoad(requests: string | LoadRequest[], workers = 4, base = EDGE) {
  const list: LoadRequest[] = typeof requests === 'string' ? [{ path: requests }] : requests;
  let running = true;
  // Bounded in time too: a test that dies before stop() (its process killed, say) leaves no
  // load behind for long. The longest change under load in these suites takes about 2 min.
  const stopBy = setTimeout(() => (running = false), 10 * 60_000);
  const failures: string[] = [];
  const versions = new Map<string, number>();
  let total = 0;
  const loop = async (_: unknown, worker: number) => {
    for (let i = worker; running; i++) {
      const { method = 'GET', path, json, headers = {}, expect = 200 } = list[i % list.length]!;
      total++;
      try {
        const r = await meshFetch(`${base}${path}`, {
          method,
          headers: {
            ...headers,
            ...(json === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        });
        const body = (await r.json().catch(() => ({}))) as {
          version?: string;
          error?: string;
          hostname?: string;
        };
        if (r.status !== expect)
          failures.push(
            `${method} ${path}: status ${r.status} from ${body.hostname}: ${body.error}`,
          );
        else versions.set(String(body.version), (versions.get(String(body.version)) ?? 0) + 1);
      } catch (err) {
        failures.push(`${method} ${path}: ${String(err)}`);
      }
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    /** how many requests were sent so far */
    sent: () => total,
    async stop() {
      running = false;
      clearTimeout(stopBy);
      await Promise.all(loops);
      return { total, failures, versions };
    },
  };
}

/** Reads, and writes that reach the database without a password hash: a taken name, a bad
 * token. alice must exist. */
export const MIXED: LoadRequest[] = [
  { path: '/user/alice' },
  {
    method: 'PUT',
    path: '/user/alice',
    json: { fullname: 'Alice again', password: 'alicerules' },
    expect: 409,
  },
  { path: '/user/health' },
  {
    method: 'DELETE',
    path: '/user/alice',
    headers: { authorization: 'Bearer not.a.token' },
    expect: 401,
  },
];

/**
 * Functions for a neighbour's script (fromNeighbour): `get(url, dir)`, a GET over TLS with the
 * identity in a mounted directory (or none), and `pg(dir)`, a PostgreSQL start-up over TLS:
 * the conformance suite's probes (conformance/probe.ts).
 */
export const HTTPS_PROBE = `${PROBE_LIB}
const get = probe;
`;

/**
 * Runs an ES module with node inside a throwaway container on appmesh: a neighbour's view of
 * the mesh. `mounts` are host paths to mount read-only (a certificate directory, say); it runs
 * as root so that it can read any key it is handed. Its stdout, parsed as JSON.
 */
export async function fromNeighbour<T = unknown>(
  script: string,
  mounts: Record<string, string> = {},
): Promise<T> {
  const file = `${mkdtempSync(`${tmpdir()}/neighbour-`)}/probe.mjs`;
  writeFileSync(file, script);
  const volumes = Object.entries({ [file]: '/probe.mjs', ...mounts })
    .map(([host, inside]) => `-v ${host}:${inside}:ro`)
    .join(' ');
  return JSON.parse(
    await sh(
      `docker run --rm --network appmesh --user 0 ${volumes} --entrypoint node ${PROJECT}/usersvc:latest /probe.mjs`,
      60_000,
    ),
  ) as T;
}

/**
 * GET a path of an Envoy's admin interface (127.0.0.1:9901 inside a container; an edge's port
 * is in its /tmp/admin-port): with the container's own node where it has one (a replica), else
 * from a throwaway container that shares its network namespace (postgres; the edge, whose
 * namespace is its holder's, edge-port).
 */
export async function adminInside(container: string, path: string): Promise<string> {
  const port = (
    await sh(`docker exec ${container} cat /tmp/admin-port 2>/dev/null || echo 9901`, 30_000)
  ).trim();
  const script = `fetch('http://127.0.0.1:${port}${path}').then(async (r) => { if (!r.ok) throw new Error(r.status); process.stdout.write(await r.text()); })`;
  try {
    return await sh(`docker exec ${container} node -e "${script}"`, 30_000);
  } catch {
    const mode = (await sh(`docker inspect -f '{{.HostConfig.NetworkMode}}' ${container}`)).trim();
    const namespace = mode.startsWith('container:') ? mode.slice('container:'.length) : container;
    return sh(
      `docker run --rm --network container:${namespace} --entrypoint node ${PROJECT}/usersvc:latest -e "${script}"`,
      30_000,
    );
  }
}

/** One counter or gauge of an Envoy inside a container (0 when it does not exist yet). */
export async function statInside(container: string, name: string): Promise<number> {
  const text = await adminInside(
    container,
    `/stats?filter=${encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`)}`,
  );
  return Number(/: (\d+)/.exec(text)?.[1] ?? 0);
}

/** The serial numbers of the certificates an Envoy presents, read from its admin /certs. */
export async function servingSerials(container: string): Promise<string[]> {
  const certs = JSON.parse(await adminInside(container, '/certs')) as {
    certificates: { cert_chain: { serial_number: string }[] }[];
  };
  return [...new Set(certs.certificates.flatMap((c) => c.cert_chain.map((x) => x.serial_number)))];
}
