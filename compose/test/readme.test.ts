// The README's doc-test: every shell command of its walk-through, Inspecting and API sections,
// and of the doc-tested pages of docs/ (Keeping it running, The operator CLI), read from the pages themselves
// (scripts/doc-test/), run in order as a reader would, from the repository root, against the mesh those commands bring up; each
// answer checked against what the README shows. A README edit that breaks a command fails here.
import { readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import {
  DOC_PAGES,
  jsonMismatch,
  linesMismatch,
  readmeBlocks,
  type Block,
} from '../../scripts/doc-test/readme.js';
import { runCommands, type Result } from '../../scripts/doc-test/shell.js';
import { make, root } from './helpers.js';

const blocks = [
  ...readmeBlocks(readFileSync(`${root}/README.md`, 'utf8')),
  ...Object.entries(DOC_PAGES).flatMap(([page, sections]) =>
    readmeBlocks(readFileSync(`${root}/${page}`, 'utf8'), sections),
  ),
];

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
  if (bad.length) found.push(`HTTP ${bad.join(', ')}, the README says ${wantStatus ?? '2xx'}`);
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

async function runSection(t: ExecutionContext, section: string) {
  const mine: Block[] = blocks.filter((b) => b.section.startsWith(section));
  t.true(mine.length > 0, `the README has a "${section}" section with sh blocks`);
  for (const block of mine) {
    const results = await runCommands(block.commands, { cwd: root, timeoutMs: 15 * 60_000 });
    t.is(
      results.length,
      block.commands.length,
      `README line ${block.line}: the shell stopped after ${results.length} of ${block.commands.length} commands`,
    );
    for (const result of results) {
      const found = problems(result);
      const shown = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-12).join('\n');
      t.deepEqual(
        found,
        [],
        `README line ${result.command.line}: ${result.command.text}\n${shown}`,
      );
    }
  }
}

test.serial('the walk-through, as written', (t) => runSection(t, 'The walk-through'));
test.serial(
  'Keeping it running, as written: compose by hand, make check, a backup restored after make clean',
  (t) => runSection(t, 'Keeping it running'),
);
test.serial("the operator CLI, as written: meshctl's help, one command's, and meshctl check", (t) =>
  runSection(t, 'The operator CLI'),
);
test.serial('HTTPS at the edge, as written: curl --cacert secrets/ca.pem', (t) =>
  runSection(t, 'Serving HTTPS'),
);
test.serial('Inspecting the mesh, as written', (t) => runSection(t, 'Inspecting the mesh'));
test.serial('the API, as written', (t) => runSection(t, 'The API'));
