import test from 'ava';
import { clientNetwork } from '../src/client-network.js';

test("a login's client network: IPv4 /24, IPv6 /64, an IPv4-mapped address as IPv4, anything else one shared 'unknown'", (t) => {
  t.is(clientNetwork('198.51.100.7'), '198.51.100.0/24');
  t.is(clientNetwork('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  t.is(clientNetwork('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(clientNetwork('2001:DB8:0:0:ffff::1'), '2001:db8:0:0::/64');
  t.is(clientNetwork('::1'), '0:0:0:0::/64');
  t.is(clientNetwork('::ffff:203.0.113.9'), '203.0.113.0/24');
  t.is(clientNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64');
  for (const bad of [undefined, '', 'localhost', '1.2.3', '198.51.100.7, 10.0.0.1', '::gg'])
    t.is(clientNetwork(bad), 'unknown', String(bad));
});
