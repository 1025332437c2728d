// Which replicas a scale-down removes (make scale, make up N=): the ones the edges do not
// route to go first, then the newest, as compose itself would.
import test from 'ava';
import type { ServiceContainer } from '../../lib/containers.js';
import { lastRunWords, surplus } from '../rollout.js';

const replica = (number: number, address: string | null): ServiceContainer => ({
  id: `id${number}`,
  name: `usermesh-usersvc-${number}`,
  state: 'running',
  running: true,
  exitCode: 0,
  startedAt: 0,
  restarts: 0,
  health: '',
  number,
  joins: null,
  address,
  version: 'v1',
  revision: 'r1',
});

test('scale-down: unhealthy or unknown to the edges first, then the highest number', (t) => {
  const running = [
    replica(1, '10.0.0.1:8080'),
    replica(2, '10.0.0.2:8080'),
    replica(3, '10.0.0.3:8080'),
    replica(4, null),
  ];
  const healthy = new Set(['10.0.0.2:8080', '10.0.0.3:8080']);
  const names = (keep: number) => surplus(running, healthy, keep).map((r) => r.number);
  t.deepEqual(names(1), [4, 1, 3], 'keeps 2: healthy, the lowest number');
  t.deepEqual(names(2), [4, 1], 'replica 1, restarting after a crash, goes before healthy 2 and 3');
  t.deepEqual(names(4), []);
  t.deepEqual(names(9), []);
  t.deepEqual(
    surplus(running, new Set(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']), 3).map(
      (r) => r.number,
    ),
    [4],
  );
});

test("a replica that failed at start-up: what it said as its last run ended, not its next run's first lines", (t) => {
  const deprecation =
    '[2026-12-03 02:45:12.787][8][warning][misc] [source/common/protobuf/message_validator_impl.cc:23] Deprecated field: type envoy.config.cluster.v3.Cluster';
  const run = [
    '[...][warning][main] There is no configured limit',
    'user-service: invalid configuration: SCRYPT_COST must be between 10 and 20, got 99',
    'entrypoint: a process exited unexpectedly (status 2); stopping the container',
    '[...][warning][main] caught ENVOY_SIGTERM',
  ];
  const logs = [
    deprecation,
    ...run,
    deprecation,
    '[...][warning][main] There is no configured limit',
  ];
  t.is(lastRunWords(logs), `${run.slice(0, 3).join(' / ')}`);
  t.is(lastRunWords(['a', '', 'b']), 'a / b', 'no entrypoint line: the last lines');
  t.is(lastRunWords([]), '');
});
