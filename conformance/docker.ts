// The conformance adapters of the two single-engine targets: compose (v2 or v1, COMPOSE_CLI)
// and plain docker (scripts/docker-run.sh). Both publish the edge on this host: a client on
// the host uses 127.0.0.1, a client "on another machine" is a network namespace of the test's
// own (compose/test/outside.ts) reaching the host's address on its link, and a neighbour is a
// throwaway container on appmesh. The outside client is the suite's (made in its before hook).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LIFTED_LIMITS } from '../scripts/lib/edge-config.js';
import { fromNeighbour, makeWith, root, sh } from '../compose/test/helpers.js';
import { OUTSIDE_HOST, type OutsideClient } from '../compose/test/outside.js';
import { BURST, PROBE_URLS } from './probe.js';
import type { Probe, Target, Workload } from './target.js';

/** The scripts the outside client runs, written once to files its node can read. */
function scripts() {
  const dir = mkdtempSync(`${tmpdir()}/conformance-`);
  writeFileSync(`${dir}/probe.mjs`, PROBE_URLS);
  writeFileSync(`${dir}/burst.mjs`, BURST);
  return { probe: `${dir}/probe.mjs`, burst: `${dir}/burst.mjs` };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The parts of a target that are the same for compose and plain docker. */
function dockerBase(outside: () => OutsideClient, label: string, serviceLabel: string) {
  const files = scripts();
  const inNamespace = async (argv: string[]) =>
    JSON.parse(await sh(outside().inside(argv).map(quote).join(' '), 120_000)) as unknown;
  return {
    https: { host: '127.0.0.1', port: 8443, servername: 'localhost', ca: `${root}secrets/ca.pem` },
    outside: { address: OUTSIDE_HOST, https: 8443, plain: [8000], admin: [8001, 9901] },
    fromOutside: (urls: string[]) =>
      inNamespace(['node', files.probe, ...urls]) as Promise<Probe[]>,
    burstFromOutside: (url: string, count: number, concurrency: number) =>
      inNamespace(['node', files.burst, url, String(count), String(concurrency)]) as Promise<
        number[]
      >,
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
