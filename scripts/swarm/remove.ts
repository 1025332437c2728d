// meshctl swarm down: remove the stack (its services, network, secrets and configs) and wait
// until its containers are gone. The database's volume stays on its node, as with meshctl down;
// `docker volume rm usermesh_pgdata` there removes it.
import { until } from '../lib/wait.js';
import { STACK, sw } from './engines.js';

export async function remove(): Promise<void> {
  await sw(['stack', 'rm', STACK]);
  const wait = Number(process.env.SWARM_WAIT || 120);
  const filter = ['--filter', `label=com.docker.stack.namespace=${STACK}`];
  await until(
    wait * 1000,
    async () =>
      !(await sw(['service', 'ls', '-q', ...filter])).trim() &&
      !(await sw(['network', 'ls', '-q', ...filter])).trim()
        ? true
        : undefined,
    () => `the stack ${STACK} is still there after ${wait}s`,
  );
  console.log(`swarm-down: the stack ${STACK} is removed`);
}
