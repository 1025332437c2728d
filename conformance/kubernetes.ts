// The conformance adapter of the Kubernetes target: the manifests on the lab cluster
// (scripts/kubernetes-lab/lab.sh). The edge is the Service's NodePorts on the node's address;
// "another machine" is the test's network namespace (compose/test/outside.ts) routed to that
// address; a neighbour is a Pod in a namespace of its own that resolves the mesh's short names
// (NetworkPolicy keeps a Pod of the mesh's namespace without the mesh's labels from going
// anywhere at all). A workload is a Pod; a command runs in each of its containers, or in the
// one that runs as the user asked for (a replica's sidecar and service are two containers).
import { LIFTED_LIMITS } from '../scripts/lib/edge-config.js';
import { kubectl, NAMESPACE, readyReplicas } from '../scripts/kubernetes/cluster.js';
import { makeWith, root } from '../compose/test/helpers.js';
import type { OutsideClient } from '../compose/test/outside.js';
import { until } from '../scripts/lib/wait.js';
import { outsideProbes } from './outside.js';
import type { Target, Workload } from './target.js';

const NEIGHBOURS = 'conformance';

/** The node's address and the edge's NodePorts. */
export async function kubernetesEdge() {
  const address = (
    await kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
    ])
  ).trim();
  const port = async (name: string) =>
    Number(
      (
        await kubectl([
          'get',
          'service',
          'edge',
          '-o',
          `jsonpath={.spec.ports[?(@.name=="${name}")].nodePort}`,
        ])
      ).trim(),
    );
  return { address, https: await port('https'), http: await port('http') };
}

interface PodSpec {
  spec: {
    securityContext?: { runAsUser?: number };
    containers: { name: string; securityContext?: { runAsUser?: number } }[];
    initContainers?: {
      name: string;
      restartPolicy?: string;
      securityContext?: { runAsUser?: number };
    }[];
  };
}

/** A Pod's long-running containers and the user each runs as. */
async function containersOf(pod: string): Promise<{ name: string; uid: number | undefined }[]> {
  const { spec } = JSON.parse(await kubectl(['get', 'pod', pod, '-o', 'json'])) as PodSpec;
  const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  return [...sidecars, ...spec.containers].map((c) => ({
    name: c.name,
    uid: c.securityContext?.runAsUser ?? spec.securityContext?.runAsUser,
  }));
}

/** A Pod of its own namespace that only waits, with node (the usersvc image), made once. */
async function neighbourPod(): Promise<void> {
  const image = (
    await kubectl([
      'get',
      'deploy/usersvc',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ])
  ).trim();
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'neighbour', namespace: NEIGHBOURS },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000 },
      // The mesh's short names (edge, usersvc, postgres) resolve here as in the mesh.
      dnsConfig: { searches: [`${NAMESPACE}.svc.cluster.local`] },
      containers: [
        {
          name: 'neighbour',
          image,
          command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
  await kubectl(['create', 'namespace', NEIGHBOURS]).catch(() => '');
  await kubectl(['-n', NEIGHBOURS, 'apply', '-f', '-'], { input: JSON.stringify(pod) });
  await kubectl(
    ['-n', NEIGHBOURS, 'wait', '--for=condition=Ready', 'pod/neighbour', '--timeout=120s'],
    {
      timeoutMs: 130_000,
    },
  );
}

export function kubernetesTarget(
  edgeOf: () => { address: string; https: number; http: number },
  outside: () => OutsideClient,
): Target {
  let neighbourMade: Promise<void> | undefined;
  // The suite puts the mesh on the lab with the default limits first (a user's first
  // make kubernetes-up); lifting them rolls the edges onto a new ConfigMap.
  let deployed: 'default' | 'lifted' = 'default';
  return {
    name: 'kubernetes',
    // Known once the suite's before hook has put the mesh on the lab: read when a check runs.
    get https() {
      const edge = edgeOf();
      const ca = `${root}secrets/ca.pem`;
      return { host: edge.address, port: edge.https, servername: 'localhost', ca };
    },
    get outside() {
      const edge = edgeOf();
      return { address: edge.address, https: edge.https, plain: [edge.http], admin: [8001, 9901] };
    },
    ...outsideProbes((argv) => outside().inside(argv)),
    async neighbour<T>(script: string) {
      neighbourMade ??= neighbourPod();
      await neighbourMade;
      const out = await kubectl(
        ['-n', NEIGHBOURS, 'exec', '-i', 'neighbour', '--', 'node', '--input-type=module', '-'],
        { input: script, timeoutMs: 120_000 },
      );
      return JSON.parse(out) as T;
    },
    async workloads(): Promise<Workload[]> {
      const out = await kubectl([
        'get',
        'pods',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name} {.metadata.labels.app\\.kubernetes\\.io/name} {.metadata.deletionTimestamp}{"\\n"}{end}',
      ]);
      return out
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length === 2 && ['usersvc', 'edge', 'postgres'].includes(f[1]!))
        .map(([name, service]) => ({ name: name!, service: service! }));
    },
    async exec(w, script, user = 'nobody') {
      const containers = await containersOf(w.name);
      const chosen = user === 'nobody' ? containers : containers.filter((c) => c.uid === user);
      if (chosen.length === 0) throw new Error(`${w.name}: no container runs as uid ${user}`);
      const outs = await Promise.all(
        chosen.map((c) =>
          kubectl(['exec', w.name, '-c', c.name, '--', 'sh', '-c', script], { timeoutMs: 60_000 }),
        ),
      );
      return outs.join('\n\n');
    },
    // make kubernetes-up with the limits given (empty: the defaults): the edges roll onto them.
    limits: async (which) => {
      if (which === deployed) return;
      const env = Object.fromEntries(
        Object.entries(LIFTED_LIMITS).map(([k, v]) => [k, which === 'lifted' ? v : '']),
      );
      await makeWith(env, 'kubernetes-up');
      deployed = which;
    },
    get loadBase() {
      return `https://${edgeOf().address}:${edgeOf().https}`;
    },
    // As a user of a cluster would: kubectl scale, one replica fewer, until its Pod is gone.
    async removeReplica() {
      const n = (await readyReplicas()).length;
      await kubectl(['scale', 'deploy/usersvc', `--replicas=${n - 1}`]);
      await until(
        120_000,
        async () => {
          const pods = await kubectl([
            'get',
            'pods',
            '-l',
            'app.kubernetes.io/name=usersvc',
            '-o',
            'name',
          ]);
          return pods.split('\n').filter(Boolean).length === n - 1 ? true : undefined;
        },
        () => `usersvc did not come down to ${n - 1} Pods`,
      );
      return `kubectl scale deploy/usersvc --replicas=${n - 1}`;
    },
  };
}
