// The Kubernetes manifests, checked with no cluster (none runs here or in CI): kustomize builds
// the base and each overlay, kubernetes-validate checks every object against the Kubernetes
// API's schemas with unknown fields refused, the edge's config as its ConfigMap carries it
// passes `envoy --mode validate`, and what the mesh relies on is read from the objects.
// The tools are pinned in scripts/kubernetes/check.sh (installed into .cache/ on first use).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { parse, parseAllDocuments } from 'yaml';
import {
  deployedConfig,
  envoyValidate,
  inlineLive,
  renderedEdge,
} from '../../envoy/test/edge-static.js';
import { remoteEdgeSettingsFromEnv, writeEdgeFiles } from '../../scripts/lib/edge-config.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- Kubernetes objects as plain data */
type Any = Record<string, any>;

const root = new URL('../..', import.meta.url).pathname;
const run = (command: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
const check = (...args: string[]) => run('scripts/kubernetes/check.sh', args);
const validator = `${root}.cache/kubernetes/venv/bin/kubernetes-validate`;
const documents = (text: string): Any[] => parseAllDocuments(text).map((d) => d.toJS() as Any);

const lab = documents(check('build', 'kubernetes/overlays/lab'));
const find = (kind: string, name: string | RegExp): Any => {
  const found = lab.find(
    (o) =>
      o.kind === kind &&
      (typeof name === 'string' ? o.metadata.name === name : name.test(o.metadata.name)),
  );
  if (!found) throw new Error(`no ${kind} ${String(name)} in overlays/lab`);
  return found;
};
const workloads = () => lab.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
const container = (kind: string, name: string): Any =>
  find(kind, name).spec.template.spec.containers[0];
const app = (selector: Any): string =>
  selector?.podSelector?.matchLabels?.['app.kubernetes.io/name'];

test('kustomize builds the base and every overlay, and every object is valid against the API schemas (strict)', (t) => {
  const said = check();
  t.regex(said, /kubernetes\/base: \d+ objects, valid/);
  t.regex(said, /kubernetes\/overlays\/lab: \d+ objects, valid/);
});

test('the strict validation is not a formality: an unknown field or a wrong type is refused', (t) => {
  const dir = mkdtempSync(`${tmpdir()}/k8s-`);
  const objects = lab.filter((o) => o.kind === 'PodDisruptionBudget');
  for (const [what, change] of [
    ['unknown field', (o: Any) => (o.spec.minAvailabel = 1)],
    ['wrong type', (o: Any) => (o.spec.minAvailable = { one: 1 })],
  ] as const) {
    const bad = structuredClone(objects[0]!);
    change(bad);
    writeFileSync(`${dir}/bad.json`, JSON.stringify(bad));
    t.throws(() => run(validator, ['--strict', '--quiet', `${dir}/bad.json`]), undefined, what);
  }
});

test("the edge's config as its ConfigMap carries it passes envoy --mode validate; its admin window answers only 127.0.0.1", (t) => {
  const live = find('ConfigMap', /^edge-live-/).data;
  const routes = parse(live['routes.yaml']).resources[0];
  const clusters = parse(live['clusters.yaml']).resources;
  const env = container('Deployment', 'edge').env as { name: string; value: string }[];
  const from = env.find((e) => e.name === 'EDGE_ADMIN_FROM')?.value;
  t.is(from, '127.0.0.1', 'kubectl port-forward arrives on the pod loopback');
  const edge = inlineLive(parse(renderedEdge(from)), routes, clusters);
  const result = envoyValidate(
    deployedConfig('edge.yaml', mkdtempSync(`${tmpdir()}/k8s-edge-`), edge),
  );
  t.is(result.status, 0, result.stderr + result.stdout);
  t.true(JSON.stringify(edge).includes('"address_prefix":"127.0.0.1"'));
  // It routes to the headless Service's name, over mTLS, expecting the usersvc identity.
  const usersvc = clusters.find((c: Any) => c.name === 'usersvc');
  t.is(usersvc.type, 'STRICT_DNS');
  t.deepEqual(
    usersvc.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address,
    { address: 'usersvc', port_value: 8080 },
  );
  t.true(JSON.stringify(usersvc.transport_socket).includes('spiffe://appmesh/usersvc'));
});

test("the edge's ConfigMap files are what the templates render now (make kubernetes writes them)", (t) => {
  const dir = mkdtempSync(`${tmpdir()}/k8s-live-`);
  // Each edge pod enforces its share of the per-client limits: as many shares as pods.
  const deployment = documents(readFileSync(`${root}kubernetes/base/edge.yaml`, 'utf8')).find(
    (d) => d.kind === 'Deployment',
  )!;
  // And a Service cannot publish plain HTTP on loopback only: it redirects to HTTPS.
  const settings = remoteEdgeSettingsFromEnv({}, deployment.spec.replicas as number);
  t.is(settings.http?.mode, 'redirect');
  writeEdgeFiles(dir, settings);
  for (const name of ['routes.yaml', 'clusters.yaml']) {
    t.is(
      readFileSync(`${root}kubernetes/base/edge/${name}`, 'utf8'),
      readFileSync(`${dir}/${name}`, 'utf8'),
      `kubernetes/base/edge/${name} is stale: make kubernetes`,
    );
  }
});

test('every container: requests, a memory limit, readiness and liveness probes, no root, no capabilities, a read-only root filesystem, no service-account token', (t) => {
  t.is(workloads().length, 3);
  for (const w of workloads()) {
    const pod = w.spec.template.spec;
    const c = pod.containers[0];
    const where = `${w.kind} ${w.metadata.name}`;
    t.truthy(c.resources.requests.cpu && c.resources.requests.memory, where);
    t.truthy(c.resources.limits.memory, where);
    t.truthy(c.readinessProbe, where);
    t.truthy(c.livenessProbe, where);
    t.true(pod.securityContext.runAsNonRoot, where);
    t.false(c.securityContext.allowPrivilegeEscalation, where);
    t.deepEqual(c.securityContext.capabilities.drop, ['ALL'], where);
    t.true(c.securityContext.readOnlyRootFilesystem, where);
    t.false(pod.automountServiceAccountToken, where);
    // Where it writes is a volume of its own (an emptyDir), /tmp at least.
    t.true(
      (c.volumeMounts as { mountPath: string }[]).some((m) => m.mountPath === '/tmp'),
      `${where}: /tmp`,
    );
    t.true(Number.isInteger(pod.terminationGracePeriodSeconds), where);
    t.true(
      c.image.startsWith('registry.example.com/usermesh/'),
      `${where}: the overlay's image, got ${c.image}`,
    );
  }
  t.is(
    find('Namespace', 'usermesh').metadata.labels['pod-security.kubernetes.io/enforce'],
    'restricted',
  );
});

test("usersvc: the sidecar and Node in two containers under two users, the mesh key mounted in the sidecar's only", (t) => {
  const pod = find('Deployment', 'usersvc').spec.template.spec;
  const sidecar = (pod.initContainers as Any[])[0]!;
  const app = (pod.containers as Any[])[0]!;
  const env = (c: Any) => Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
  t.is(sidecar.restartPolicy, 'Always', 'a native sidecar: up before the service, down after it');
  t.is(env(sidecar).MESH_ROLE, 'proxy');
  t.is(env(app).MESH_ROLE, 'app');
  const uid = (c: Any) => c.securityContext.runAsUser ?? pod.securityContext.runAsUser;
  t.is(uid(sidecar), 101);
  t.is(uid(app), 1000);
  const mounts = (c: Any) => (c.volumeMounts as Any[]).map((m) => m.name as string);
  t.true(mounts(sidecar).includes('mesh'));
  t.false(mounts(app).includes('mesh'), "Node's container mounts the mesh key");
  t.false(mounts(sidecar).includes('secrets'), "the sidecar's container mounts Node's secrets");
  t.false(sidecar.securityContext.allowPrivilegeEscalation);
  t.true(sidecar.securityContext.readOnlyRootFilesystem);
  t.deepEqual(sidecar.securityContext.capabilities.drop, ['ALL']);
  t.truthy(sidecar.startupProbe);
});

test('replicas come and go without a lost request: headless DNS of ready pods, surge before removal, a preStop wait, disruption budgets', (t) => {
  const service = find('Service', 'usersvc');
  t.is(service.spec.clusterIP, 'None');
  t.falsy(service.spec.publishNotReadyAddresses);
  // Long enough for cluster DNS's cache (5 s) and the edge's first health check (1 s): found
  // on the lab cluster, where 0 let an edge see only unchecked pods during a rolling update.
  t.true(find('Deployment', 'usersvc').spec.minReadySeconds >= 10);
  for (const name of ['usersvc', 'edge']) {
    const d = find('Deployment', name);
    t.deepEqual(d.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 }, name);
    t.truthy(container('Deployment', name).lifecycle.preStop, name);
    const pdb = find('PodDisruptionBudget', name);
    t.deepEqual(pdb.spec.selector, d.spec.selector, name);
    t.is(pdb.spec.minAvailable, 1, name);
  }
  t.is(find('Deployment', 'usersvc').spec.replicas, 3, 'the overlay scales the base');
  const postgres = find('StatefulSet', 'postgres');
  t.is(postgres.spec.serviceName, 'postgres');
  t.is(postgres.spec.volumeClaimTemplates[0].spec.accessModes[0], 'ReadWriteOnce');
  t.is(find('Service', 'postgres').spec.clusterIP, 'None');
});

test("NetworkPolicy: everything denied but what the sidecars' RBAC lets in (edge -> usersvc -> postgres)", (t) => {
  const policies = lab.filter((o) => o.kind === 'NetworkPolicy');
  const deny = policies.find((p) => p.metadata.name === 'default-deny')!;
  t.deepEqual(deny.spec.podSelector, {});
  t.deepEqual(deny.spec.policyTypes, ['Ingress', 'Egress']);
  t.falsy(deny.spec.ingress);
  t.falsy(deny.spec.egress);

  // The identity each sidecar lets in, from its Envoy config: the NetworkPolicy must name the same caller.
  const allowedBy = (config: string) =>
    /principal_name: \{ exact: spiffe:\/\/appmesh\/(\w+) \}/.exec(
      readFileSync(`${root}envoy/${config}`, 'utf8'),
    )![1];
  for (const [callee, config, port] of [
    ['usersvc', 'sidecar.yaml', 8080],
    ['postgres', 'postgres-sidecar.yaml', 5432],
  ] as const) {
    const policy = policies.find((p) => app(p.spec) === callee)!;
    t.is(policy.spec.ingress.length, 1, callee);
    t.deepEqual(policy.spec.ingress[0].from.map(app), [allowedBy(config)], `${callee}: callers`);
    t.deepEqual(policy.spec.ingress[0].ports, [{ protocol: 'TCP', port }], callee);
  }
  const edge = policies.find((p) => app(p.spec) === 'edge')!;
  t.deepEqual(edge.spec.egress[0].to.map(app), ['usersvc']);
  t.falsy(edge.spec.ingress[0].from, 'anyone may call the edge');
  t.deepEqual(
    edge.spec.ingress[0].ports,
    [
      { protocol: 'TCP', port: 8443 },
      { protocol: 'TCP', port: 8000 },
    ],
    'HTTPS and HTTP in; the edge admin window (8001) is not let in',
  );
});

test('no Secret is in the manifests; meshctl kubernetes secrets makes the ones they name, from real certificates, valid', (t) => {
  t.is(lab.filter((o) => o.kind === 'Secret').length, 0);
  const named = new Set(
    workloads().flatMap((w) =>
      w.spec.template.spec.volumes
        .filter((v: Any) => v.secret)
        .map((v: Any) => v.secret.secretName),
    ),
  );
  // A throwaway install's secrets, made by the mesh CA's own script (openssl).
  const dir = mkdtempSync(`${tmpdir()}/k8s-secrets-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  run('bash', ['scripts/mesh-ca/mesh-ca.sh', 'init'], { MESH_CA_DIR: dir });
  run('bash', ['scripts/mesh-ca/mesh-ca.sh', 'static', '30'], { MESH_CA_DIR: dir });
  const manifest = run('node', ['bin/meshctl.js', 'kubernetes', 'secrets', '--from', dir]);
  const secrets = documents(manifest).filter(Boolean);
  t.deepEqual(secrets.map((s) => s.metadata.name).sort(), [...named].sort());
  writeFileSync(`${dir}/secrets.yaml`, manifest);
  t.notThrows(() => run(validator, ['--strict', '--quiet', `${dir}/secrets.yaml`]));
  const cert = Buffer.from(
    secrets.find((s) => s.metadata.name === 'usersvc-mesh')!.data['cert.pem'],
    'base64',
  ).toString();
  t.regex(
    execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], {
      input: cert,
      encoding: 'utf8',
    }),
    /URI:spiffe:\/\/appmesh\/usersvc/,
  );
});
