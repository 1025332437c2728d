// The compose CLI, as every command runs it: v2 (`docker compose`) where installed, else v1
// (`docker-compose`); COMPOSE_CLI=v1 or v2 chooses (make e2e-v1 tests with v1 beside v2). It
// runs from the repository root with the offline kit's base images (.images.env), the service's
// version, and, before the first make up writes .env, the mesh's file and project.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { DockerError } from './docker.js';
import { DEV_FILES, ENV_FILE, MAIN_FILE, PROJECT_NAME } from './settings.js';
import { runShown } from './run.js';
import { ROOT, STATE_DIR } from './paths.js';
import { serviceVersion } from './version.js';

const exec = promisify(execFile);
/** make dev leaves this mark: the replicas run this checkout's sources (compose/dev.yml). */
export const DEV_MARK = `${STATE_DIR}dev`;
/** What `make images` (the offline kit) wrote: local stand-ins for the base images. */
const IMAGES_FILE = `${ROOT}.images.env`;
const BUILT = ['postgres', 'usersvc', 'edge', 'edge-port', 'mesh-ca', 'mesh-keeper'];

/** KEY=value lines of .images.env. */
export function parseImagesFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/**
 * The offline kit's images into this process's environment, where not set already: make up
 * records them in .env (scripts/lib/settings.ts), so that compose run by hand builds from them.
 */
export function useImagesFile(): void {
  if (!existsSync(IMAGES_FILE)) return;
  for (const [key, value] of Object.entries(parseImagesFile(readFileSync(IMAGES_FILE, 'utf8'))))
    process.env[key] ||= value;
}

/** The environment compose runs in: this process's, and what the mesh adds to it. */
export function composeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (existsSync(IMAGES_FILE))
    Object.assign(env, parseImagesFile(readFileSync(IMAGES_FILE, 'utf8')));
  if (!existsSync(ENV_FILE))
    Object.assign(env, { COMPOSE_FILE: MAIN_FILE, COMPOSE_PROJECT_NAME: PROJECT_NAME });
  if (existsSync(DEV_MARK)) env.COMPOSE_FILE = DEV_FILES;
  env.SERVICE_VERSION = serviceVersion(ROOT);
  return { ...env, ...extra };
}

let chosen: Promise<string[]> | undefined;

/** `docker compose` or `docker-compose`: the words that start a compose command here. */
export function composeCli(): Promise<string[]> {
  chosen ??= (async () => {
    const want = process.env.COMPOSE_CLI;
    if (want === 'v1') return ['docker-compose'];
    if (want === 'v2') return ['docker', 'compose'];
    if (want) throw new DockerError(`COMPOSE_CLI must be v1 or v2, got "${want}"`);
    try {
      await exec('docker', ['compose', 'version'], { timeout: 10_000 });
      return ['docker', 'compose'];
    } catch {
      return ['docker-compose'];
    }
  })();
  return chosen;
}

export interface ComposeOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** `compose ARGS`; its stdout. Failing, a DockerError with compose's last lines. */
export async function compose(args: string[], options: ComposeOptions = {}): Promise<string> {
  const [cmd, ...pre] = await composeCli();
  try {
    const done = await exec(cmd!, [...pre, ...args], {
      cwd: ROOT,
      env: composeEnv(options.env),
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeoutMs ?? 10 * 60_000,
    });
    return done.stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new DockerError(`${cmd} is not installed: install Docker Compose (v2 or v1)`);
    throw new DockerError(
      `compose ${args.join(' ')}: ${(e.stderr || e.message).trim().split('\n').slice(-5).join(' / ')}`,
    );
  }
}

/** `compose ARGS` on this terminal (its output as it comes: logs -f, ps, build). */
export async function composeShown(args: string[], options: ComposeOptions = {}): Promise<void> {
  const [cmd, ...pre] = await composeCli();
  await runShown(cmd!, [...pre, ...args], composeEnv(options.env));
}

/**
 * Builds the mesh's images (what changed). Behind a TLS-intercepting proxy, CA_FILE=/path/ca.pem
 * hands the build a CA to trust for `npm ci`, as .extra-ca.pem in the build context; a host
 * that trusts extra CAs for Node (NODE_EXTRA_CA_CERTS) passes them on.
 */
export async function buildImages(services = BUILT): Promise<void> {
  const ca = process.env.CA_FILE || process.env.NODE_EXTRA_CA_CERTS;
  const copy = `${ROOT}.extra-ca.pem`;
  if (ca && (!existsSync(copy) || !readFileSync(ca).equals(readFileSync(copy))))
    copyFileSync(ca, copy);
  await composeShown(['build', ...services]);
}
