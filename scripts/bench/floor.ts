// make bench's `floor` path: the mesh's two hops through two minimal Envoys, router only (no
// TLS, access log, health-check filter, request id, limits, tracing or admin), with the same
// worker counts and protocols as the shipped edge and sidecar (h2 between them, HTTP/1.1 to
// Node). Next to `direct` and `mesh` it splits the mesh's cost in two: what Envoy itself costs
// (floor over direct) and what our configuration adds (mesh over floor).
//   load generator (replica's namespace) -> floor edge (a container of its own) -> floor
//   sidecar (in the replica's namespace) -> Node on 127.0.0.1:5000
// The two floor proxies talk over a private network that only they and the replica join
// (--internal, created and removed by the bench), so nothing on appmesh can reach Node past
// its real sidecar meanwhile.
import { docker } from '../lib/docker.js';

export const FLOOR_NETWORK = 'usermesh_bench_floor';
export const FLOOR_EDGE = 'usermesh_bench_floor_edge';
export const FLOOR_SIDECAR = 'usermesh_bench_floor_sidecar';
export const FLOOR_EDGE_PORT = 8100;
export const FLOOR_SIDECAR_PORT = 8090;

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

/**
 * One HTTP listener that routes everything to one upstream address: nothing else. As one line
 * of JSON (which is YAML): it goes in Envoy's command line (--config-yaml), and make bench reads
 * the processes' command lines a line each.
 */
export function floorConfig(listen: string, port: number, upstream: { address: string; port: number; http2: boolean }): string {
  return JSON.stringify({
    static_resources: {
      listeners: [{
        name: 'floor',
        address: { socket_address: { address: listen, port_value: port } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'floor',
              codec_type: 'AUTO',
              generate_request_id: false,
              route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'next' } }] }] },
              http_filters: [ROUTER],
            },
          }],
        }],
      }],
      clusters: [{
        name: 'next',
        type: 'STATIC',
        connect_timeout: '1s',
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: upstream.http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
          },
        },
        load_assignment: { cluster_name: 'next', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: upstream.address, port_value: upstream.port } } } }] }] },
      }],
    },
  });
}

const envoyRun = (name: string, network: string, config: string, workers: string[]) =>
  docker(['run', '-d', '--name', name, '--network', network, '--entrypoint', 'envoy', 'usermesh/edge',
    '--config-yaml', config, '--disable-hot-restart', '--log-level', 'warn', ...workers]);

const address = async (container: string) =>
  (await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${FLOOR_NETWORK}").IPAddress}}`, container])).trim();

/** Starts the two floor proxies beside `replica`; the URL the load generator (in its namespace) uses. */
export async function startFloor(replica: string): Promise<string> {
  await stopFloor(replica);
  await docker(['network', 'create', '--internal', FLOOR_NETWORK]);
  await docker(['network', 'connect', FLOOR_NETWORK, replica]);
  const sidecarAddress = await address(replica);
  // The sidecar's worker count as the shipped sidecar's (1); the edge's as the shipped edge's (one per core).
  await envoyRun(FLOOR_SIDECAR, `container:${replica}`, floorConfig(sidecarAddress, FLOOR_SIDECAR_PORT, { address: '127.0.0.1', port: 5000, http2: false }), ['--concurrency', '1']);
  await envoyRun(FLOOR_EDGE, FLOOR_NETWORK, floorConfig('0.0.0.0', FLOOR_EDGE_PORT, { address: sidecarAddress, port: FLOOR_SIDECAR_PORT, http2: true }), []);
  return `http://${await address(FLOOR_EDGE)}:${FLOOR_EDGE_PORT}`;
}

/** Removes the floor proxies and their network (whatever of them exists). */
export async function stopFloor(replica: string): Promise<void> {
  await docker(['rm', '-f', FLOOR_EDGE, FLOOR_SIDECAR]).catch(() => '');
  await docker(['network', 'disconnect', '-f', FLOOR_NETWORK, replica]).catch(() => '');
  await docker(['network', 'rm', FLOOR_NETWORK]).catch(() => '');
}
