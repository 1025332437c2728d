// Compose against the conformance suite (conformance/suite.ts), the same checks every target of
// the mesh passes; then what only compose's containers show, end to end in real Docker: every
// container of the mesh drops every capability but those it needs, cannot gain privileges, and
// has a read-only root filesystem; each process runs as the user expected, with no effective
// capability unless it is one of the few root starters; a replica's Node cannot open its
// sidecar's key; no log holds a secret. make e2e runs it with compose v2, make e2e-v1 with v1.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { composeTarget } from '../../conformance/docker.js';
import { parseProcs, PROC_STATUS, type Proc } from '../../conformance/procs.js';
import { conformance } from '../../conformance/suite.js';
import { containers, make, root, sh } from './helpers.js';
import { outsideClient, type OutsideClient } from './outside.js';

/** What each service may add back, and which of its processes may run as root. */
const EXPECTED: Record<string, { capAdd: string[]; rootProcesses: RegExp }> = {
  postgres: { capAdd: [], rootProcesses: /^docker-init$/ },
  usersvc: {
    capAdd: ['KILL', 'SETGID', 'SETUID'],
    // the entrypoint, and Docker's health check (also bash)
    rootProcesses: /^(docker-init|bash|entrypoint.sh|healthcheck)$/,
  },
  'edge-port': { capAdd: ['NET_ADMIN'], rootProcesses: /^(docker-init|edge-port|bash|sleep)$/ },
  edge: { capAdd: [], rootProcesses: /^$/ },
  'mesh-ca': {
    capAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'],
    rootProcesses: /^(docker-init|mesh-ca|bash|sleep|openssl)$/,
  },
  'mesh-keeper': { capAdd: [], rootProcesses: /^(docker-init|mesh-keeper|curl|jq|sleep|bash)$/ },
};

/** Every process of a container, from its /proc. */
async function processes(container: string): Promise<Proc[]> {
  // As nobody: this listing's own processes are no root ones.
  return parseProcs(await sh(`docker exec -u 65534 ${container} sh -c '${PROC_STATUS}'`));
}

let outside: OutsideClient;
test.before(async () => {
  await make('clean');
  await make('up', 'N=2');
  outside = await outsideClient();
});
test.after.always(async () => {
  await outside?.stop();
  await make('clean');
});

conformance(
  test,
  composeTarget(() => outside),
);

test.serial(
  'every container: no capability but its own, no new privileges, a read-only root filesystem; processes as their users, without capabilities',
  async (t) => {
    for (const [service, expected] of Object.entries(EXPECTED)) {
      for (const id of await containers(service)) {
        const [host] = JSON.parse(await sh(`docker inspect ${id}`)) as {
          HostConfig: {
            CapDrop: string[] | null;
            CapAdd: string[] | null;
            ReadonlyRootfs: boolean;
            SecurityOpt: string[] | null;
          };
        }[];
        const hc = host!.HostConfig;
        t.deepEqual(hc.CapDrop, ['ALL'], service);
        // Compose v2 spells them CAP_KILL, v1 as written: KILL.
        const added = (hc.CapAdd ?? []).map((c) => c.replace(/^CAP_/, '')).sort();
        t.deepEqual(added, expected.capAdd, service);
        t.true(hc.ReadonlyRootfs, `${service}: read-only root filesystem`);
        t.true((hc.SecurityOpt ?? []).includes('no-new-privileges:true'), service);
        const procs = await processes(id);
        t.true(procs.length > 0, service);
        for (const p of procs) {
          const what = `${service}: ${p.name} (uid ${p.uid})`;
          t.is(p.noNewPrivs, '1', what);
          if (p.uid === 0) t.regex(p.name, expected.rootProcesses, `${what} runs as root`);
          else t.is(p.capEff, '0000000000000000', `${what} has capabilities`);
        }
        // Nothing can be written outside the tmpfs and volumes.
        const write = await sh(`docker exec ${id} sh -c 'touch /etc/x 2>&1 || true'`);
        t.regex(write, /Read-only file system/, service);
      }
    }
  },
);

test.serial(
  "a replica: the sidecar runs as uid 101 and Node as 1000, and Node's user cannot open the sidecar's key",
  async (t) => {
    const [replica] = await containers('usersvc');
    const procs = await processes(replica!);
    t.is(procs.find((p) => p.name === 'envoy')?.uid, 101);
    t.is(procs.find((p) => p.name === 'MainThread' || p.name === 'node')?.uid, 1000);
    const asNode = await sh(
      `docker exec -u 1000:1000 ${replica} cat /run/mesh/key.pem 2>&1 >/dev/null || true`,
    );
    t.regex(asNode, /Permission denied/);
    // The control: the sidecar's user can, and Node reads its own two secrets.
    t.regex(
      await sh(`docker exec -u 101:101 ${replica} head -1 /run/mesh/key.pem`),
      /BEGIN EC PRIVATE KEY/,
    );
    t.notThrows(() =>
      sh(`docker exec -u 1000:1000 ${replica} test -r /run/secrets/usersvc_token_key`),
    );
    // The token signing key is the service's alone: not its sidecar's.
    t.regex(
      await sh(
        `docker exec -u 101:101 ${replica} cat /run/secrets/usersvc_token_key 2>&1 >/dev/null || true`,
      ),
      /Permission denied/,
    );
  },
);

test.serial('no container log holds a password or the token signing key', async (t) => {
  // The key's base64 body, one line of PEM at a time (any would give it away).
  const key = readFileSync(`${root}secrets/token-keys/current.pem`, 'utf8')
    .split('\n')
    .filter((l) => l.length >= 32 && !l.startsWith('-----'));
  const secrets = [
    ...key,
    ...['usersvc/db_password', 'postgres/superuser_password'].map((f) =>
      readFileSync(`${root}secrets/${f}`, 'utf8').trim(),
    ),
  ];
  t.true(secrets.every((s) => s.length >= 32));
  const ids = (await sh('docker ps -q --filter label=com.docker.compose.project=usermesh'))
    .split('\n')
    .filter(Boolean);
  t.true(ids.length >= 6);
  for (const id of ids) {
    const logs = await sh(`docker logs ${id} 2>&1`);
    for (const secret of secrets) t.false(logs.includes(secret), `${id}'s log`);
  }
});
