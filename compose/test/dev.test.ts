// make dev, in real Docker: the replicas run the mounted sources behind their sidecars, and a
// change to a response string reaches clients through the edge within 10 s, with no request
// failing meanwhile; make up then rolls them back onto the built image. The sources mounted
// are a copy (DEV_SOURCES), so the test never edits the checkout.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import {
  call,
  compose,
  make,
  makeWith,
  LIFTED_LIMITS,
  root,
  sh,
  steadyLoad,
  until,
  type LoadRequest,
} from './helpers.js';

const sources = `${mkdtempSync(`${tmpdir()}/dev-sources-`)}/src`;
const DEV = { ...LIFTED_LIMITS, DEV_SOURCES: sources };
const LOAD: LoadRequest[] = [
  { path: '/user/health' },
  { path: '/user/devuser' },
  {
    method: 'PUT',
    path: '/user/devuser',
    json: { fullname: 'Dev User', password: 'devuser-password' },
    expect: 409,
  },
  { path: '/user/nobody-here', expect: 404 },
];

test.before(async () => {
  cpSync(`${root}user-service/src`, sources, { recursive: true });
  // The replica's user (uid 1000) reads the copy.
  await sh(`chmod -R a+rX ${sources} && chmod a+x ${sources}/..`);
  await make('clean');
  await makeWith(DEV, 'dev', 'N=2');
});
test.after.always(async () => {
  await make('clean');
});

test.serial(
  'make dev: a changed response string reaches the edge within 10 s, 0 requests failed meanwhile',
  async (t) => {
    t.like((await call('/user/health')).body, { msg: 'user health check OK', version: 'dev' });
    t.is(
      (
        await call('/user/devuser', {
          method: 'PUT',
          json: { fullname: 'Dev User', password: 'devuser-password' },
        })
      ).status,
      201,
    );
    // The health route's module (the routes live in src/routes/: the reloader watches the tree).
    const app = `${sources}/routes/meta.ts`;
    const original = readFileSync(app, 'utf8');
    const stopped = async () =>
      (await compose('logs --no-color usersvc')).split('"msg":"stopped"').length - 1;
    const load = steadyLoad(LOAD);
    try {
      // Three edits in a row, each reloading both replicas under load.
      for (const edit of [1, 2, 3]) {
        const msg = `user health check OK, edit ${edit}`;
        const before = await stopped();
        writeFileSync(app, original.replace("'user health check OK'", `'${msg}'`));
        const changed = Date.now();
        await until(
          10_000,
          async () => ((await call('/user/health')).body.msg === msg ? true : undefined),
          () => `edit ${edit} did not reach the edge within 10 s`,
        );
        t.log(`edit ${edit}: through the edge ${Date.now() - changed} ms after it`);
        // Both replicas' old processes drain (still under load) and stop; then every answer has it.
        await until(
          20_000,
          async () => ((await stopped()) >= before + 2 ? true : undefined),
          () => `edit ${edit}: the old processes did not stop`,
        );
        for (let i = 0; i < 10; i++) t.is((await call('/user/health')).body.msg, msg);
      }
    } finally {
      const { total, failures } = await load.stop();
      t.log(`${total} requests during the reloads, ${failures.length} failed`);
      t.deepEqual(failures, []);
    }
  },
);

test.serial('a change that does not start keeps the previous code serving', async (t) => {
  const app = `${sources}/app.ts`;
  const good = readFileSync(app, 'utf8');
  writeFileSync(app, `${good}\nthis is not TypeScript (\n`);
  const logs = async () => compose('logs --no-color usersvc');
  await until(
    20_000,
    async () =>
      (await logs()).includes('the new code stopped before it was ready') ? true : undefined,
    async () => `no failed reload in the logs: ${(await logs()).slice(-2000)}`,
  );
  t.is((await call('/user/health')).body.msg, 'user health check OK, edit 3');
  writeFileSync(app, good);
});

test.serial('make up leaves dev mode: the replicas run the built image again', async (t) => {
  await make('up');
  const health = await call('/user/health');
  t.is(health.body.msg, 'user health check OK');
  t.not(health.body.version, 'dev');
});
