// The probes a client on "another machine" sends, running the scripts of probe.ts with the
// host's node: in the test's network namespace (compose/test/outside.ts), or on the host itself
// where the target's nodes are machines of their own (the swarm lab's).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sh } from '../compose/test/helpers.js';
import { BURST, PROBE_URLS } from './probe.js';
import type { Probe, Target } from './target.js';

/** One word of bash, in single quotes. */
export const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** fromOutside and burstFromOutside of a target: `where` puts a command where the client is. */
export function outsideProbes(
  where: (argv: string[]) => string[],
): Pick<Target, 'fromOutside' | 'burstFromOutside'> {
  const dir = mkdtempSync(`${tmpdir()}/conformance-`);
  writeFileSync(`${dir}/probe.mjs`, PROBE_URLS);
  writeFileSync(`${dir}/burst.mjs`, BURST);
  const run = async <T>(argv: string[]) =>
    JSON.parse(await sh(where(argv).map(quote).join(' '), 120_000)) as T;
  return {
    fromOutside: (urls) => run<Probe[]>(['node', `${dir}/probe.mjs`, ...urls]),
    burstFromOutside: (url, count, concurrency) =>
      run<number[]>(['node', `${dir}/burst.mjs`, url, String(count), String(concurrency)]),
  };
}
