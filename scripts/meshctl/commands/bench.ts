// meshctl bench: what the mesh costs per request, six paths side by side, and scaling.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Command } from '../../lib/cli.js';
import { composeEnv } from '../../lib/compose.js';
import { LIFTED_LIMITS } from '../../lib/edge-config.js';
import { UsageError } from '../../lib/errors.js';
import {
  ENDPOINTS,
  FULL,
  PATH_NAMES,
  runBench,
  SMOKE,
  type EndpointName,
  type PathName,
  type Settings,
} from '../../bench/bench.js';
import { buildLoadgen } from '../../bench/loadgen.js';
import { VARIANT_NAMES } from '../../bench/price-list.js';
import { renderAb, renderPriceList } from '../../bench/price-report.js';
import {
  PRICE_FULL,
  PRICE_SMOKE,
  runPriceList,
  type PriceResults,
  type PriceSettings,
} from '../../bench/price-run.js';
import { renderChart, renderResults } from '../../bench/report.js';
import { scale, up } from '../../rollout/verbs.js';
import { prepare } from '../prepare.js';

const numbers = (text: string | boolean | undefined, name: string): number[] | undefined => {
  if (text === undefined) return undefined;
  const list = String(text).split(',').map(Number);
  if (!list.every((n) => Number.isInteger(n) && n > 0))
    throw new UsageError(
      `--${name} takes whole numbers above 0, comma-separated (got ${String(text)})`,
    );
  return list;
};

/** The bench's settings from its flags: every one checked before anything starts. */
export function benchSettings(flags: Record<string, string | boolean | undefined>): Settings {
  const base = flags.smoke ? SMOKE : FULL;
  const endpoints =
    typeof flags.endpoints === 'string' ? flags.endpoints.split(',') : base.endpoints;
  for (const e of endpoints)
    if (!(e in ENDPOINTS))
      throw new UsageError(`--endpoints: ${e} is not one of ${Object.keys(ENDPOINTS).join(', ')}`);
  // direct is what every other path is compared with: always measured, and first.
  const paths =
    typeof flags.paths === 'string'
      ? ['direct', ...flags.paths.split(',').filter((p) => p !== 'direct')]
      : base.paths;
  for (const p of paths)
    if (!PATH_NAMES.includes(p as PathName))
      throw new UsageError(`--paths: ${p} is not one of ${PATH_NAMES.join(', ')}`);
  return {
    ...base,
    seconds: numbers(flags.seconds, 'seconds')?.[0] ?? base.seconds,
    rates: numbers(flags.rates, 'rates') ?? base.rates,
    connections: numbers(flags.connections, 'connections')?.[0] ?? base.connections,
    replicas: numbers(flags.replicas, 'replicas') ?? base.replicas,
    endpoints: endpoints as EndpointName[],
    paths: PATH_NAMES.filter((p) => paths.includes(p)),
    plaintext: !flags['skip-plaintext'],
  };
}

/** The price list's settings from the same flags (--rounds and --variants its own). */
export function priceSettings(flags: Record<string, string | boolean | undefined>): PriceSettings {
  const base = flags.smoke ? PRICE_SMOKE : PRICE_FULL;
  const rates = numbers(flags.rates, 'rates');
  if (rates && rates.length !== 2)
    throw new UsageError(
      '--rates with --price-list takes two: the latency rate, then the CPU rate',
    );
  const only = typeof flags.variants === 'string' ? flags.variants.split(',') : undefined;
  for (const v of only ?? [])
    if (!VARIANT_NAMES.includes(v))
      throw new UsageError(`--variants: ${v} is not one of ${VARIANT_NAMES.join(', ')}`);
  return {
    ...base,
    seconds: numbers(flags.seconds, 'seconds')?.[0] ?? base.seconds,
    rounds: numbers(flags.rounds, 'rounds')?.[0] ?? base.rounds,
    connections: numbers(flags.connections, 'connections')?.[0] ?? base.connections,
    latencyRate: rates?.[0] ?? base.latencyRate,
    cpuRate: rates?.[1] ?? base.cpuRate,
    ...(only ? { only } : {}),
  };
}

function writeResults(out: string, name: string, json: unknown, text: string): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/${name}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${out}/${name}.txt`, `${text}\n`);
}

async function priceList(settings: PriceSettings, out: string) {
  const results: PriceResults = await runPriceList(
    settings,
    (line) => console.error(`price list: ${line}`),
    (n) => scale(n, () => undefined),
  );
  const text = [renderPriceList(results), ...(settings.only ? ['', renderAb(results)] : [])].join(
    '\n',
  );
  const stamp = results.date.slice(0, 19).replace(/:/g, '-');
  writeResults(out, `price-list-${stamp}`, results, text);
  writeResults(out, 'price-list', results, text);
  console.log(text);
  console.log(
    `\nwritten: ${out}/price-list.json (every number), price-list.txt, and price-list-${stamp}.*`,
  );
}

export const command: Command = {
  name: 'bench',
  group: 'inspect',
  summary: 'what the mesh costs: direct, floor, sidecar, full mesh and host paths, scaling to 10',
  flags: [
    {
      name: 'smoke',
      help: "a few seconds per figure: checks the bench works, not the mesh's speed",
    },
    { name: 'out', value: 'DIR', help: 'where the results go (default bench-results)' },
    { name: 'seconds', value: 'S', help: 'each measured run' },
    { name: 'rates', value: 'R,R', help: 'the request rates of the latency runs' },
    { name: 'connections', value: 'N', help: 'of the throughput runs' },
    { name: 'replicas', value: 'N,N', help: "the scaling curve's points" },
    { name: 'endpoints', value: 'E,E', help: `some of ${Object.keys(ENDPOINTS).join(', ')}` },
    { name: 'paths', value: 'P,P', help: `some of ${PATH_NAMES.join(', ')} (direct always)` },
    {
      name: 'price-list',
      help: 'what each feature costs per request: the shipped pair with one feature out at a time, beside two floors',
    },
    {
      name: 'rounds',
      value: 'N',
      help: 'with --price-list: how many times each configuration runs',
    },
    {
      name: 'variants',
      value: 'V,V',
      help: 'with --price-list: some configurations only, each against the shipped one (a quick A/B)',
    },
    {
      name: 'skip-plaintext',
      help: 'leave out the pass without mutual TLS (it recreates the mesh twice)',
    },
  ],
  about: `Lifts the edge's per-client limits (one address sends far past a client's share; the
next meshctl up puts them back), brings the mesh up, builds the load generator, then
measures. The full bench takes about 20 minutes; the price list (--price-list: the edge and
sidecar pair as shipped, then with one feature out at a time, beside two floors, in rotating
rounds) about 35.`,
  examples: [
    'meshctl bench --smoke',
    'meshctl bench --endpoints health --rates 200,1000 --seconds 10 --replicas 1',
    'meshctl bench --price-list',
    'meshctl bench --price-list --variants no-access-log --rounds 5 --seconds 5',
    "make bench ARGS='--smoke'",
  ],
  async run({ flags }) {
    // Every flag checked before anything starts.
    const settings = benchSettings(flags);
    const price = flags['price-list'] ? priceSettings(flags) : null;
    const out = typeof flags.out === 'string' ? flags.out : 'bench-results';
    Object.assign(process.env, LIFTED_LIMITS);
    await prepare({ dev: false });
    await up();
    // Built from the offline kit's Debian where there is no registry (.images.env).
    console.error(await buildLoadgen(composeEnv()));
    if (price) return priceList(price, out);
    const results = await runBench(
      settings,
      (line) => console.error(`bench: ${line}`),
      (n) => scale(n, () => undefined),
    );
    const text = renderResults(results);
    const stamp = results.date.slice(0, 19).replace(/:/g, '-');
    for (const name of [`bench-${stamp}`, 'latest']) writeResults(out, name, results, text);
    writeFileSync(`${out}/latency.svg`, renderChart(results));
    console.log(text);
    console.log(
      `\nwritten: ${out}/latest.json (every number), latest.txt, latency.svg, and bench-${stamp}.*`,
    );
  },
};
