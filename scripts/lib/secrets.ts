// The install's secrets, in secrets/ (git-ignored): the mesh CA, each service's certificate,
// the database passwords and the token secret. The mesh CA (scripts/mesh-ca/) runs in a
// one-off container with no network, so the host needs neither openssl nor root.
//   init            create what is missing (meshctl up does this)
//   rotate          new certificates for every service (meshctl rotate-certs)
//   static DAYS     the long-lived set for Swarm and Kubernetes (secrets/static/)
// CERT_DAYS (default 1) sets a certificate's lifetime.
import { mkdirSync } from 'node:fs';
import { composeEnv } from './compose.js';
import { docker } from './docker.js';
import { ROOT, runShown } from './run.js';

export const SECRETS_DIR = `${ROOT}secrets`;

export async function meshCa(args: string[], { toStderr = false } = {}): Promise<void> {
  mkdirSync(SECRETS_DIR, { recursive: true, mode: 0o700 });
  const debian = composeEnv().DEBIAN_IMAGE || 'debian:bookworm-slim';
  await docker(
    [
      'build',
      '-q',
      '-t',
      'usermesh/mesh-ca:latest',
      '--build-arg',
      `DEBIAN_IMAGE=${debian}`,
      `${ROOT}scripts/mesh-ca`,
    ],
    { timeoutMs: 10 * 60_000 },
  );
  const run = [
    'run',
    '--rm',
    '--network',
    'none',
    '-e',
    'CERT_DAYS',
    '-v',
    `${SECRETS_DIR}:/secrets`,
  ];
  await runShown('docker', [...run, 'usermesh/mesh-ca:latest', ...args], process.env, { toStderr });
}
