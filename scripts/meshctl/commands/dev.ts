// meshctl dev: the mesh with its replicas running this checkout's sources, reloading on change.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { count, type Command } from '../../lib/cli.js';
import { ROOT } from '../../lib/run.js';
import { up } from '../../rollout/verbs.js';
import { prepare } from '../prepare.js';

/** The service alone on the host: tsx watch, with a token secret and a quick scrypt if unset. */
function local(): Promise<void> {
  const env = {
    ...process.env,
    TOKEN_SECRET: process.env.TOKEN_SECRET || randomBytes(32).toString('hex'),
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
