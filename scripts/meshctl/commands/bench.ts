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
      name: 'skip-plaintext',
      help: 'leave out the pass without mutual TLS (it recreates the mesh twice)',
    },
  ],
  about: `Lifts the edge's per-client limits (one address sends far past a client's share; the
next meshctl up puts them back), brings the mesh up, builds the load generator, then
measures. The full bench takes about 20 minutes.`,
  examples: [
    'meshctl bench --smoke',
    'meshctl bench --endpoints health --rates 200,1000 --seconds 10 --replicas 1',
    "make bench ARGS='--smoke'",
  ],
  async run({ flags }) {
    const settings = benchSettings(flags);
    const out = typeof flags.out === 'string' ? flags.out : 'bench-results';
    Object.assign(process.env, LIFTED_LIMITS);
    await prepare({ dev: false });
    await up();
    // Built from the offline kit's Debian where there is no registry (.images.env).
    console.error(await buildLoadgen(composeEnv()));
    const results = await runBench(
      settings,
      (line) => console.error(`bench: ${line}`),
      (n) => scale(n, () => undefined),
    );
    const text = renderResults(results);
    const stamp = results.date.slice(0, 19).replace(/:/g, '-');
    mkdirSync(out, { recursive: true });
    for (const name of [`bench-${stamp}`, 'latest']) {
      writeFileSync(`${out}/${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
      writeFileSync(`${out}/${name}.txt`, `${text}\n`);
    }
    writeFileSync(`${out}/latency.svg`, renderChart(results));
    console.log(text);
    console.log(
      `\nwritten: ${out}/latest.json (every number), latest.txt, latency.svg, and bench-${stamp}.*`,
    );
  },
};
