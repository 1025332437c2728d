// Plain docker against the conformance suite: scripts/docker-run.sh (rendered from the compose
// file by meshctl docker-run print) brings the mesh up with docker build and docker run alone,
// from a clean engine, and it passes the same checks as compose; down removes it all but the
// data volume, which a second up finds again.
import test from 'ava';
import { dockerRunTarget } from '../../conformance/docker.js';
import { conformance } from '../../conformance/suite.js';
import { make, sh } from './helpers.js';
import { outsideClient, type OutsideClient } from './outside.js';

const script = (args: string) => sh(`scripts/docker-run.sh ${args}`, 20 * 60_000);
const ours = async () =>
  (await sh(`docker ps -aq --filter label=mesh.docker-run`)).split('\n').filter(Boolean);

let outside: OutsideClient;
test.before(async () => {
  await script('down');
  await make('clean');
  await sh('docker volume rm usermesh-docker-pgdata 2>/dev/null || true');
  await script('up 2');
  outside = await outsideClient();
});
test.after.always(async () => {
  await outside?.stop();
  await script('down');
  await sh('docker volume rm usermesh-docker-pgdata 2>/dev/null || true');
});

test.serial('scripts/docker-run.sh up 2: every container runs, none restarting', async (t) => {
  const states = await sh(
    `docker ps -a --filter label=mesh.docker-run --format '{{.Label "mesh.docker-run"}} {{.State}} {{.Status}}'`,
  );
  const services = states
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0])
    .sort();
  t.deepEqual(services, [
    'edge',
    'edge',
    'edge-port',
    'mesh-ca',
    'mesh-keeper',
    'postgres',
    'usersvc',
    'usersvc',
  ]);
  t.notRegex(states, /restarting|exited/i, states);
  t.regex(
    await sh(`docker port usermesh-edge-port`),
    /8000\/tcp -> 127\.0\.0\.1:8000/,
    'plain HTTP on the host loopback only',
  );
});

conformance(
  test,
  dockerRunTarget(() => outside),
);

test.serial('down, then up again: the users are still there', async (t) => {
  const create = await sh(
    `curl -s -o /dev/null -w '%{http_code}' --cacert secrets/ca.pem -X PUT -H 'content-type: application/json' -d '{"fullname":"Kept","password":"kept-password"}' https://localhost:8443/user/kept`,
  );
  t.is(create, '201');
  await script('down');
  t.deepEqual(await ours(), [], 'no container left');
  t.regex(await sh('docker network ls --format {{.Name}}'), /^(?!appmesh$)/m);
  await script('up 1');
  const read = await sh(`curl -s --cacert secrets/ca.pem https://localhost:8443/user/kept`);
  t.regex(read, /"fullname":"Kept"/);
});
