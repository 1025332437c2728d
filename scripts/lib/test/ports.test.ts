import test from 'ava';
import { edgeHttpsUrl, edgeUrl } from '../edges.js';
import { plainHttpFromEnv, plainHttpPublish } from '../edge-config.js';
import { UsageError } from '../errors.js';
import { publishedPort } from '../ports.js';

test('the edge ports: a port, or ADDRESS:PORT; empty is the default; anything else is refused naming the setting', (t) => {
  t.deepEqual(publishedPort({}, 'EDGE_PORT'), { address: '', port: 8000 });
  t.deepEqual(publishedPort({ EDGE_HTTPS_PORT: '' }, 'EDGE_HTTPS_PORT'), {
    address: '',
    port: 8443,
  });
  t.deepEqual(publishedPort({ EDGE_PORT: '127.0.0.2:8080' }, 'EDGE_PORT'), {
    address: '127.0.0.2',
    port: 8080,
  });
  t.deepEqual(publishedPort({ EDGE_PORT: '[::1]:8080' }, 'EDGE_PORT'), {
    address: '::1',
    port: 8080,
  });
  for (const bad of ['eighty', '0', '70000', '127.0.0.1:'])
    t.throws(() => publishedPort({ EDGE_ADMIN_PORT: bad }, 'EDGE_ADMIN_PORT'), {
      instanceOf: UsageError,
      message: /EDGE_ADMIN_PORT must be a port/,
    });
});

test('make up checks the edge where the host reaches it, and compose publishes plain HTTP where EDGE_HTTP says', (t) => {
  t.is(edgeUrl({}), 'http://127.0.0.1:8000');
  t.is(edgeUrl({ EDGE_PORT: '0.0.0.0:8080' }), 'http://127.0.0.1:8080');
  t.is(edgeUrl({ EDGE_PORT: '127.0.0.2:8000' }), 'http://127.0.0.2:8000');
  t.is(edgeUrl({ EDGE_PORT: '[::1]:8000' }), 'http://[::1]:8000');
  t.is(edgeUrl({ EDGE_HTTP: 'redirect', EDGE_HTTPS_PORT: '9443' }), 'https://127.0.0.1:9443');
  t.is(edgeHttpsUrl({}), 'https://127.0.0.1:8443');
  t.is(plainHttpPublish(plainHttpFromEnv({}), {}), '127.0.0.1:8000');
  t.is(
    plainHttpPublish(plainHttpFromEnv({ EDGE_HTTP: 'redirect' }), { EDGE_PORT: '8080' }),
    '0.0.0.0:8080',
  );
  t.is(plainHttpPublish(plainHttpFromEnv({}), { EDGE_PORT: '10.0.0.5:8000' }), '10.0.0.5:8000');
});
