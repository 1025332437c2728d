// The service version a tree builds: git's short commit of what goes into the image, marked
// dirty (with a hash of the changes) when those files changed; the environment wins; "dev"
// outside a checkout. On a throwaway git repository of its own.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { serviceVersion } from '../version.js';

test("the commit, then .dirty-<hash of the change>, a new hash for each edit; only the image's inputs count", (t) => {
  const dir = `${mkdtempSync(`${tmpdir()}/version-`)}/`;
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q');
  mkdirSync(`${dir}user-service`);
  writeFileSync(`${dir}user-service/a.ts`, 'one');
  git('add', '.');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'one');
  const commit = git('log', '-1', '--format=%h');
  t.is(serviceVersion(dir, {}), commit);
  writeFileSync(`${dir}README.md`, 'not in the image');
  t.is(serviceVersion(dir, {}), commit, 'a file outside the image changes nothing');
  writeFileSync(`${dir}user-service/a.ts`, 'two');
  const dirty = serviceVersion(dir, {});
  t.regex(dirty, new RegExp(`^${commit}\\.dirty-[0-9a-f]{8}$`));
  writeFileSync(`${dir}user-service/b.ts`, 'new file');
  t.not(serviceVersion(dir, {}), dirty, 'an untracked file is a change too');
  t.is(serviceVersion(dir, { SERVICE_VERSION: 'v9' }), 'v9');
  t.is(serviceVersion(mkdtempSync(`${tmpdir()}/no-git-`), {}), 'dev');
});
