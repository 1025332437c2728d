// Runs a program on this terminal (its output as it comes), from the repository root: the
// scripts that stay bash (the offline image kit, the swarm lab), npm, compose's own output.
import { spawn, type StdioOptions } from 'node:child_process';
import { RolloutFailed } from './errors.js';
import { ROOT } from './paths.js';

/**
 * Runs `cmd` and waits for it; a RolloutFailed naming it if it exits non-zero. With toStderr,
 * its output goes to our stderr, where our stdout is the answer (YAML for kubectl).
 */
export async function runShown(
  cmd: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  { toStderr = false } = {},
): Promise<void> {
  const stdio: StdioOptions = toStderr ? ['inherit', 2, 2] : 'inherit';
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT' ? new RolloutFailed(`${cmd} is not installed or not on PATH`) : err,
      ),
    );
    // Ctrl-C at a follow (logs -f, stats --watch) is how one stops it: not a failure.
    child.on('exit', (c, signal) => resolve(signal === 'SIGINT' ? 0 : (c ?? 1)));
  });
  if (code !== 0)
    throw new RolloutFailed(`${[cmd, ...args].join(' ').slice(0, 80)} exited ${code}`);
}
