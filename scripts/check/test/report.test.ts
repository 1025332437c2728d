// meshctl check's report: ✓ ‼ ✗ lines with their hints, a last line that counts, and JSON whose
// ok is false only when a check failed (a warning does not fail it).
import test from 'ava';
import { passed, renderJson, renderResults, type Result } from '../report.js';

const results: Result[] = [
  { id: 'engine', status: 'ok', detail: 'Docker engine 20.10.24 answers' },
  {
    id: 'limits',
    status: 'warn',
    detail: 'rate limits lifted to bench values',
    hint: 'meshctl up puts the configured ones back',
  },
  {
    id: 'secrets',
    status: 'fail',
    detail: 'secrets/ is mode 0644, not 0700',
    hint: 'chmod 700 secrets',
  },
];

test('one line per check, the hint indented under a warning or a failure, and a count', (t) => {
  t.is(
    renderResults(results),
    [
      '✓ Docker engine 20.10.24 answers',
      '‼ rate limits lifted to bench values',
      '    meshctl up puts the configured ones back',
      '✗ secrets/ is mode 0644, not 0700',
      '    chmod 700 secrets',
      '',
      '1 of 3 checks failed',
    ].join('\n'),
  );
  t.regex(renderResults(results.slice(0, 2)), /all 2 checks hold$/);
});

test('colour only when asked (a terminal): the mark painted, the words as they are', (t) => {
  t.false(renderResults(results).includes('\x1b['));
  t.true(renderResults(results, true).startsWith('\x1b[32m✓\x1b[0m Docker engine'));
});

test('JSON: ok is false only when one failed; a warning holds', (t) => {
  t.false(passed(results));
  t.true(passed(results.slice(0, 2)));
  const json = JSON.parse(renderJson(results)) as { ok: boolean; checks: Result[] };
  t.false(json.ok);
  t.deepEqual(
    json.checks.map((c) => c.status),
    ['ok', 'warn', 'fail'],
  );
});
