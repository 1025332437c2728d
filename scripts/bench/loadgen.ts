// Builds the image usermesh/loadgen (scripts/bench/loadgen/): vegeta, compiled here from the Go
// module proxy at the version loadgen/go.mod pins, and Debian's wrk. Needs Go and Docker.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { docker, engineInfo } from '../lib/docker.js';
import { RolloutFailed } from '../lib/errors.js';
import { ROOT } from '../lib/paths.js';

const exec = promisify(execFile);
const DIR = `${ROOT}scripts/bench/loadgen`;

async function go(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    return (await exec('go', args, { cwd: DIR, env, timeout: 10 * 60_000 })).stdout.trim();
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new RolloutFailed('meshctl bench needs Go (https://go.dev/dl/) to build vegeta');
    throw new RolloutFailed(`go ${args[0]}: ${(e.stderr || e.message).trim().split('\n').at(-1)}`);
  }
}

/** Builds it (the base image from `env`, the offline kit's where there is one); what it holds. */
export async function buildLoadgen(env: NodeJS.ProcessEnv): Promise<string> {
  const arch = await engineInfo('Arch');
  const version = await go(['list', '-m', '-f', '{{.Version}}', 'github.com/tsenart/vegeta/v12']);
  const build = ['build', '-trimpath', '-ldflags', `-X main.Version=${version}`, '-o', 'vegeta'];
  await go([...build, 'github.com/tsenart/vegeta/v12'], {
    ...process.env,
    CGO_ENABLED: '0',
    GOOS: 'linux',
    GOARCH: arch,
  });
  const debian = env.DEBIAN_IMAGE || 'debian:bookworm-slim';
  await docker(
    ['build', '-q', '-t', 'usermesh/loadgen', '--build-arg', `DEBIAN_IMAGE=${debian}`, DIR],
    { timeoutMs: 10 * 60_000 },
  );
  const wrk = (
    await docker(['run', '--rm', 'usermesh/loadgen', 'sh', '-c', 'wrk -v 2>&1 | head -1'])
  ).trim();
  return `usermesh/loadgen: vegeta ${version}, ${wrk.split(' ').slice(0, 2).join(' ')}`;
}
