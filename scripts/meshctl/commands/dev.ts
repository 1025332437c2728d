// meshctl dev: the mesh with its replicas running this checkout's sources, reloading on change.
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, type Command } from '../../lib/cli.js';
import { ROOT } from '../../lib/paths.js';
import { up } from '../../rollout/verbs.js';
import { prepare } from '../prepare.js';

/**
 * A token key of its own for the service alone, in a private temporary directory, as the
 * install's CA makes them (scripts/mesh-ca/mesh-ca.sh): a P-256 key, and a JWKS naming it by
 * its RFC 7638 thumbprint (the service refuses to start if that does not match its key).
 */
function devTokenKeys(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'usersvc-dev-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, kty, x, y } = publicKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  const jwks = { keys: [{ kty, crv, x, y, kid, use: 'sig', alg: 'ES256' }] };
  writeFileSync(join(dir, 'key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }), {
    mode: 0o600,
  });
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
  return { TOKEN_KEY_FILE: join(dir, 'key.pem'), TOKEN_JWKS_FILE: join(dir, 'jwks.json') };
}

/** The service alone on the host: tsx watch, with a token key and a quick scrypt if unset. */
function local(): Promise<void> {
  const env = {
    ...process.env,
    ...(process.env.TOKEN_KEY_FILE ? {} : devTokenKeys()),
    SCRYPT_COST: process.env.SCRYPT_COST || '14',
  };
  const child = spawn('npm', ['run', 'dev'], { cwd: ROOT, env, stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', () => resolve()));
}

export const command: Command = {
  name: 'dev',
  failure: 'rollout failed',
  group: 'use',
  summary: 'the mesh, its replicas running user-service/src and reloading it on change',
  flags: [
    { name: 'replicas', value: 'N', env: 'N', help: 'user-service replicas' },
    {
      name: 'local',
      help: 'the service alone on this host instead (needs a PostgreSQL: PG* or DATABASE_URL)',
    },
  ],
  about: `Rolls the replicas onto compose/dev.yml: each runs the sources of this checkout with
tsx watch and reloads on every edit (meshctl logs shows it). meshctl up leaves dev mode.`,
  examples: ['meshctl dev', 'meshctl dev --local', 'make dev'],
  async run({ flags }) {
    if (flags.local) return local();
    const replicas = count('--replicas', flags.replicas);
    await prepare({ dev: true });
    await up({ replicas });
  },
};
