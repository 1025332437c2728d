// The observability profile (make up OBSERVE=1): Prometheus and Zipkin, behind their proxy
// `observe`, on the host's loopback. make up starts it and returns once both answer there.
import { compose } from '../lib/compose.js';
import { serviceContainers } from '../lib/docker.js';
import { httpRequest } from '../lib/http.js';
import { until } from '../lib/wait.js';

const PROFILE = { COMPOSE_PROFILES: 'observe' };
const SERVICES = ['observe', 'prometheus', 'zipkin'];

/** Does the observability profile run (its proxy's container is up)? */
export const observing = async () => (await serviceContainers('observe')).length > 0;

const answers = (url: string) =>
  httpRequest(url).then(
    (r) => r.status === 200,
    () => false,
  );

/** Starts it, and waits until both UIs answer (3 min: Zipkin, a JVM, takes a minute on 2 busy cores). */
export async function startObservability(): Promise<void> {
  await compose(['up', '-d', ...SERVICES], { env: PROFILE });
  const urls = [
    `http://127.0.0.1:${process.env.PROMETHEUS_PORT || '9090'}`,
    `http://127.0.0.1:${process.env.ZIPKIN_PORT || '9411'}`,
  ];
  await until(
    180_000,
    async () =>
      (await answers(`${urls[0]}/-/ready`)) && (await answers(`${urls[1]}/health`))
        ? true
        : undefined,
    async () => {
      const ps = await compose(['ps', ...SERVICES], { env: PROFILE }).catch(() => '');
      const logs = await compose(['logs', '--tail', '30', ...SERVICES], { env: PROFILE }).catch(
        () => '',
      );
      return `Prometheus or Zipkin did not answer (${urls.join(', ')}) within 180 s:\n${ps}\n${logs}`;
    },
  );
  console.log(`observability: Prometheus on ${urls[0]}, Zipkin on ${urls[1]}`);
}

export async function stopObservability(): Promise<void> {
  await compose(['rm', '--stop', '--force', ...SERVICES], { env: PROFILE });
}
