// The doc-test: every shell command of README.md and docs/ (the pages of DOC_PAGES, in that
// order), read from the pages themselves (scripts/doc-test/), run as a reader would, from the
// repository root, against the mesh those commands bring up; each answer checked against what
// the page shows. A page edit that breaks a command fails here.
import { readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import {
  DOC_PAGES,
  jsonMismatch,
  linesMismatch,
  pageBlocks,
} from '../../scripts/doc-test/readme.js';
import { runCommands, type Result } from '../../scripts/doc-test/shell.js';
import { make, root } from './helpers.js';

test.before(async () => {
  await make('clean');
});

test.after.always(async () => {
  await make('clean');
});

/** What is wrong with one command's result, by the README's rules (scripts/doc-test/readme.ts). */
function problems({ command, stdout, exitCode, statuses }: Result): string[] {
  const found: string[] = [];
  const { expected } = command;
  if (command.interrupt ? exitCode !== 124 || !stdout.trim() : exitCode !== 0)
    found.push(`exit status ${exitCode}`);
  const wantStatus = expected.status;
  const bad = statuses.filter((s) => (wantStatus ? s !== wantStatus : s < 200 || s > 299));
  if (bad.length) found.push(`HTTP ${bad.join(', ')}, the page says ${wantStatus ?? '2xx'}`);
  if (expected.json) {
    const answers = stdout.split('\n').filter((l) => l.startsWith('{'));
    if (!answers.length) found.push('no JSON answer');
    for (const line of answers) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        found.push(`not JSON: ${line}`);
        continue;
      }
      const why = jsonMismatch(expected.json, parsed);
      if (why) found.push(why);
    }
  }
  if (expected.lines) {
    const why = linesMismatch(expected.lines, stdout);
    if (why) found.push(why);
  }
  return found;
}

async function runPage(t: ExecutionContext, page: string) {
  const { blocks } = pageBlocks(readFileSync(`${root}/${page}`, 'utf8'));
  t.true(blocks.length > 0, `${page} has sh blocks to run`);
  for (const block of blocks) {
    const results = await runCommands(block.commands, { cwd: root, timeoutMs: 15 * 60_000 });
    t.is(
      results.length,
      block.commands.length,
      `${page} line ${block.line}: the shell stopped after ${results.length} of ${block.commands.length} commands`,
    );
    for (const result of results) {
      const found = problems(result);
      const shown = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-12).join('\n');
      t.deepEqual(
        found,
        [],
        `${page} line ${result.command.line}: ${result.command.text}\n${shown}`,
      );
    }
  }
}

for (const page of DOC_PAGES) test.serial(`${page}, as written`, (t) => runPage(t, page));
