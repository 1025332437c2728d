// make fuzz against the real mesh: schemathesis, driven by the OpenAPI document the service
// serves, sends hundreds of generated requests through the edge with all its checks on.
import test from 'ava';
import { make } from './helpers.js';

// From a mesh of its own, as the other suites start: not whatever the suite before left running.
test.before(async () => {
  await make('clean');
});

test.after.always(async () => {
  await make('clean');
});

test('make fuzz: every generated request passes every schemathesis check', async (t) => {
  // make fails when any check fails: then schemathesis's report (on stdout) is the failure.
  let printed: string;
  try {
    printed = await make('fuzz');
  } catch (err) {
    return t.fail(`make fuzz failed: ${String((err as { stdout?: string }).stdout).slice(-6000)}`);
  }
  const summary = /(\d+) generated, (\d+) passed/.exec(printed);
  t.truthy(summary, printed.slice(-2000));
  t.log(summary![0]);
  t.true(Number(summary![1]) >= 300, 'a real amount of fuzzing');
  t.is(summary![1], summary![2]);
  for (const phase of ['Coverage', 'Fuzzing', 'Stateful'])
    t.regex(printed, new RegExp(`✅ ${phase}`), phase);
});
