// The mesh's settings file (.env): read and written as compose reads it, with make's
// environment winning; and every variable the compose files read is one of its keys.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { UsageError } from '../errors.js';
import { parse, parseAllDocuments } from 'yaml';
import {
  EDGE_SETTINGS,
  KEYS,
  loadSettings,
  parseEnvFile,
  renderEnvFile,
  SERVICE_SETTINGS,
  SIDECAR_SETTINGS,
} from '../settings.js';

const root = new URL('../../..', import.meta.url).pathname;

test('.env round trip: comments skipped, keys in a fixed order, quotes taken off as compose does', (t) => {
  const text = renderEnvFile({
    USERSVC_REPLICAS: '3',
    COMPOSE_PROJECT_NAME: 'usermesh',
    LOG_LEVEL: 'warn',
  });
  t.regex(text, /^# The mesh's settings/);
  t.deepEqual(
    text.split('\n').filter((l) => l && !l.startsWith('#')),
    ['COMPOSE_PROJECT_NAME=usermesh', 'USERSVC_REPLICAS=3', 'LOG_LEVEL=warn'],
  );
  t.deepEqual(parseEnvFile(text), {
    COMPOSE_PROJECT_NAME: 'usermesh',
    USERSVC_REPLICAS: '3',
    LOG_LEVEL: 'warn',
  });
  t.deepEqual(parseEnvFile('\n# a note\nLOG_LEVEL="debug"\nSCRYPT_COST=\n'), {
    LOG_LEVEL: 'debug',
    SCRYPT_COST: '',
  });
});

test('.env: a line that is not a setting of the mesh is refused, naming it', (t) => {
  t.throws(() => parseEnvFile('LOG_LEVEL=info\nLOG_LEVLE=debug\n'), {
    instanceOf: UsageError,
    message: /line 2: LOG_LEVLE is not a setting of the mesh/,
  });
  t.throws(() => parseEnvFile('just words'), {
    instanceOf: UsageError,
    message: /line 1 is not KEY=value/,
  });
  t.throws(() => renderEnvFile({ LOG_LEVEL: 'two words' }), {
    instanceOf: UsageError,
    message: /LOG_LEVEL may not contain spaces/,
  });
});

test('the environment wins over .env, an empty value included; the file and project are always there', (t) => {
  const settings = loadSettings({ LOG_LEVEL: 'warn', SCRYPT_COST: '', UNRELATED: 'x' });
  t.is(settings.LOG_LEVEL, 'warn');
  t.is(settings.SCRYPT_COST, '');
  t.is(settings.COMPOSE_PROJECT_NAME, 'usermesh');
  t.regex(settings.COMPOSE_FILE ?? '', /^compose\/docker-compose\.yml/);
  t.false('UNRELATED' in settings);
});

test('every variable the compose files read is a key of .env, so compose by hand resolves what make ran', (t) => {
  const read = new Set<string>();
  for (const file of ['compose/docker-compose.yml', 'compose/dev.yml']) {
    for (const [, name] of readFileSync(`${root}${file}`, 'utf8').matchAll(
      /\$\{([A-Z_][A-Z0-9_]*)/g,
    ))
      read.add(name!);
  }
  t.true(read.size > 20, `${read.size} variables`);
  t.deepEqual(
    [...read].filter((name) => !(KEYS as readonly string[]).includes(name)),
    [],
  );
});

test("every target passes the service and its sidecar exactly their settings: compose (and so plain docker), the swarm's stack, Kubernetes", (t) => {
  // What each target sets for itself: where the database and the secrets are, the container's role.
  const own = [
    'DATABASE_URL',
    'DATABASE_PASSWORD_FILE',
    'TOKEN_KEY_FILE',
    'TOKEN_JWKS_FILE',
    'MESH_ROLE',
  ];
  const settings = (names: string[]) => names.filter((n) => !own.includes(n)).sort();
  const file = (path: string) => readFileSync(`${root}${path}`, 'utf8');
  type Service = { services: { usersvc: { environment: Record<string, string> } } };
  const composeEnv = (parse(file('compose/docker-compose.yml'), { merge: true }) as Service)
    .services.usersvc.environment;
  const stackEnv = (parse(file('compose/stack.yml')) as Service).services.usersvc.environment;
  const deployment = parseAllDocuments(file('kubernetes/base/usersvc.yaml'))
    .map(
      (d) =>
        d.toJS() as {
          kind: string;
          spec: {
            template: {
              spec: {
                containers: { name: string; env: { name: string }[] }[];
                initContainers: { name: string; env: { name: string }[] }[];
              };
            };
          };
        },
    )
    .find((d) => d.kind === 'Deployment')!;
  const app = deployment.spec.template.spec.containers.find((c) => c.name === 'usersvc')!;
  const proxy = deployment.spec.template.spec.initContainers.find((c) => c.name === 'sidecar')!;
  // One container runs both (compose, the swarm); on Kubernetes each its own.
  const want = [...SERVICE_SETTINGS, ...SIDECAR_SETTINGS].sort();
  t.deepEqual(settings(Object.keys(composeEnv)), want, 'compose/docker-compose.yml');
  t.deepEqual(settings(Object.keys(stackEnv)), want, 'compose/stack.yml');
  t.deepEqual(
    settings(app.env.map((e) => e.name)),
    [...SERVICE_SETTINGS].sort(),
    'kubernetes/base/usersvc.yaml, the service',
  );
  t.deepEqual(
    settings(proxy.env.map((e) => e.name)),
    [...SIDECAR_SETTINGS].sort(),
    'kubernetes/base/usersvc.yaml, the sidecar',
  );
  // The service reads each of them.
  const config = file('user-service/src/config.ts');
  for (const name of SERVICE_SETTINGS)
    t.true(config.includes(`'${name}'`), `config.ts reads ${name}`);
  // And the entrypoint reads the sidecar's.
  const entrypoint = file('user-service/entrypoint.sh');
  for (const name of SIDECAR_SETTINGS)
    t.true(entrypoint.includes(`\${${name}`), `entrypoint.sh reads ${name}`);
});

test("every target passes the edge exactly its settings: compose (and so plain docker), the swarm's stack, Kubernetes", (t) => {
  // What a target sets for itself: where the admin window answers, where the slots live.
  const own = ['EDGE_ADMIN_FROM', 'EDGE_SLOTS_DIR'];
  const settings = (names: string[]) => names.filter((n) => !own.includes(n)).sort();
  const file = (path: string) => readFileSync(`${root}${path}`, 'utf8');
  type Service = { services: { edge: { environment: Record<string, string> } } };
  const composeEnv = (parse(file('compose/docker-compose.yml'), { merge: true }) as Service)
    .services.edge.environment;
  const stackEnv = (parse(file('compose/stack.yml')) as Service).services.edge.environment;
  const deployment = parseAllDocuments(file('kubernetes/base/edge.yaml'))
    .map(
      (d) =>
        d.toJS() as {
          kind: string;
          spec: { template: { spec: { containers: { name: string; env: { name: string }[] }[] } } };
        },
    )
    .find((d) => d.kind === 'Deployment')!;
  const edge = deployment.spec.template.spec.containers.find((c) => c.name === 'edge')!;
  const want = [...EDGE_SETTINGS].sort();
  t.deepEqual(settings(Object.keys(composeEnv)), want, 'compose/docker-compose.yml');
  t.deepEqual(settings(Object.keys(stackEnv)), want, 'compose/stack.yml');
  t.deepEqual(settings(edge.env.map((e) => e.name)), want, 'kubernetes/base/edge.yaml');
  // The edge's entrypoint reads each of them.
  const entrypoint = file('envoy/edge-entrypoint.sh');
  for (const name of EDGE_SETTINGS)
    t.true(entrypoint.includes(`\${${name}`), `edge-entrypoint.sh reads ${name}`);
});

test('a setting an older .env holds that was replaced is refused, naming what replaced it', (t) => {
  t.throws(() => parseEnvFile('EDGE_TRUSTED_HOPS=1\n'), {
    instanceOf: UsageError,
    message: /EDGE_TRUSTED_HOPS is gone: .*EDGE_TRUSTED_CIDRS/,
  });
});
