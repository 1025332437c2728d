// The price list's tables, from price-run.ts's results: each configuration's figures (the
// median of its rounds, and their spread: half the distance from the lowest to the highest),
// then each feature's price (the shipped pair less the pair without it, round by round, its
// median and spread) said to be within the noise when it is no bigger than its spread, then
// the targets.
import { formatTable } from '../lib/table.js';
import type { PriceResults, PriceRun } from './price-run.js';
import { Failure } from '../lib/errors.js';

/** A figure over the rounds: its median and its spread (half of max - min; 0 for one round). */
export interface Spread {
  median: number;
  spread: number;
  rounds: number;
}

export function spreadOf(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 ? sorted[mid]! : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  const spread = sorted.length > 1 ? (sorted.at(-1)! - sorted[0]!) / 2 : 0;
  return { median, spread, rounds: sorted.length };
}

/** What the tables read of one run. */
const FIGURES = {
  cpuAtRate: (r: PriceRun) => r.atRate.edgeUs + r.atRate.sidecarUs,
  edgeAtRate: (r: PriceRun) => r.atRate.edgeUs,
  sidecarAtRate: (r: PriceRun) => r.atRate.sidecarUs,
  cpuAtMax: (r: PriceRun) => r.max.edgeUs + r.max.sidecarUs,
  maxRps: (r: PriceRun) => r.max.result.rps,
  p50: (r: PriceRun) => r.latency.result.latencyMs.p50,
  p99: (r: PriceRun) => r.latency.result.latencyMs.p99,
  sidecarMB: (r: PriceRun) => r.memoryMB.sidecar,
  edgeMB: (r: PriceRun) => r.memoryMB.edge,
} as const;
export type Figure = keyof typeof FIGURES;

/** Each variant's figures over its rounds. */
export function summarise(results: PriceResults): Map<string, Record<Figure, Spread>> {
  const out = new Map<string, Record<Figure, Spread>>();
  for (const { name } of results.variants) {
    const runs = results.runs.filter((r) => r.variant === name);
    if (runs.length === 0) continue;
    out.set(
      name,
      Object.fromEntries(
        Object.entries(FIGURES).map(([figure, read]) => [figure, spreadOf(runs.map(read))]),
      ) as Record<Figure, Spread>,
    );
  }
  return out;
}

/** A difference between two configurations, round by round. */
export interface Difference {
  value: number; // the median over the rounds of (a - b) in the same round
  noise: number; // half the range of those differences
  within: boolean; // |value| <= noise: not told apart from the noise
  rounds: number;
  agreeing: number; // rounds whose difference has the median's sign
}

/**
 * a less b, paired by round: both ran in the same round, minutes apart, so a drift of the
 * machine between rounds (which moves both) cancels out, where comparing each one's median
 * over all rounds would count it as noise twice.
 */
export function difference(
  results: PriceResults,
  a: string,
  b: string,
  figure: Figure,
): Difference {
  const read = FIGURES[figure];
  const byRound = (name: string) =>
    new Map(results.runs.filter((r) => r.variant === name).map((r) => [r.round, read(r)]));
  const [as, bs] = [byRound(a), byRound(b)];
  const diffs = [...as].flatMap(([round, x]) => (bs.has(round) ? [x - bs.get(round)!] : []));
  const { median, spread, rounds } = spreadOf(diffs);
  const agreeing = diffs.filter((d) => Math.sign(d) === Math.sign(median) && d !== 0).length;
  return {
    value: median,
    noise: spread,
    within: rounds < 2 || Math.abs(median) <= spread,
    rounds,
    agreeing,
  };
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);
const withSpread = (s: Spread, digits = 0) =>
  s.rounds > 1
    ? `${fixed(s.median, digits)} ± ${fixed(s.spread, digits)}`
    : fixed(s.median, digits);

/** A price: the saving of taking the feature out, said to be noise when it is. */
function price(d: Difference, digits = 0): string {
  const text = `${fixed(d.value, digits)} ±${fixed(d.noise, digits)}`;
  return d.within ? `${text} noise` : `${text} (${d.agreeing}/${d.rounds} rounds)`;
}

/**
 * One row per variant: its price, paired round by round. A feature's is the shipped pair less
 * the pair without it (what taking it out saves); an extra's the pair with it less the shipped.
 */
function priceTable(
  results: PriceResults,
  variants: PriceResults['variants'],
  [first, last]: [string, string],
): string {
  const s = results.settings;
  return formatTable(
    [
      first,
      `us/request at ${s.cpuRate} rps`,
      'us/request at the highest rps',
      `p99 ms at ${s.latencyRate} rps`,
      last,
    ],
    variants.map((v) => {
      const [more, less] = v.adds ? [v.name, 'shipped'] : ['shipped', v.name];
      const d = (figure: Figure) => difference(results, more, less, figure);
      return [
        v.feature!,
        price(d('cpuAtRate'), 1),
        price(d('cpuAtMax'), 1),
        price(d('p99'), 2),
        v.lose ?? '',
      ];
    }),
  );
}

export function renderPriceList(results: PriceResults): string {
  const s = results.settings;
  const sum = summarise(results);
  const shipped = sum.get('shipped');
  if (!shipped) throw new Failure('the price list has no run of the shipped pair');
  const out: string[] = [
    `The mesh's price list, ${results.date.slice(0, 10)}: ${results.machine.cores} cores (${results.machine.cpu.trim()}), kernel ${results.machine.kernel}, Envoy ${results.envoy}`,
    `GET /user/health through the edge and the sidecar; each configuration ${s.rounds} time(s), ${s.seconds} s per load, in rotating order; figures are the median ± half the range over the rounds.`,
    '',
    'The configurations',
    formatTable(
      [
        'configuration',
        `CPU us/request at ${s.cpuRate} rps (edge + sidecar)`,
        `highest rps (${s.connections} conns)`,
        'CPU us/request there',
        `p50 / p99 ms at ${s.latencyRate} rps`,
        'private MB edge / sidecar',
      ],
      [...sum].map(([name, f]) => [
        name,
        `${withSpread(f.cpuAtRate)} (${fixed(f.edgeAtRate.median)} + ${fixed(f.sidecarAtRate.median)})`,
        withSpread(f.maxRps),
        withSpread(f.cpuAtMax),
        `${withSpread(f.p50, 2)} / ${withSpread(f.p99, 2)}`,
        `${fixed(f.edgeMB.median, 1)} / ${fixed(f.sidecarMB.median, 1)}`,
      ]),
    ),
    '',
    'The price of each feature: what taking it out saves (the shipped pair less the pair without it, round by round: median ± half the range; "noise" when within it, else how many rounds agree)',
    priceTable(
      results,
      results.variants.filter((v) => v.feature && !v.adds && sum.has(v.name)),
      ['feature', 'what turning it off loses'],
    ),
  ];
  const extras = results.variants.filter((v) => v.adds && sum.has(v.name));
  if (extras.length > 0)
    out.push(
      '',
      'What the list adds to the shipped pair: its price (the pair with it less the shipped pair, round by round)',
      priceTable(results, extras, ['added', 'what it buys']),
    );
  // A feature: the shipped pair has it and its variant not; an extra: the other way round.
  const unproven = results.proofs.filter((p) =>
    p.adds ? p.inShipped || p.inVariant !== true : !p.inShipped || p.inVariant !== false,
  );
  out.push(
    '',
    unproven.length === 0
      ? `Checked on the running proxies: the shipped pair has each of the ${results.proofs.filter((p) => !p.adds).length} features, and each variant lacks its own${extras.length > 0 ? '; each pair with an extra has it, and the shipped pair not' : ''}.`
      : `NOT as expected on the running proxies: ${unproven.map((p) => `${p.feature} (shipped has it: ${p.inShipped}; its variant has it: ${p.inVariant})`).join('; ')}`,
  );
  const floor = sum.get('mtls-floor');
  if (floor) out.push('', renderTargets(shipped, floor, s.cpuRate, s.latencyRate));
  return out.join('\n');
}

/** The issue's targets: the shipped pair against the mutual-TLS floor. */
export function renderTargets(
  shipped: Record<Figure, Spread>,
  floor: Record<Figure, Spread>,
  cpuRate: number,
  latencyRate: number,
): string {
  const ratio = (f: Figure) => shipped[f].median / floor[f].median;
  const rows: [string, string, boolean][] = [
    [
      `CPU per request at ${cpuRate} rps at most 1.10 x the mTLS floor's`,
      `${fixed(ratio('cpuAtRate'), 2)} x (${fixed(shipped.cpuAtRate.median)} vs ${fixed(floor.cpuAtRate.median)} us)`,
      ratio('cpuAtRate') <= 1.1,
    ],
    [
      "CPU per request at the highest throughput at most 1.10 x the mTLS floor's",
      `${fixed(ratio('cpuAtMax'), 2)} x (${fixed(shipped.cpuAtMax.median)} vs ${fixed(floor.cpuAtMax.median)} us)`,
      ratio('cpuAtMax') <= 1.1,
    ],
    [
      `p99 at ${latencyRate} rps within +0.3 ms of the mTLS floor's`,
      `${fixed(shipped.p99.median - floor.p99.median, 2)} ms (${fixed(shipped.p99.median, 2)} vs ${fixed(floor.p99.median, 2)})`,
      shipped.p99.median - floor.p99.median <= 0.3,
    ],
    [
      'sidecar private memory under 20 MB',
      `${fixed(shipped.sidecarMB.median, 1)} MB`,
      shipped.sidecarMB.median < 20,
    ],
  ];
  return [
    'Targets (the shipped pair against the mTLS floor, same run)',
    formatTable(
      ['target', 'here', ''],
      rows.map(([t, here, met]) => [t, here, met ? 'met' : 'missed']),
    ),
  ].join('\n');
}

/** One line per variant against the shipped pair: the quick A/B (--variants). */
export function renderAb(results: PriceResults): string {
  const names = results.variants.map((v) => v.name).filter((n) => n !== 'shipped');
  return names
    .map((name) => {
      const d = (figure: Figure) => difference(results, name, 'shipped', figure);
      const signed = (x: Difference, digits = 1) =>
        `${x.value >= 0 ? '+' : ''}${fixed(x.value, digits)} ± ${fixed(x.noise, digits)}${x.within ? ' (noise)' : ` (${x.agreeing}/${x.rounds} rounds)`}`;
      return `A/B ${name} vs shipped (${d('cpuAtRate').rounds} rounds, paired): CPU per request ${signed(d('cpuAtRate'))} us at ${results.settings.cpuRate} rps, ${signed(d('cpuAtMax'))} us at the highest rps; p99 ${signed(d('p99'), 2)} ms at ${results.settings.latencyRate} rps`;
    })
    .join('\n');
}
