// make up's last word: the mesh is what it says, checked the way its users reach it. Every
// service runs as many containers as it should, and a request through the published port
// (GET /user/health?deep=1: the edge, a replica, its sidecar, the database) answers 200.
// Otherwise it fails, naming what is down.
import { inspectService, type ServiceContainer } from './containers.js';
import { RolloutFailed } from './errors.js';
import { edgeUrl } from './edges.js';
import { httpRequest } from './http.js';
import { until } from './wait.js';
import { COMPOSE_EDGES } from './edge-config.js';

/** Running for good: a container between two restarts of a crash loop is "running" to Docker. */
const up = (c: ServiceContainer) => c.running && c.state !== 'restarting';
const described = (cs: ServiceContainer[]) =>
  cs
    .filter((c) => !up(c))
    .map((c) => `${c.name} ${c.state}${c.state === 'exited' ? ` (code ${c.exitCode})` : ''}`);

/** What is missing of one service: '' when `want` of its containers run. */
export async function shortOf(service: string, want: number): Promise<string> {
  const all = await inspectService(service);
  const running = all.filter(up).length;
  if (running >= want) return '';
  const stopped = described(all);
  return `${service}: ${running} of ${want} running${stopped.length ? ` (${stopped.join(', ')})` : ''}`;
}

/** The path users take: one request through the published port; '' when it answers 200. */
export async function throughTheEdge(url: string, timeoutMs: number): Promise<string> {
  try {
    await until(
      timeoutMs,
      async () => {
        const r = await httpRequest(url);
        let body: { ok?: boolean; error?: string } = {};
        try {
          body = JSON.parse(r.body) as typeof body;
        } catch {
          // not JSON: named by its status below
        }
        if (r.status === 200 && body.ok) return true;
        throw new Error(`it answered ${r.status}${body.error ? `: ${body.error}` : ''}`);
      },
      () => `${url} did not answer 200 within ${timeoutMs / 1000} s`,
    );
    return '';
  } catch (err) {
    return `through the published port: ${(err as Error).message}`;
  }
}

/**
 * A request pinned to the canary (x-canary: its key, lib/canary.ts) through the published port
 * is answered by a canary replica (its `hostname` is the container's short id).
 */
export async function verifyCanary(
  canaries: ServiceContainer[],
  key: string,
  log: (line: string) => void,
): Promise<void> {
  const url = `${edgeUrl()}/user/health`;
  const ids = new Set(canaries.map((c) => c.id.slice(0, 12)));
  const seen = await until(
    30_000,
    async () => {
      const r = await httpRequest(url, { headers: { 'x-canary': key } });
      const body = JSON.parse(r.body) as { hostname?: string; version?: string };
      return r.status === 200 && ids.has(String(body.hostname)) ? body : undefined;
    },
    () => `GET ${url} pinned to the canary was not answered by a canary replica within 30 s`,
  );
  log(
    `GET ${url} pinned to the canary (its key) answers from canary replica ${seen.hostname}, version ${seen.version}`,
  );
}

/** Every long-running service of the compose file, and how many containers it should run. */
export const declaredServices = (replicas: number): [string, number][] => [
  ['postgres', 1],
  ['usersvc', replicas],
  ['edge-port', 1],
  ['edge', COMPOSE_EDGES],
  ['mesh-ca', 1],
  ['mesh-keeper', 1],
];

export async function verifyMesh(o: {
  replicas: number;
  log: (line: string) => void;
}): Promise<void> {
  const url = `${edgeUrl()}/user/health?deep=1`;
  const short = (
    await Promise.all(declaredServices(o.replicas).map(([s, n]) => shortOf(s, n)))
  ).filter(Boolean);
  // A mesh just started may take some seconds to answer; one with something down, not long.
  const problems = [...short, await throughTheEdge(url, short.length ? 5_000 : 30_000)].filter(
    Boolean,
  );
  if (problems.length)
    throw new RolloutFailed(`the mesh is not up as it should be: ${problems.join('; ')}`);
  o.log(`every service runs, and ${url} answers 200 through the published port`);
}
