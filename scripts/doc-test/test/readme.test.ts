// The doc-test's reading of the README and its matching of answers, without a mesh; and its
// shell runner on real bash.
import { readFileSync } from 'node:fs';
import test from 'ava';
import {
  DOC_PAGES,
  pageBlocks,
  jsonMismatch,
  linePattern,
  linesMismatch,
  parseCommands,
  parseExpected,
  parseJsonSample,
} from '../readme.js';
import { runCommands } from '../shell.js';
import { docPages } from '../pages.js';
import { ROOT } from '../../lib/paths.js';

const read = (page: string) => readFileSync(`${ROOT}${page}`, 'utf8');

test('a comment under a command is its expected answer only when it is a status and/or JSON', (t) => {
  t.deepEqual(parseExpected('201 {"ok":true,...}'), {
    status: 201,
    json: { fields: { ok: true }, open: true },
  });
  t.deepEqual(parseExpected('{"ok":true}'), { json: { fields: { ok: true }, open: false } });
  t.deepEqual(parseExpected('404'), { status: 404 });
  t.is(parseExpected('    docker-compose scale usersvc=3'), undefined);
  t.is(parseExpected('404 from the edge itself'), undefined);
  t.throws(() => parseExpected('200 {"ok":tru}'), { message: /not JSON/ });
});

test('commands: continuation lines join, expectations attach to the command above, Ctrl-C ones are marked', (t) => {
  const commands = parseCommands(
    [
      "curl -s -X PUT 127.0.0.1:8000/user/alice -H 'content-type: application/json' \\",
      '     -d \'{"fullname": "Alice", "password": "alicerules"}\'',
      '# 201 {"ok":true,"username":"alice",...}',
      '',
      'make stats ARGS=--watch     # refresh every 2 s (Ctrl-C ends)',
      '#     a remark, not an answer',
    ],
    10,
  );
  t.is(commands.length, 2);
  t.is(commands[0]!.line, 10);
  t.true(commands[0]!.text.includes('\n     -d'));
  t.deepEqual(commands[0]!.expected, {
    status: 201,
    json: { fields: { ok: true, username: 'alice' }, open: true },
  });
  t.true(commands[1]!.interrupt);
  t.deepEqual(commands[1]!.expected, {});
});

test('JSON answers: run-dependent fields and "..." strings are only checked to be there; a closed sample allows no more fields', (t) => {
  const sample = parseJsonSample(
    '{"ok":true,"username":"alice","uuid":"0C3F...","hostname":"..."}',
  );
  t.is(
    jsonMismatch(sample, { ok: true, username: 'alice', uuid: 'AB12', hostname: 'c0ffee' }),
    undefined,
  );
  t.regex(
    jsonMismatch(sample, { ok: true, username: 'bob', uuid: 'AB12', hostname: 'x' })!,
    /"username" is "bob"/,
  );
  t.regex(jsonMismatch(sample, { ok: true, username: 'alice', hostname: 'x' })!, /no "uuid"/);
  t.regex(
    jsonMismatch(sample, { ok: true, username: 'alice', uuid: 'A', hostname: 'x', extra: 1 })!,
    /does not show: extra/,
  );
  t.is(jsonMismatch(parseJsonSample('{"ok":true,...}'), { ok: true, extra: 1 }), undefined);
  t.regex(jsonMismatch(sample, 'text')!, /not a JSON object/);
});

test('sample output lines match whatever the numbers, addresses and compose version', (t) => {
  const row = linePattern(
    'usermesh_usersvc_1  192.168.224.3:8080  healthy        101   101  1.7 ms         8.14 ms  1         in 22.9 h     0/0',
  );
  t.regex(
    'usermesh-usersvc-3  172.18.0.7:8080     healthy        9     9    2.25 ms        10 ms    0         in 23 h       0/0',
    row,
  );
  t.notRegex(
    'usermesh-usersvc-3  172.18.0.7:8080     unhealthy      9     9    2.25 ms        10 ms    0         in 23 h       0/0',
    row,
  );
  t.regex(
    'connect failures 0, health-check failures 0, outlier ejections 0   upstream p50 -, p99 -',
    linePattern(
      'connect failures 0, health-check failures 2, outlier ejections 0   upstream p50 4.08 ms, p99 39.5 ms',
    ),
  );
  const versioned = linePattern('usermesh-usersvc-1  b4e8921  172.19.0.4:8080  healthy');
  t.regex('usermesh_usersvc_2  022c1c2.dirty-0a1b2c3d  10.0.0.9:8080  healthy', versioned);
  t.is(linesMismatch(['a 1', 'b 2'], 'x\na 7\ny\nb 3.5'), undefined);
  t.regex(linesMismatch(['b 2', 'a 1'], 'a 7\nb 3')!, /no line like: a 1/);
});

test('every page with shell blocks is run, each block either run or marked not run with why', (t) => {
  const pages = docPages();
  const withBlocks = pages.filter((p) => pageBlocks(read(p)).blocks.length > 0);
  t.deepEqual(
    withBlocks.filter((p) => !DOC_PAGES.includes(p)),
    [],
    'pages whose blocks the doc-test would not run: add them to DOC_PAGES',
  );
  const all = DOC_PAGES.map((p) => pageBlocks(read(p)));
  const commands = all.flatMap((p) => p.blocks.flatMap((b) => b.commands));
  t.true(commands.length >= 60, `${commands.length} commands`);
  t.is(all[0]!.blocks[0]!.commands[0]!.text.split(' ')[0], 'make');
  t.true(commands.filter((c) => c.expected.json).length >= 20, 'answers are shown, and so checked');
  t.true(
    commands.some((c) => c.expected.lines),
    'a sample output block is checked',
  );
  // What is not run says why, and which test runs it instead.
  const notRun = pages.flatMap((p) => pageBlocks(read(p)).notRun.map((n) => ({ p, ...n })));
  t.deepEqual(
    notRun.filter((n) => !/test|make checks/.test(n.reason)).map((n) => `${n.p}:${n.line}`),
    [],
    'a block not run names the test that covers it',
  );
});

test('a block indented in a list item is run too, its lines as written', (t) => {
  const page = '# T\n\n1. Limits:\n\n   ```sh\n   X=1 make up   # live\n   ```\n';
  const { blocks } = pageBlocks(page);
  t.is(blocks.length, 1);
  t.is(blocks[0]!.commands[0]!.text, 'X=1 make up   # live');
});

test('a not-run marker needs its reason, and a sh block after it', (t) => {
  const page = '# T\n\n<!-- doc-test: not run: needs a cluster -->\n```sh\nkubectl get pods\n```\n';
  t.deepEqual(pageBlocks(page), { blocks: [], notRun: [{ line: 4, reason: 'needs a cluster' }] });
  t.throws(() => pageBlocks('<!-- doc-test: not run -->\n```sh\nx\n```\n'), {
    message: /says why/,
  });
});

test("the runner: one shell for a block, each command's output, exit status and curl statuses", async (t) => {
  const commands = parseCommands([
    'X=5',
    'echo "{\\"x\\":$X}"',
    'false',
    'printf no-newline',
    'curl -s 127.0.0.1:1/ || echo refused',
  ]);
  const results = await runCommands(commands, { cwd: '/' });
  t.deepEqual(
    results.map((r) => r.exitCode),
    [0, 0, 1, 0, 0],
  );
  t.is(results[1]!.stdout, '{"x":5}\n');
  t.is(results[3]!.stdout, 'no-newline');
  t.is(results[4]!.stdout, 'refused\n');
  t.deepEqual(results[4]!.statuses, [0]);
});
