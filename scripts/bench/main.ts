// make bench: what the mesh costs per request, five paths side by side in one run, and the scaling curve.
//   make bench                     the full bench (about 20 minutes), results in bench-results/
//   make bench ARGS=--smoke        a few seconds per figure: checks the bench works, not the mesh's speed
//   make bench ARGS='--out DIR'    write the results somewhere else
// To compare a config change quickly, narrow the run (the defaults are the full bench's):
//   make bench ARGS='--endpoints health --rates 200,1000 --seconds 10 --replicas 1'
//   make bench ARGS='--paths direct,floor,mesh'   only some of the paths (direct is always measured)
// --skip-plaintext leaves out the pass without mutual TLS (it recreates the mesh twice).
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ENDPOINTS, FULL, PATH_NAMES, runBench, SMOKE, type EndpointName, type PathName, type Settings } from './bench.js';
import { renderChart, renderResults } from './report.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results' },
      seconds: { type: 'string' },
      rates: { type: 'string' },
      connections: { type: 'string' },
      replicas: { type: 'string' },
      endpoints: { type: 'string' },
      paths: { type: 'string' },
      'skip-plaintext': { type: 'boolean', default: false },
    },
  });
  const base = values.smoke ? SMOKE : FULL;
  const numbers = (text: string, name: string) => {
    const list = text.split(',').map(Number);
    if (!list.every((n) => Number.isInteger(n) && n > 0)) throw new Error(`--${name} takes whole numbers above 0, comma-separated (got ${text})`);
    return list;
  };
  const endpoints = values.endpoints?.split(',') ?? base.endpoints;
  for (const e of endpoints) if (!(e in ENDPOINTS)) throw new Error(`--endpoints: ${e} is not one of ${Object.keys(ENDPOINTS).join(', ')}`);
  // direct is what every other path is compared with: always measured, and first.
  const paths = values.paths ? ['direct', ...values.paths.split(',').filter((p) => p !== 'direct')] : base.paths;
  for (const p of paths) if (!PATH_NAMES.includes(p as PathName)) throw new Error(`--paths: ${p} is not one of ${PATH_NAMES.join(', ')}`);
  const settings: Settings = {
    ...base,
    seconds: values.seconds ? numbers(values.seconds, 'seconds')[0]! : base.seconds,
    rates: values.rates ? numbers(values.rates, 'rates') : base.rates,
    connections: values.connections ? numbers(values.connections, 'connections')[0]! : base.connections,
    replicas: values.replicas ? numbers(values.replicas, 'replicas') : base.replicas,
    endpoints: endpoints as EndpointName[],
    paths: PATH_NAMES.filter((p) => paths.includes(p)),
    plaintext: !values['skip-plaintext'],
  };
  const results = await runBench(settings, (line) => console.error(`bench: ${line}`));
  const text = renderResults(results);
  const stamp = results.date.slice(0, 19).replace(/:/g, '-');
  mkdirSync(values.out, { recursive: true });
  for (const name of [`bench-${stamp}`, 'latest']) {
    writeFileSync(`${values.out}/${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(`${values.out}/${name}.txt`, `${text}\n`);
  }
  writeFileSync(`${values.out}/latency.svg`, renderChart(results));
  console.log(text);
  console.log(`\nwritten: ${values.out}/latest.json (every number), latest.txt, latency.svg, and bench-${stamp}.*`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
