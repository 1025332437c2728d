// The lab cluster (scripts/kubernetes-lab/lab.sh) as the tools and tests reach it: kubectl with
// the lab's credentials, the mesh's namespace, and the edge's address on the node.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RolloutFailed } from '../lib/errors.js';
import { httpRequest } from '../lib/http.js';
import { ROOT } from '../lib/paths.js';

const exec = promisify(execFile);
export const LAB = `${ROOT}scripts/kubernetes-lab/lab.sh`;
export const NAMESPACE = 'usermesh';
/** Where the images are named in kubernetes/overlays/lab. */
export const REGISTRY = 'registry.example.com/usermesh';

/** KUBECONFIG and PATH as `lab.sh env` prints them, unless KUBECONFIG is set already. */
async function labEnv(): Promise<NodeJS.ProcessEnv> {
  if (process.env.KUBECONFIG) return process.env;
  const { stdout } = await exec(LAB, ['env']);
  const m = /KUBECONFIG=(\S+) PATH=(\S+):\$PATH/.exec(stdout);
  if (!m) throw new RolloutFailed(`lab.sh env said: ${stdout.trim()}`);
  return { ...process.env, KUBECONFIG: m[1], PATH: `${m[2]}:${process.env.PATH}` };
}

/** One kubectl call in the mesh's namespace: its stdout, or a one-line error. */
export async function kubectl(
  args: string[],
  { input, timeoutMs = 120_000 }: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const child = exec('kubectl', ['-n', NAMESPACE, ...args], {
    cwd: ROOT,
    env: await labEnv(),
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (input !== undefined) child.child.stdin!.end(input);
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new RolloutFailed('kubectl is not on PATH: make kubernetes-lab builds one');
    const said = (e.stderr || e.message).trim().split('\n').slice(-2).join(' ');
    throw new RolloutFailed(`kubectl ${args.slice(0, 3).join(' ')}: ${said}`);
  }
}

/**
 * The edge's HTTPS address: its NodePort on the node's InternalIP (plain HTTP's only redirects).
 * Its certificate names localhost, not the node's address: ask for that name (meshFetch in the
 * tests; httpRequest checks no certificate).
 */
export async function edgeUrl(): Promise<string> {
  const ip = await kubectl([
    'get',
    'nodes',
    '-o',
    'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
  ]);
  const port = await kubectl([
    'get',
    'service',
    'edge',
    '-o',
    'jsonpath={.spec.ports[?(@.name=="https")].nodePort}',
  ]);
  return `https://${ip.trim()}:${port.trim()}`;
}

/** The names of the usersvc Pods that are Ready (a Pod's hostname is its name). */
export async function readyReplicas(): Promise<string[]> {
  const out = await kubectl([
    'get',
    'pods',
    '-l',
    'app.kubernetes.io/name=usersvc',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
  ]);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length === 2 && f[1] === 'True')
    .map((f) => f[0]!);
}

/**
 * Which replicas answer `count` reads of a user through the edge: a 404 (or 200) comes from the
 * database, so a replica counts once it serves data, not only its health check (a replica
 * is Ready before its database is: data requests answer 503 until then, see database.ts).
 */
export async function answering(base: string, count = 24): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const res = await httpRequest(`${base}/user/nobody`, { timeoutMs: 5000 });
    const body = JSON.parse(res.body || '{}') as { hostname?: string };
    if ((res.status === 404 || res.status === 200) && body.hostname) seen.add(body.hostname);
  }
  return seen;
}
