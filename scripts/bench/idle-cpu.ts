// The CPU a compose service's containers use with no traffic (health checks, stats flushes,
// DNS refreshes), over SECONDS, from their cgroups (measure.ts reads them, as make bench does):
// percent of one core, per container and all together.
//   npx tsx scripts/bench/idle-cpu.ts [SERVICE] [SECONDS]      (defaults: usersvc, 60)
import { composeContainers, docker } from '../lib/docker.js';
import { readCgroup } from './measure.js';

async function main(): Promise<void> {
  const [service = 'usersvc', secondsText = '60'] = process.argv.slice(2);
  const seconds = Number(secondsText);
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new Error(`SECONDS is a whole number above 0 (got ${secondsText})`);
  const ids = await composeContainers({ service, full: true });
  if (!ids.length) throw new Error(`no running ${service} container`);

  const before = new Map(ids.map((id) => [id, readCgroup(id).cpuMicros]));
  const start = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsedMicros = Number((process.hrtime.bigint() - start) / 1000n);
  const percent = (micros: number) => (100 * micros) / elapsedMicros;
  let total = 0;
  for (const id of ids) {
    const used = readCgroup(id).cpuMicros - before.get(id)!;
    total += used;
    const name = (await docker(['inspect', '-f', '{{.Name}}', id])).trim().slice(1);
    console.log(`${name} ${percent(used).toFixed(2)}%`);
  }
  console.log(
    `${ids.length} ${service} containers, idle for ${seconds} s: ${percent(total).toFixed(1)}% of a core together, ${(percent(total) / ids.length).toFixed(2)}% each`,
  );
}

main().catch((err: unknown) => {
  console.error(`idle-cpu: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
