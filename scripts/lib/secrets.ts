// The install's secrets, in secrets/ (git-ignored): the mesh CA, each service's certificate,
// the edge's HTTPS certificate, the database passwords and the token signing keys. The mesh CA
// (scripts/mesh-ca/) runs in a one-off container with no network, so the host needs neither
// openssl nor root.
//   init            create what is missing (meshctl up does this)
//   rotate          new certificates for every service (meshctl rotate-certs)
//   rotate-token-keys  sign tokens with the next key (meshctl rotate-keys)
//   static DAYS     the long-lived set for Swarm and Kubernetes (secrets/static/)
// CERT_DAYS (default 1) sets a certificate's lifetime. Every call hands the CA the edge's
// HTTPS settings (lib/edge-tls.ts): your certificate, checked, or the names for its own.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { composeEnv } from './compose.js';
import { docker } from './docker.js';
import { userCertificate } from './edge-tls.js';
import { runShown } from './run.js';
import { ROOT } from './paths.js';
import { loadSettings } from './settings.js';

export const SECRETS_DIR = `${ROOT}secrets`;
/** The CA's certificate, readable by anyone: what clients of the edge's HTTPS trust. */
export const CA_FILE = `${SECRETS_DIR}/ca.pem`;

/** The public keys tokens are checked against, readable by anyone (the edge mounts it). */
export const JWKS_FILE = `${SECRETS_DIR}/jwks.json`;

/**
 * Which token keys the mesh runs with: a digest of jwks.json. The replicas and edges carry it
 * (the mesh.token-keys label), so a rotation (meshctl rotate-keys) is a change make up rolls.
 */
export const tokenKeysVersion = (): string =>
  createHash('sha256').update(readFileSync(JWKS_FILE)).digest('hex').slice(0, 12);

export async function meshCa(args: string[], { toStderr = false } = {}): Promise<void> {
  const settings = loadSettings();
  const own = userCertificate(settings);
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
  // As hardened as its compose service: root only to give files to the services' users.
  const run = ['run', '--rm', '--network', 'none', '-v', `${SECRETS_DIR}:/secrets`];
  run.push('--cap-drop', 'ALL', '--cap-add', 'CHOWN', '--cap-add', 'DAC_OVERRIDE');
  run.push('--cap-add', 'FOWNER', '--security-opt', 'no-new-privileges', '--read-only');
  run.push('--tmpfs', '/tmp');
  const env = { ...process.env, EDGE_HOSTNAMES: settings.EDGE_HOSTNAMES ?? '' };
  run.push('-e', 'CERT_DAYS', '-e', 'EDGE_HOSTNAMES');
  if (own) {
    run.push('-v', `${own.cert}:/in/cert.pem:ro`, '-v', `${own.key}:/in/key.pem:ro`);
    run.push('-e', 'EDGE_TLS_CERT=/in/cert.pem', '-e', 'EDGE_TLS_KEY=/in/key.pem');
  }
  await runShown('docker', [...run, 'usermesh/mesh-ca:latest', ...args], env, { toStderr });
}
