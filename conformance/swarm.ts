// The conformance adapter of the Swarm target: the stack on the two-node lab swarm
// (scripts/swarm/lab.sh), each node an engine in a network namespace of its own. The edge
// runs on node1 and publishes on node1's address; this host is "another machine" to the
// nodes; a neighbour is a container on the stack's overlay network, on node1.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LIFTED_LIMITS } from '../scripts/lib/edge-config.js';
import { root, sh } from '../compose/test/helpers.js';
import { outsideProbes, quote } from './outside.js';
import type { Target, Workload } from './target.js';

const LAB = 'scripts/swarm/lab.sh';
const NODE1 = '10.231.0.11';
const SOCKETS = ['unix:///run/meshlab/node1.sock', 'unix:///run/meshlab/node2.sock'];
const STACK = 'usermesh';

/** A command with the lab's variables (SWARM_HOST, SWARM_NODES), as the swarm suite runs them. */
const swarm = (command: string, timeoutMs = 600_000, env: Record<string, string> = LIFTED_LIMITS) =>
  sh(`eval "$(${LAB} env)" && ${command}`, timeoutMs, env);

/**
 * The suite deploys the stack with the default limits first; lifting them is then one update
 * that replaces the edge (Swarm configs never change: new limits, a new edge), after which
 * `afterUpdate` runs (the swarm suite checks the first request there).
 */
export function swarmTarget(afterUpdate: () => Promise<void> = () => Promise.resolve()): Target {
  let deployed: 'default' | 'lifted' = 'default';
  return {
    name: 'swarm',
    https: { host: NODE1, port: 8443, servername: 'localhost', ca: `${root}secrets/ca.pem` },
    outside: { address: NODE1, https: 8443, plain: [8000], admin: [8001, 9901] },
    // This host is another machine to the lab's nodes.
    ...outsideProbes((argv) => argv),
    async neighbour<T>(script: string) {
      const file = `${mkdtempSync(`${tmpdir()}/neighbour-`)}/probe.mjs`;
      writeFileSync(file, script);
      const image = (
        await sh(
          `docker -H ${SOCKETS[0]} service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' ${STACK}_usersvc`,
        )
      ).trim();
      return JSON.parse(
        await sh(
          `docker -H ${SOCKETS[0]} run --rm --network appmesh --user 0 -v ${file}:/probe.mjs:ro --entrypoint node ${image} /probe.mjs`,
          120_000,
        ),
      ) as T;
    },
    async workloads(): Promise<Workload[]> {
      // The tasks Swarm wants running: a task scaled away still drains for some seconds in a
      // container that `docker ps` lists, and is gone by the time it is looked into.
      const wanted = new Set(
        (
          await swarm(
            `docker -H "$SWARM_HOST" service ps -q --no-trunc --filter desired-state=running ${STACK}_usersvc ${STACK}_edge ${STACK}_postgres`,
            30_000,
          )
        )
          .split('\n')
          .filter(Boolean),
      );
      const all = await Promise.all(
        SOCKETS.map(async (socket, i) =>
          (
            await sh(
              `docker -H ${socket} ps --filter label=com.docker.stack.namespace=${STACK} --format '{{.Names}} {{.Label "com.docker.swarm.service.name"}} {{.Label "com.docker.swarm.task.id"}}'`,
            )
          )
            .split('\n')
            .filter(Boolean)
            .map((line) => line.split(' '))
            .filter(([, , task]) => wanted.has(task!))
            .map(([name, service]) => ({
              name: `node${i + 1}/${name}`,
              service: service!.replace(`${STACK}_`, ''),
            })),
        ),
      );
      return all.flat();
    },
    exec(w, script, user = 'nobody') {
      const [node, container] = w.name.split('/');
      const socket = SOCKETS[Number(node!.slice(4)) - 1]!;
      const as = user === 'nobody' ? '65534' : `${user}:${user}`;
      return sh(`docker -H ${socket} exec -u ${as} ${container} sh -c ${quote(script)}`, 60_000);
    },
    // make swarm-up with the limits given (empty: the defaults): new configs, a new edge.
    limits: async (which) => {
      if (which === deployed) return;
      const env = Object.fromEntries(
        Object.entries(LIFTED_LIMITS).map(([k, v]) => [k, which === 'lifted' ? v : '']),
      );
      await swarm('make --no-print-directory swarm-up', 600_000, env);
      deployed = which;
      await afterUpdate();
    },
    loadBase: `https://${NODE1}:8443`,
    // As a user of Swarm would: docker service scale, one replica fewer.
    async removeReplica() {
      const n = Number(
        (
          await swarm(
            `docker -H "$SWARM_HOST" service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' ${STACK}_usersvc`,
          )
        ).trim(),
      );
      const command = `docker service scale ${STACK}_usersvc=${n - 1}`;
      await swarm(`docker -H "$SWARM_HOST" service scale ${STACK}_usersvc=${n - 1} --detach=false`);
      return command;
    },
    exemptions: {
      noNewPrivileges:
        "docker stack deploy cannot set no-new-privileges: in its place the images hold no setuid or setgid program, and a replica's Node and Envoy set it themselves (setpriv --no-new-privs)",
    },
  };
}
