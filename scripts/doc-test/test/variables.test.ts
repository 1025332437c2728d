// docs/reference/configuration.md against the sources: every variable read is named there,
// and every one named there is read somewhere.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ROOT } from '../../lib/paths.js';
import { occursInSources, variablesNamed, variablesRead } from '../variables.js';

const reference = readFileSync(`${ROOT}docs/reference/configuration.md`, 'utf8');

test('the ways of reading a variable are found: TypeScript, shell defaults, compose, ARG', (t) => {
  const read = variablesRead();
  for (const [name, file] of [
    ['SCRYPT_COST', 'user-service/src/config.ts'],
    ['SWARM_WAIT', 'scripts/swarm/deploy.ts'],
    ['DRAIN_SECONDS', 'user-service/entrypoint.sh'],
    ['EDGE_HTTP_PUBLISH', 'compose/docker-compose.yml'],
    ['N', 'scripts/meshctl/commands/up.ts'],
  ] as const)
    t.truthy(read.get(name), `${name} (read in ${file}) not found`);
});

test('every variable read in the code, the compose files or the scripts is in the reference', (t) => {
  const named = variablesNamed(reference);
  const missing = [...variablesRead()]
    .filter(([name]) => !named.has(name))
    .map(([name, file]) => `${name} (read in ${file})`);
  t.deepEqual(missing, [], 'add them to docs/reference/configuration.md');
});

test('every variable the reference names is read somewhere', (t) => {
  const unread = [...variablesNamed(reference)].filter((name) => !occursInSources(name));
  t.deepEqual(unread, [], 'read nowhere: remove them from docs/reference/configuration.md');
});
