// The docker CLI, for the tools (make stats, make bench): one call, its stdout, and a one-line
// error when it fails. Also the compose project's containers, found by compose's own labels,
// so the tools work with Compose v1 and v2 alike.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PROJECT_NAME } from './settings.js';
import { Failure } from './errors.js';

const exec = promisify(execFile);

/** A docker command failed (or docker is missing); the message is one line, for the user. */
export class DockerError extends Failure {}

export async function docker(
  args: string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const child = exec('docker', args, {
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 60_000,
    env: options.env ?? process.env,
  });
  if (options.input !== undefined) child.child.stdin!.end(options.input);
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new DockerError('docker is not installed or not on PATH');
    const said = (e.stderr || e.message).trim().split('\n').slice(-3).join(' ');
    throw new DockerError(`docker ${args.slice(0, 3).join(' ')}: ${said}`);
  }
}

/** What the engine says of itself (`docker version`): its version, or its CPU architecture. */
export async function engineInfo(
  field: 'Version' | 'Arch' = 'Version',
  options: { timeoutMs?: number } = {},
): Promise<string> {
  return (await docker(['version', '--format', `{{.Server.${field}}}`], options)).trim();
}

/** A docker command whose output (or input) is bytes, not text: a database dump, say. */
export async function dockerBytes(
  args: string[],
  options: { input?: Buffer; timeoutMs?: number } = {},
): Promise<Buffer> {
  const child = exec('docker', args, {
    encoding: 'buffer',
    maxBuffer: 1024 * 1024 * 1024,
    timeout: options.timeoutMs ?? 10 * 60_000,
  });
  child.child.stdin!.end(options.input);
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer; message: string };
    if (e.code === 'ENOENT') throw new DockerError('docker is not installed or not on PATH');
    const said = (e.stderr?.toString('utf8') || e.message).trim().split('\n').slice(-3).join(' ');
    throw new DockerError(`docker ${args.slice(0, 3).join(' ')}: ${said}`);
  }
}

/** The last lines a container wrote, stdout and stderr together ('' when there are none). */
export async function containerLogs(id: string, lines = 5): Promise<string> {
  try {
    const { stdout, stderr } = await exec('docker', ['logs', '--tail', String(lines), id], {
      timeout: 10_000,
    });
    return `${stdout}${stderr}`.trim();
  } catch {
    return '';
  }
}

export const PROJECT = process.env.COMPOSE_PROJECT_NAME ?? PROJECT_NAME;

/**
 * Ids of the compose project's containers: running ones, or all of them with { all: true }; of
 * one service, or of every one; full ids with { full: true } (a container's cgroup is named by
 * its full id). Compose v2 also puts the project and service labels on the images it builds, so
 * a Swarm task made from such an image carries them too, and so does any container run from
 * one (make bench's floor proxies); container-number is compose's alone.
 */
export async function composeContainers({
  service,
  all = false,
  full = false,
}: { service?: string; all?: boolean; full?: boolean } = {}): Promise<string[]> {
  const labels = [
    `com.docker.compose.project=${PROJECT}`,
    ...(service ? [`com.docker.compose.service=${service}`] : []),
    'com.docker.compose.container-number',
  ];
  const flags = [
    ...(all ? ['-a'] : []),
    ...(full ? ['--no-trunc'] : []),
    ...labels.flatMap((l) => ['--filter', `label=${l}`]),
  ];
  return (await docker(['ps', '-q', ...flags])).split('\n').filter(Boolean);
}

/** Ids of a compose service's containers: running ones, or all of them with { all: true }. */
export const serviceContainers = (service: string, { all = false } = {}) =>
  composeContainers({ service, all });

/**
 * GET a URL from inside a service container (its own Node does the fetch: the sidecar's admin
 * and the service listen on its loopback only); the body, or an error for any status but 2xx.
 */
export function fetchInside(id: string, url: string): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}).then(r => r.ok ? r.text() : Promise.reject(new Error('status ' + r.status))).then(t => process.stdout.write(t), e => { console.error(String(e)); process.exit(1); })`;
  return docker(['exec', id, 'node', '-e', script], { timeoutMs: 10_000 });
}

/**
 * The tag a built image goes out under where there is no registry (a swarm's nodes, the
 * Kubernetes lab): its content id, short, so one tag names one build everywhere and a new
 * build is a new tag, which rolls.
 */
export async function contentTag(image: string): Promise<string> {
  return (await docker(['image', 'inspect', '-f', '{{.Id}}', `usermesh/${image}:latest`]))
    .trim()
    .slice(7, 19);
}

/** Removes a network if it exists, first disconnecting whoever joined it (a network in use cannot go). */
export async function removeNetwork(name: string): Promise<void> {
  const joined = await docker([
    'network',
    'inspect',
    '-f',
    '{{range $id, $c := .Containers}}{{$id}} {{end}}',
    name,
  ]).catch(() => '');
  for (const c of joined.split(' ').filter(Boolean))
    await docker(['network', 'disconnect', '-f', name, c]).catch(() => '');
  await docker(['network', 'rm', name]).catch(() => '');
}
