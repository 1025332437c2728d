// The conformance adapters of the two single-engine targets: compose (v2 or v1, COMPOSE_CLI)
// and plain docker (scripts/docker-run.sh). Both publish the edge on this host: a client on
// the host uses 127.0.0.1, a client "on another machine" is a network namespace of the test's
// own (compose/test/outside.ts) reaching the host's address on its link, and a neighbour is a
// throwaway container on appmesh. The outside client is the suite's (made in its before hook).
import { LIFTED_LIMITS } from '../scripts/lib/edge-config.js';
import { fromNeighbour, makeWith, root, sh } from '../compose/test/helpers.js';
import { OUTSIDE_HOST, type OutsideClient } from '../compose/test/outside.js';
import { outsideProbes, quote } from './outside.js';
import type { Target, Workload } from './target.js';

/** The parts of a target that are the same for compose and plain docker. */
function dockerBase(outside: () => OutsideClient, label: string, serviceLabel: string) {
  return {
    https: { host: '127.0.0.1', port: 8443, servername: 'localhost', ca: `${root}secrets/ca.pem` },
    outside: { address: OUTSIDE_HOST, https: 8443, plain: [8000], admin: [8001, 9901] },
    ...outsideProbes((argv) => outside().inside(argv)),
    neighbour: <T>(script: string) => fromNeighbour<T>(script),
    async workloads(): Promise<Workload[]> {
      const lines = await sh(
        `docker ps --filter label=${label} --format '{{.Names}} {{.Label "${serviceLabel}"}}'`,
      );
      return lines
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [name, service] = l.split(' ');
          return { name: name!, service: service! };
        });
    },
    exec: (w: Workload, script: string, user: number | 'nobody' = 'nobody') =>
      sh(
        `docker exec -u ${user === 'nobody' ? 65534 : `${user}:${user}`} ${w.name} sh -c ${quote(script)}`,
        60_000,
      ),
    loadBase: 'http://127.0.0.1:8000',
  };
}

/** Compose, with the CLI the suite runs (COMPOSE_CLI: v1 is docker-compose). */
export function composeTarget(outside: () => OutsideClient): Target {
  const v1 = process.env.COMPOSE_CLI === 'v1';
  const byHand = v1 ? 'docker-compose' : 'docker compose';
  return {
    name: v1 ? 'compose v1' : 'compose v2',
    ...dockerBase(outside, 'com.docker.compose.project=usermesh', 'com.docker.compose.service'),
    // make up with the limits given (empty: the defaults), applied live to the running edges.
    limits: async (which) => {
      const env = Object.fromEntries(
        Object.entries(LIFTED_LIMITS).map(([k, v]) => [k, which === 'lifted' ? v : '']),
      );
      await makeWith(env, 'up');
    },
    // As a user of compose would: its own command, one replica fewer.
    async removeReplica() {
      const n = (await sh(`docker ps -q --filter label=com.docker.compose.service=usersvc`))
        .split('\n')
        .filter(Boolean).length;
      await sh(`${byHand} up -d --scale usersvc=${n - 1}`, 120_000);
      return `${byHand} up -d --scale usersvc=${n - 1}`;
    },
  };
}

/** Plain docker: scripts/docker-run.sh's containers, labelled mesh.docker-run. */
export function dockerRunTarget(outside: () => OutsideClient): Target {
  return {
    name: 'docker run',
    ...dockerBase(outside, 'mesh.docker-run', 'mesh.docker-run'),
    // The edge's live files, written with the limits given: Envoy applies them live.
    limits: async (which) => {
      await sh('node bin/meshctl.js edge-config', 60_000, which === 'lifted' ? LIFTED_LIMITS : {});
    },
    // As a user of plain docker would: stop the last replica (it drains), and remove it.
    async removeReplica() {
      const names = (
        await sh(`docker ps --filter label=mesh.docker-run=usersvc --format '{{.Names}}'`)
      )
        .split('\n')
        .filter(Boolean)
        .sort();
      const last = names.at(-1)!;
      await sh(`docker stop ${last} && docker rm ${last}`, 120_000);
      return `docker stop ${last} && docker rm ${last}`;
    },
  };
}
