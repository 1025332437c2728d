// The manifests on a real one-node Kubernetes cluster built from upstream sources
// (scripts/kubernetes-lab/lab.sh), the mesh put on it by make kubernetes-up, then used as a
// user of a cluster would: kubectl scale, delete, set image, exec. Traffic goes only to the
// lab's own addresses (the edge's NodePort on the lab's bridge). Everything the lab made is
// removed at the end, also when a test fails.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import { kubernetesEdge, kubernetesTarget } from '../../conformance/kubernetes.js';
import { conformance } from '../../conformance/suite.js';
import { call, MIXED, root, sh, steadyLoad, until } from '../../compose/test/helpers.js';
import { outsideClient, type OutsideClient } from '../../compose/test/outside.js';
import {
  answering,
  edgeUrl,
  kubectl,
  LAB,
  readyReplicas,
  REGISTRY,
} from '../../scripts/kubernetes/cluster.js';

let EDGE = '';
const lines = (text: string) => text.split('\n').filter(Boolean);
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

/**
 * What of the host the lab may touch, as text: iptables and ipsets, links, network
 * namespaces, mounts, the kernel settings the kubelet and kube-proxy change, the kubelet's and
 * CNI's own paths. `down` must leave it as `up` found it.
 */
const hostState = async () =>
  (
    await sh(
      `{ iptables-save; ip6tables-save; ipset list -n; ip -o link | awk '{print $2}'; ip netns list;
         sysctl vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
           net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables;
         awk '{print $2}' /proc/mounts; ls -d /var/lib/kubelab /var/lib/kubelet /var/lib/cni;
         ls /var/log/containers; pgrep -f '[.]cache/kubernetes-lab|[k]ubelab/containerd'; } 2>&1 |
       grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]//' | sort`,
    )
  )
    .split('\n')
    // A table the lab merely caused the kernel to load, with its built-in chains accepting:
    // nothing the lab left (it stays loaded, and whoever uses it first loads it).
    .filter(
      (line) =>
        line && !/^(\*\w+|:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT\s*)$/.test(line),
    );
let before: string[] = [];
let edge: Awaited<ReturnType<typeof kubernetesEdge>>;
let outside: OutsideClient;

test.before(async (t) => {
  let started = Date.now();
  await sh(`${LAB} down`, 300_000);
  before = await hostState();
  await sh(`${LAB} up`, 900_000);
  t.log(`the lab cluster up in ${seconds(started)} s`);
  started = Date.now();
  // With the default limits, as a user's first make kubernetes-up: the conformance suite checks
  // them, then lifts them for the tests that load the edge from this one address.
  await sh(`make --no-print-directory kubernetes-up`, 900_000, {});
  EDGE = await edgeUrl();
  edge = await kubernetesEdge();
  outside = await outsideClient();
  t.log(`the mesh on it in ${seconds(started)} s, the edge at ${EDGE}`);
});

test.after.always(async () => {
  await outside?.stop();
  await kubectl(['delete', 'namespace', 'conformance', '--wait=false']).catch(() => '');
  if (!process.env.KEEP_LAB) await sh(`${LAB} down`, 300_000);
});

/** Polls until the edge answers from exactly the ready replicas, and there are `want` of them. */
async function edgeRoutesToReady(want: number, seconds = 180): Promise<string[]> {
  return until(
    seconds * 1000,
    async () => {
      const ready = await readyReplicas();
      if (ready.length !== want) return undefined;
      const seen = await answering(EDGE, want * 8);
      const same = seen.size === want && ready.every((r) => seen.has(r));
      return same ? ready : undefined;
    },
    () => `the edge did not answer from exactly ${want} ready replicas`,
  );
}

/** Runs `change` under a steady mixed load through the edge; its figures, and no failure. */
async function underLoad(t: ExecutionContext, what: string, change: () => Promise<void>) {
  const load = steadyLoad(MIXED, 4, EDGE);
  const started = Date.now();
  await change();
  const { total, failures, versions } = await load.stop();
  t.log(`${what}: ${total} requests, ${failures.length} failed, ${seconds(started)} s`);
  t.deepEqual(failures.slice(0, 5), [], `${what}: failed requests`);
  t.true(total > 50, `${what}: the load ran (${total} requests)`);
  return versions;
}

test.serial('1. the walk-through, through the edge Service', async (t) => {
  const health = await call('/user/health', {}, EDGE);
  t.is(health.status, 200);
  t.like(health.body, { ok: true });
  const alice = await call(
    '/user/alice',
    { method: 'PUT', json: { fullname: 'Alice', password: 'alicerules' } },
    EDGE,
  );
  t.is(alice.status, 201);
  t.like((await call('/user/alice', {}, EDGE)).body, { ok: true, fullname: 'Alice' });
  const again = await call(
    '/user/alice',
    { method: 'PUT', json: { fullname: 'Alice', password: 'alicerules' } },
    EDGE,
  );
  t.is(again.status, 409);
  const bob = { method: 'PUT', json: { fullname: 'Bob', password: 'bobrules' } };
  t.is((await call('/user/bob', bob, EDGE)).status, 201);
  const login = await call(
    '/user/bob/login',
    { method: 'POST', json: { password: 'bobrules' } },
    EDGE,
  );
  t.is(login.status, 200);
  const wrong = await call(
    '/user/bob/login',
    { method: 'POST', json: { password: 'not bobs' } },
    EDGE,
  );
  t.is(wrong.status, 401);
  const del = await call(
    '/user/bob',
    { method: 'DELETE', headers: { authorization: `Bearer ${String(login.body.token)}` } },
    EDGE,
  );
  t.is(del.status, 200);
  t.is((await call('/user/bob', {}, EDGE)).status, 404);
  // Three replicas (the lab overlay), each answering through the edge.
  t.is((await edgeRoutesToReady(3)).length, 3);
});

/** GET over HTTPS to the edge's https NodePort, trusting the install's CA (secrets/ca.pem). */
async function httpsGet(path: string): Promise<{ status: number; hsts: string; body: string }> {
  const port = (
    await kubectl([
      'get',
      'service',
      'edge',
      '-o',
      'jsonpath={.spec.ports[?(@.name=="https")].nodePort}',
    ])
  ).trim();
  const { hostname } = new URL(EDGE);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      // The certificate names localhost (and EDGE_HOSTNAMES); the node's address is not one.
      {
        host: hostname,
        port,
        path,
        servername: 'localhost',
        ca: readFileSync(`${root}secrets/ca.pem`),
        checkServerIdentity: (_host, cert) => checkServerIdentity('localhost', cert),
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            hsts: String(res.headers['strict-transport-security']),
            body,
          }),
        );
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`https ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

test.serial(
  '1b. HTTPS through the edge Service, with the certificate the Secret carries',
  async (t) => {
    const reply = await httpsGet('/user/alice');
    t.is(reply.status, 200);
    t.regex(reply.body, /"fullname":"Alice"/);
    t.regex(reply.hsts, /max-age=31536000/);
  },
);

/** A Pod that only waits, to knock on the mesh's Pods from: `name` in `namespace`. */
function probePod(name: string, namespace: string, image: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { role: 'probe' } },
    spec: {
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'probe',
          image, // the usersvc image: it has node
          command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
          // Never ready: given the mesh's labels below, it must not become an endpoint.
          readinessProbe: { exec: { command: ['false'] }, periodSeconds: 60 },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
    },
  };
}

/** Whether a TCP connection from a probe Pod to host:port opens within 3 s. */
async function opens(pod: string, namespace: string, host: string, port: number) {
  const script = `const s = require('net').connect(${port}, '${host}');
    s.setTimeout(3000);
    s.on('connect', () => { console.log('open'); process.exit(0); });
    s.on('timeout', () => { console.log('timeout'); process.exit(0); });
    s.on('error', (e) => { console.log(e.code); process.exit(0); });`;
  return (await kubectl(['-n', namespace, 'exec', pod, '--', 'node', '-e', script])).trim();
}

const podIp = async (pod: string) =>
  (await kubectl(['get', 'pod', pod, '-o', 'jsonpath={.status.podIP}'])).trim();

test.serial(
  '2. NetworkPolicy is enforced: anyone reaches the edge, only the edge usersvc, only usersvc postgres',
  async (t) => {
    const image = await kubectl([
      'get',
      'deploy/usersvc',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    // A stranger in a namespace of its own (no policy limits where it may go), and a Pod in
    // the mesh's namespace that takes the mesh's labels one after the other.
    await kubectl(['create', 'namespace', 'stranger']);
    for (const [pod, namespace] of [
      ['stranger', 'stranger'],
      ['probe', 'usermesh'],
    ])
      await kubectl(['-n', namespace!, 'apply', '-f', '-'], {
        input: JSON.stringify(probePod(pod!, namespace!, image)),
      });
    for (const [pod, namespace] of [
      ['stranger', 'stranger'],
      ['probe', 'usermesh'],
    ])
      await kubectl([
        '-n',
        namespace!,
        'wait',
        '--for=jsonpath={.status.phase}=Running',
        `pod/${pod}`,
        '--timeout=120s',
      ]);
    const edge = await podIp(
      (
        await kubectl([
          'get',
          'pods',
          '-l',
          'app.kubernetes.io/name=edge',
          '-o',
          'jsonpath={.items[0].metadata.name}',
        ])
      ).trim(),
    );
    const usersvc = await podIp((await readyReplicas())[0]!);
    const postgres = await podIp('postgres-0');

    const stranger = (host: string, port: number) => opens('stranger', 'stranger', host, port);
    t.is(await stranger(edge, 8443), 'open', 'the edge takes HTTPS from anyone');
    t.is(await stranger(edge, 8000), 'open', 'the edge takes HTTP from anyone');
    t.not(await stranger(edge, 8001), 'open', "the edge's admin window");
    t.not(await stranger(usersvc, 8080), 'open', 'a stranger reached usersvc:8080');
    t.not(await stranger(postgres, 5432), 'open', 'a stranger reached postgres:5432');

    // In the mesh's namespace with no label of the mesh: it may not even leave its Pod.
    const probe = (host: string, port: number) => opens('probe', 'usermesh', host, port);
    t.not(await probe(usersvc, 8080), 'open', 'an unlabelled Pod reached usersvc:8080');
    t.not(await probe(edge, 8000), 'open', 'an unlabelled Pod of the namespace went out');
    // As the edge: usersvc opens, postgres does not.
    await kubectl(['label', 'pod/probe', 'app.kubernetes.io/name=edge']);
    const opened = (host: string, port: number, what: string) =>
      until(
        30_000,
        async () => ((await probe(host, port)) === 'open' ? true : undefined),
        () => what,
      );
    t.true(
      await opened(usersvc, 8080, 'labelled as the edge, the probe never reached usersvc:8080'),
    );
    t.not(await probe(postgres, 5432), 'open', 'the edge reached postgres:5432');
    // As usersvc: postgres opens, by its name (the dns policy: CoreDNS in its Pod).
    await kubectl(['label', '--overwrite', 'pod/probe', 'app.kubernetes.io/name=usersvc']);
    t.true(await opened('postgres', 5432, 'labelled as usersvc, the probe never reached postgres'));
    await kubectl(['delete', 'pod/probe', '--wait=false']);
    await kubectl(['delete', 'namespace', 'stranger', '--wait=false']);
  },
);

test.serial(
  '3. exec into usersvc: its own keys only (the mesh key in the sidecar, the token key in the service), a read-only root, probes that pass',
  async (t) => {
    const pod = (await readyReplicas())[0]!;
    const inContainer =
      (container: string) =>
      (...command: string[]) =>
        kubectl(['exec', pod, '-c', container, '--', ...command]).catch((e: Error) => e.message);
    const exec = inContainer('usersvc');
    const sidecar = inContainer('sidecar');
    const files = lines(await sidecar('ls', '/run/mesh/'));
    t.log(`/run/mesh of ${pod}'s sidecar: ${files.join(' ')}`);
    const certificate = await sidecar('cat', '/run/mesh/cert.pem');
    t.regex(certificate, /BEGIN CERTIFICATE/);
    t.regex(new X509Certificate(certificate).subjectAltName!, /^URI:spiffe:\/\/appmesh\/usersvc\b/);
    // No other service's key is in the pod, by any path: not mounted, no API token to fetch it;
    // and the service's own container has no mesh key (its sidecar's container holds it).
    const findKeys =
      'find / -xdev -name "*key*.pem" 2>/dev/null; find /run -name "*key*" 2>/dev/null';
    const everyKey = lines(await sidecar('sh', '-c', findKeys));
    t.log(`key files: ${everyKey.join(' ')}`);
    t.true(everyKey.length > 0, "the sidecar's key is found");
    for (const path of everyKey)
      t.regex(path, /^\/run\/mesh\//, `${path}: a key outside its own mount`);
    // The service's container holds one key: its token signing key (the Secret volume's file
    // and the link to it), none of the mesh's.
    const serviceKeys = lines(await exec('sh', '-c', findKeys));
    t.log(`key files in the service's container: ${serviceKeys.join(' ')}`);
    t.true(serviceKeys.length > 0, 'the token signing key is there');
    for (const path of serviceKeys)
      t.regex(
        path,
        /^\/run\/secrets\/(\.\.[\w.]+\/)?usersvc_token_key$/,
        `${path}: another key in the service's container`,
      );
    for (const run of [exec, sidecar])
      t.regex(
        await run('ls', '/var/run/secrets/kubernetes.io/serviceaccount'),
        /No such file/,
        'a service-account token is mounted',
      );
    t.regex(
      await kubectl(['get', 'secret', 'edge-mesh']).catch((e: Error) => e.message),
      /edge-mesh/,
    );
    // The root filesystem refuses writes; the probes that need /tmp pass (the pod is Ready).
    t.regex(await exec('touch', '/probe-write'), /Read-only file system/);
    const ready = await kubectl([
      'get',
      'pod',
      pod,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].restartCount}',
    ]);
    t.is(ready.trim(), 'True 0', `${pod}: Ready, and never restarted by its liveness probe`);
  },
);

conformance(
  test,
  kubernetesTarget(
    () => edge,
    () => outside,
  ),
);

test.serial(
  '4. kubectl scale 4, then 2, under load: the edge follows, nothing fails',
  async (t) => {
    await underLoad(t, 'scale 3 -> 4 -> 2', async () => {
      await kubectl(['scale', 'deploy/usersvc', '--replicas=4']);
      let started = Date.now();
      await edgeRoutesToReady(4);
      t.log(`4 ready replicas, all answering through the edge, in ${seconds(started)} s`);
      started = Date.now();
      await kubectl(['scale', 'deploy/usersvc', '--replicas=2']);
      await edgeRoutesToReady(2);
      t.log(`2 replicas, only they answering, in ${seconds(started)} s`);
    });
  },
);

test.serial('5. a Pod deleted under load: nothing fails, the Deployment replaces it', async (t) => {
  const [victim] = await readyReplicas();
  await underLoad(t, `kubectl delete pod ${victim}`, async () => {
    await kubectl(['delete', 'pod', victim!, '--wait=true', '--timeout=120s'], {
      timeoutMs: 130_000,
    });
    const ready = await edgeRoutesToReady(2);
    t.false(ready.includes(victim!));
  });
});

test.serial(
  '6. a rolling update to a new image tag under load: nothing fails, then only the new version answers',
  async (t) => {
    const next = `${REGISTRY}/usersvc:rollout-test`;
    const version = `rollout-test-${Date.now()}`;
    await sh(
      `printf 'FROM usermesh/usersvc:latest\\nENV SERVICE_VERSION=${version}\\n' | docker build -q -t ${next} - && ${LAB} import ${next}`,
      300_000,
    );
    const versions = await underLoad(t, 'kubectl set image (2 replicas)', async () => {
      await kubectl(['set', 'image', 'deploy/usersvc', `usersvc=${next}`]);
      await kubectl(['rollout', 'status', 'deploy/usersvc', '--timeout=300s'], {
        timeoutMs: 310_000,
      });
      await edgeRoutesToReady(2);
    });
    t.log(`answers by version: ${JSON.stringify(Object.fromEntries(versions))}`);
    t.true((versions.get(version) ?? 0) > 0, 'the new version answered under load');
    for (let i = 0; i < 20; i++) t.is((await call('/user/health', {}, EDGE)).body.version, version);
  },
);

test.serial('7. lab.sh down leaves the host as up found it', async (t) => {
  await outside.stop(); // the conformance suite's client: the test's, not the lab's
  const started = Date.now();
  await sh(`${LAB} down`, 300_000);
  t.log(`down in ${seconds(started)} s`);
  const after = await hostState();
  t.deepEqual(
    after.filter((line) => !before.includes(line)),
    [],
    'what down left behind',
  );
  t.deepEqual(
    before.filter((line) => !after.includes(line)),
    [],
    'what down removed that was there before up',
  );
});
