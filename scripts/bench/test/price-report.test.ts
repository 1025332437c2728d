// The price list's arithmetic and tables, on the results of a real run (two rounds of the
// shipped pair, the mTLS floor and the pair without its access log, recorded here).
import { readFileSync } from 'node:fs';
import test from 'ava';
import { difference, renderAb, renderPriceList, spreadOf, summarise } from '../price-report.js';
import { rotated, type PriceResults, type PriceRun } from '../price-run.js';

const fixture = (): PriceResults =>
  JSON.parse(
    readFileSync(new URL('fixtures/price-list-ab.json', import.meta.url), 'utf8'),
  ) as PriceResults;

test('a figure over rounds: the median, and half the range as its spread', (t) => {
  t.deepEqual(spreadOf([3, 1, 2]), { median: 2, spread: 1, rounds: 3 });
  t.deepEqual(spreadOf([1, 4]), { median: 2.5, spread: 1.5, rounds: 2 });
  t.deepEqual(spreadOf([7]), { median: 7, spread: 0, rounds: 1 });
});

test('a difference is taken round by round: a drift of the machine between rounds cancels out', (t) => {
  // The machine drifts by 100 us from round to round; b always costs 10 us less than a.
  const results = fixture();
  const run = (variant: string, round: number, us: number): PriceRun => ({
    ...results.runs[0]!,
    variant,
    round,
    atRate: { ...results.runs[0]!.atRate, edgeUs: us, sidecarUs: 0 },
  });
  results.variants = [{ name: 'a' }, { name: 'b' }];
  results.runs = [0, 1, 2].flatMap((r) => [run('a', r, 500 + 100 * r), run('b', r, 490 + 100 * r)]);
  t.like(difference(results, 'a', 'b', 'cpuAtRate'), {
    value: 10,
    noise: 0,
    within: false,
    rounds: 3,
    agreeing: 3,
  });
  // Apart, the two medians' spreads (100 us each) would have hidden it.
  const s = summarise(results);
  t.is(s.get('a')!.cpuAtRate.spread, 100);
  // One round tells nothing apart from noise.
  results.runs = [run('a', 0, 500), run('b', 0, 400)];
  t.true(difference(results, 'a', 'b', 'cpuAtRate').within);
});

test('each variant summed over its rounds: CPU per request is the edge and the sidecar together', (t) => {
  const s = summarise(fixture()).get('shipped')!;
  // Rounds 0 and 1 of the shipped pair: 476 + 380.6 and 520.1 + 406 us per request.
  t.is(Math.round(s.cpuAtRate.median * 10) / 10, 891.4);
  t.is(Math.round(s.cpuAtRate.spread * 10) / 10, 34.8);
  t.is(s.cpuAtRate.rounds, 2);
});

test('the list prints each configuration, the price of the feature it measured, the proofs and the targets', (t) => {
  const text = renderPriceList(fixture());
  t.regex(text, /^The mesh's price list, 2026-12-07: 2 cores/);
  t.regex(text, /^shipped +891 ± 35 \(498 \+ 393\)/m);
  t.regex(text, /^access-log +28\.7 ±0\.1 \(2\/2 rounds\)/m);
  t.regex(text, /the shipped pair has each of the 1 features, and each variant lacks its own/);
  t.regex(
    text,
    /^CPU per request at 1000 rps at most 1\.10 x the mTLS floor's +1\.22 x .* missed$/m,
  );
  t.regex(text, /^sidecar private memory under 20 MB +22\.4 MB +missed$/m);
});

test('a variant that still has its feature is said loudly', (t) => {
  const results = fixture();
  results.proofs[0]!.inVariant = true;
  t.regex(renderPriceList(results), /NOT as expected on the running proxies: access-log/);
});

test('the quick A/B: one line per variant against the shipped pair, with its spread', (t) => {
  t.regex(
    renderAb(fixture()),
    /^A\/B no-access-log vs shipped \(2 rounds, paired\): CPU per request -28\.7 ± 0\.1 \(2\/2 rounds\) us at 1000 rps, \+79\.5 ± 1\.6 \(2\/2 rounds\) us at the highest rps; p99 \+3\.93 ± 0\.59 \(2\/2 rounds\) ms at 200 rps$/m,
  );
});

test('each round starts one further along the list, so no variant always runs first', (t) => {
  t.deepEqual(rotated(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  t.deepEqual(rotated(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  t.deepEqual(rotated(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
});
