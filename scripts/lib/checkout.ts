// Which checkout the running mesh was started from. Compose finds a project's containers and
// volumes by its name alone, so a second clone's `meshctl up` would roll onto the first one's
// mesh with other secrets (another CA, another database password) and fail halfway.
import { realpathSync } from 'node:fs';
import { docker, DockerError, PROJECT } from './docker.js';
import { UsageError } from './errors.js';
import { ROOT } from './paths.js';

const WORKING_DIR = 'com.docker.compose.project.working_dir';

/** The compose files' folder of each checkout with containers of the project on the engine. */
export async function meshCheckouts(): Promise<string[]> {
  const out = await docker([
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--filter',
    'label=com.docker.compose.container-number',
    '--format',
    `{{.Label "${WORKING_DIR}"}}`,
  ]);
  return [...new Set(out.split('\n').filter(Boolean))].sort();
}

const real = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return path; // that checkout is gone
  }
};

/** A checkout other than this one whose mesh is on the engine, or null. */
export async function otherCheckout(): Promise<string | null> {
  const here = real(`${ROOT}compose`);
  const other = (await meshCheckouts()).find((dir) => real(dir) !== here);
  return other ? other.replace(/\/compose$/, '') : null;
}

/**
 * Stops a command that would take over another checkout's mesh: one line, exit 2. With no
 * engine to ask there is no mesh to take over: the base images' step says what is missing.
 */
export async function refuseOtherCheckout(): Promise<void> {
  let other: string | null;
  try {
    other = await otherCheckout();
  } catch (err) {
    if (err instanceof DockerError) return;
    throw err;
  }
  if (!other) return;
  throw new UsageError(
    `a mesh started from another checkout (${other}) is on this engine, with that ` +
      `install's secrets and data; make clean (there or here) removes it, its database ` +
      `too (make backup there first), then make up here`,
  );
}
