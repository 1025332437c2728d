// Which environment variables the project reads, found in its sources by the ways they are
// read, and which ones docs/reference/configuration.md names: the two must be the same set.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ROOT } from '../lib/paths.js';

/** What every process has, or Node and the shell set: not the project's to document. */
const STANDARD = new Set(['PATH', 'HOME', 'PWD', 'USER', 'TERM', 'CI']);

const NAME = '[A-Z][A-Z0-9_]*';

/** How each kind of file reads a variable; each pattern's first group is the name. */
const READS: { files: RegExp; patterns: RegExp[] }[] = [
  {
    files: /\.ts$/,
    patterns: [
      new RegExp(`process\\.env\\.(${NAME})`, 'g'),
      new RegExp(`\\benv\\.(${NAME})\\b`, 'g'),
      new RegExp(`\\benv\\[['"](${NAME})['"]\\]`, 'g'),
      new RegExp(`\\(env, '(${NAME})'`, 'g'), // the service's config.ts
      new RegExp(`\\benv: '(${NAME})'`, 'g'), // a meshctl flag's make variable
    ],
  },
  // A shell variable with a default, or required, is one the caller may set.
  {
    files: /(\.sh|Dockerfile|^\.ci\/run)$/,
    patterns: [new RegExp(`\\$\\{(${NAME}):?[-=?+]`, 'g'), new RegExp(`^ARG (${NAME})`, 'gm')],
  },
  { files: /^compose\/.*\.ya?ml$/, patterns: [new RegExp(`\\$\\{(${NAME})`, 'g')] },
  {
    files: /^Makefile$/,
    patterns: [new RegExp(`^export (${NAME}) \\?=`, 'gm'), /\$\((ARGS)\)/g],
  },
];

/** The repository's tracked files; with { tests: false }, tests and fixtures left out. */
export function sourceFiles(root = ROOT, { tests = false } = {}): string[] {
  return execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && (tests || !/(^|\/)(test|test-swarm|test-lab|fixtures)\//.test(f)));
}

/** Every variable the sources read, with one file that reads it. */
export function variablesRead(root = ROOT): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sourceFiles(root)) {
    const kind = READS.find((k) => k.files.test(file));
    if (!kind) continue;
    const text = readFileSync(`${root}${file}`, 'utf8');
    for (const pattern of kind.patterns)
      for (const m of text.matchAll(pattern))
        if (!STANDARD.has(m[1]!) && !found.has(m[1]!)) found.set(m[1]!, file);
  }
  return found;
}

/** The variables a reference page names: each `NAME` in the first cell of a table row. */
export function variablesNamed(markdown: string): Set<string> {
  const named = new Set<string>();
  for (const line of markdown.split('\n')) {
    const first = /^\|([^|]+)\|/.exec(line)?.[1];
    if (!first) continue;
    for (const m of first.matchAll(new RegExp(`\`(${NAME})\``, 'g'))) named.add(m[1]!);
  }
  return named;
}

/** Whether a name occurs as a word in a file but a page (the reverse check: read somewhere). */
export function occursInSources(name: string, root = ROOT): boolean {
  const word = new RegExp(`\\b${name}\\b`);
  return sourceFiles(root, { tests: true })
    .filter((f) => !f.endsWith('.md'))
    .some((f) => word.test(readFileSync(`${root}${f}`, 'utf8')));
}
