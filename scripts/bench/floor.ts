// make bench's `floor` path: the mesh's two hops through two minimal Envoys, router only (no
// TLS, access log, health-check filter, request id, limits, tracing or admin), with the same
// worker counts and protocols as the shipped edge and sidecar (h2 between them, HTTP/1.1 to
// Node). Next to `direct` and `mesh` it splits the mesh's cost in two: what Envoy itself costs
// (floor over direct) and what our configuration adds (mesh over floor). With several replicas
// (the scaling curve) each gets a floor sidecar of its own, and the floor edge balances over them
// round robin, as the mesh's edge does.
//   load generator (replica's namespace) -> floor edge (a container of its own) -> floor
//   sidecar (in the replica's namespace) -> Node on 127.0.0.1:5000
// The floor proxies talk over a private network that only they, the replicas and the load
// generator join (--internal, created and removed by the bench), so nothing on appmesh can reach
// Node past its real sidecar meanwhile.
import { docker, removeNetwork } from '../lib/docker.js';

export const FLOOR_NETWORK = 'usermesh_bench_floor';
export const FLOOR_EDGE = 'usermesh_bench_floor_edge';
const FLOOR_SIDECAR = 'usermesh_bench_floor_sidecar';
/** The floor sidecar beside the `i`th replica given to startFloor (from 0). */
export const floorSidecar = (i: number) => `${FLOOR_SIDECAR}_${i + 1}`;
export const FLOOR_EDGE_PORT = 8100;
export const FLOOR_SIDECAR_PORT = 8090;

const ROUTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

/**
 * One HTTP listener that routes everything to one cluster, round robin over its addresses:
 * nothing else. As one line
 * of JSON (which is YAML): it goes in Envoy's command line (--config-yaml), and make bench reads
 * the processes' command lines a line each.
 */
export function floorConfig(
  listen: string,
  port: number,
  upstream: { addresses: string[]; port: number; http2: boolean },
): string {
  return JSON.stringify({
    static_resources: {
      listeners: [
        {
          name: 'floor',
          address: { socket_address: { address: listen, port_value: port } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'floor',
                    codec_type: 'AUTO',
                    generate_request_id: false,
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [{ match: { prefix: '/' }, route: { cluster: 'next' } }],
                        },
                      ],
                    },
                    http_filters: [ROUTER],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'next',
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: upstream.http2
                ? { http2_protocol_options: {} }
                : { http_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: 'next',
            endpoints: [
              {
                lb_endpoints: upstream.addresses.map((address) => ({
                  endpoint: { address: { socket_address: { address, port_value: upstream.port } } },
                })),
              },
            ],
          },
        },
      ],
    },
  });
}

const envoyRun = (name: string, network: string, config: string, workers: string[]) =>
  docker([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    network,
    '--entrypoint',
    'envoy',
    'usermesh/edge',
    '--config-yaml',
    config,
    '--disable-hot-restart',
    '--log-level',
    'warn',
    ...workers,
  ]);

const address = async (container: string) =>
  (
    await docker([
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${FLOOR_NETWORK}").IPAddress}}`,
      container,
    ])
  ).trim();

/**
 * Starts a floor sidecar beside each of `replicas` and the floor edge in front of them, and
 * connects `also` (a load generator outside the replicas' namespaces) to their network; the URL
 * the load generator uses.
 */
export async function startFloor(replicas: string[], also: string[] = []): Promise<string> {
  await stopFloor();
  await docker(['network', 'create', '--internal', FLOOR_NETWORK]);
  for (const c of [...replicas, ...also]) await docker(['network', 'connect', FLOOR_NETWORK, c]);
  const addresses = await Promise.all(replicas.map(address));
  // The sidecar's worker count as the shipped sidecar's (1); the edge's one per core: on 2
  // cores as many threads as compose's two edges of EDGE_WORKERS (1) each, which the mesh
  // path crosses (the port holder spreads connections over both).
  await Promise.all(
    replicas.map((replica, i) =>
      envoyRun(
        floorSidecar(i),
        `container:${replica}`,
        floorConfig(addresses[i]!, FLOOR_SIDECAR_PORT, {
          addresses: ['127.0.0.1'],
          port: 5000,
          http2: false,
        }),
        ['--concurrency', '1'],
      ),
    ),
  );
  await envoyRun(
    FLOOR_EDGE,
    FLOOR_NETWORK,
    floorConfig('0.0.0.0', FLOOR_EDGE_PORT, { addresses, port: FLOOR_SIDECAR_PORT, http2: true }),
    [],
  );
  return `http://${await address(FLOOR_EDGE)}:${FLOOR_EDGE_PORT}`;
}

/** Full ids of the floor's proxies (running, or all of them with { all: true }). */
export const floorProxies = async ({ all = false } = {}) =>
  (
    await docker([
      'ps',
      '-q',
      '--no-trunc',
      ...(all ? ['-a'] : []),
      '--filter',
      'name=usermesh_bench_floor_',
    ])
  )
    .split('\n')
    .filter(Boolean);

/** Removes the floor proxies and their network (whatever of them exists), first disconnecting whoever joined it. */
export async function stopFloor(): Promise<void> {
  const proxies = await floorProxies({ all: true });
  if (proxies.length) await docker(['rm', '-f', ...proxies]);
  await removeNetwork(FLOOR_NETWORK);
}
