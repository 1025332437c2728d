// The edge processes, and the one way the tools ask each for its admin output. Compose runs
// two edges in one network namespace (the port holder's), so the host's 127.0.0.1:8001 answers
// from either of them: each edge is asked inside its own container instead, with
// `docker exec <edge> edge-admin GET PATH` (envoy/edge-admin.sh), as is a swarm's edge on its
// node. Where none runs here, or EDGE_ADMIN_URL names one, the read-only window is asked.
// Also where the host reaches the edges' traffic port (EDGE_PORT).
import { docker, serviceContainers } from './docker.js';
import { httpRequest, type Answer } from './http.js';
import { hostReach, publishedPort } from './ports.js';
import { Failure } from './errors.js';

/**
 * Where the host reaches the edge (lib/ports.ts): its plain port, or with EDGE_HTTP=redirect,
 * where plain HTTP only redirects, its HTTPS port.
 */
export function edgeUrl(env: Record<string, string | undefined> = process.env): string {
  return env.EDGE_HTTP === 'redirect'
    ? edgeHttpsUrl(env)
    : `http://${hostReach(publishedPort(env, 'EDGE_PORT'))}`;
}

/** Where the host reaches the edge's HTTPS. */
export const edgeHttpsUrl = (env: Record<string, string | undefined> = process.env): string =>
  `https://${hostReach(publishedPort(env, 'EDGE_HTTPS_PORT'))}`;

export const EDGE_ADMIN_URL = `http://${hostReach(publishedPort(process.env, 'EDGE_ADMIN_PORT'))}`;

/** An edge's admin could not be read: one line for the user. */
export class AdminError extends Failure {}

export interface EdgeAdmin {
  name: string; // the container's name, or the window's URL
  id: string | null; // the container, when asked through docker exec
  /** GET (or POST) a path of its admin; the body of a 200 answer, else AdminError. */
  call(path: string, method?: 'GET' | 'POST'): Promise<string>;
}

/** An HTTP/1.1 response as edge-admin prints it: status and body, chunked encoding undone. */
export function parseRawResponse(raw: string): { status: number; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new AdminError(`not an HTTP response: ${raw.slice(0, 80)}`);
  const head = raw.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1]);
  if (!status) throw new AdminError(`not an HTTP status line: ${head[0]}`);
  let body = raw.slice(end + 4);
  if (head.some((h) => /^transfer-encoding:\s*chunked$/i.test(h))) {
    // Each chunk: its size in hex (bytes, not characters), CRLF, the bytes, CRLF; size 0 ends.
    const bytes = Buffer.from(body, 'utf8');
    const chunks: Buffer[] = [];
    for (let at = 0; ;) {
      const eol = bytes.indexOf('\r\n', at);
      const size = eol < 0 ? NaN : parseInt(bytes.subarray(at, eol).toString('latin1'), 16);
      if (Number.isNaN(size) || eol + 2 + size > bytes.length)
        throw new AdminError('a chunked answer cut short');
      if (size === 0) break;
      chunks.push(bytes.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(chunks).toString('utf8');
  }
  return { status, body };
}

function inContainer(id: string, name: string): EdgeAdmin {
  return {
    name,
    id,
    async call(path, method = 'GET') {
      let raw: string;
      try {
        raw = await docker(['exec', id, 'edge-admin', method, path], { timeoutMs: 10_000 });
      } catch (err) {
        throw new AdminError(`${name}'s admin: ${(err as Error).message}`);
      }
      const { status, body } = parseRawResponse(raw);
      if (status !== 200)
        throw new AdminError(
          `${name}'s admin answered ${status} to ${method} ${path}: ${body.trim().slice(0, 200)}`,
        );
      return body;
    },
  };
}

function onHost(url: string): EdgeAdmin {
  return {
    name: url,
    id: null,
    async call(path, method = 'GET') {
      let answer: Answer;
      try {
        answer = await httpRequest(`${url}${path}`, { method });
      } catch {
        throw new AdminError(`nothing answers at ${url} (the edge's admin)`);
      }
      if (answer.status !== 200)
        throw new AdminError(
          `${url} answered ${answer.status} to ${method} ${path}: ${answer.body.trim().slice(0, 200)}`,
        );
      return answer.body;
    },
  };
}

/** A swarm's edge task on this engine (its manager's node, where meshctl swarm up puts it). */
const SWARM_EDGE = 'label=com.docker.swarm.service.name=usermesh_edge';

/**
 * Every running edge's admin: compose's edges, or a swarm's edge task on this node, by docker
 * exec; else the window on the host (Kubernetes' port-forward).
 */
export async function edgeAdmins(): Promise<EdgeAdmin[]> {
  if (process.env.EDGE_ADMIN_URL) return [onHost(process.env.EDGE_ADMIN_URL)];
  let ids = await serviceContainers('edge');
  if (ids.length === 0)
    ids = (await docker(['ps', '-q', '--filter', SWARM_EDGE]).catch(() => ''))
      .split('\n')
      .filter(Boolean);
  if (ids.length === 0) return [onHost(EDGE_ADMIN_URL)];
  const names = (await docker(['inspect', '-f', '{{.Name}}', ...ids])).split('\n').filter(Boolean);
  return ids.map((id, i) => inContainer(id, names[i]!.replace(/^\//, '')));
}

/** One edge, by container id, asked inside its container. */
export const edgeAdmin = (id: string, name = id): EdgeAdmin => inContainer(id, name);

/** Is this edge serving: its /ready answers LIVE? */
export async function isReady(edge: EdgeAdmin): Promise<boolean> {
  return edge.call('/ready').then(
    (body) => body.trim() === 'LIVE',
    () => false,
  );
}

/** The edges that serve now; [] when none does (or Docker cannot say). */
export async function servingEdges(): Promise<EdgeAdmin[]> {
  const edges = await edgeAdmins().catch(() => [] as EdgeAdmin[]);
  const ready = await Promise.all(edges.map(isReady));
  return edges.filter((_, i) => ready[i]);
}
