// The version of the user service this tree builds: the short commit of the last change to
// what goes into its image, with ".dirty-<hash>" when those files have uncommitted changes (a
// hash of the changes, so every edit gets a version of its own). SERVICE_VERSION in the
// environment wins; outside a git checkout it is "dev".
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** What goes into the service's image. */
export const INPUTS = [
  'user-service',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'envoy/sidecar.yaml',
  'envoy/sds',
];

export function serviceVersion(
  root: string,
  env: Record<string, string | undefined> = process.env,
): string {
  if (env.SERVICE_VERSION) return env.SERVICE_VERSION;
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  let commit: string;
  try {
    commit = git('log', '-1', '--format=%h', '--', ...INPUTS).trim();
  } catch {
    return 'dev';
  }
  if (!commit) return 'dev';
  const diff = git('diff', 'HEAD', '--', ...INPUTS);
  const untracked = git('ls-files', '-o', '--exclude-standard', '--', ...INPUTS)
    .split('\n')
    .filter(Boolean);
  if (!diff && untracked.length === 0) return commit;
  const hash = createHash('sha256').update(diff);
  for (const file of untracked) hash.update(readFileSync(`${root}/${file}`));
  return `${commit}.dirty-${hash.digest('hex').slice(0, 8)}`;
}
