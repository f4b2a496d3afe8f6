// Requests/s for sequential authenticated GETs: the SDK against Node's built-in fetch, same server.
//
//     node bindings/node/bench/gets.mjs [--requests 2000] [--rounds 3]
//
// Run it after `make test` (or `npm install` in tests/node), which installs the addon. It starts
// a titan server (./target/debug/titan, or TITAN_BIN, e.g. a release build) on a temporary SQLite
// database, creates one session, then times GET /api/sessions/{name} through each client,
// decoding the JSON answer in both. Both clients first make as many untimed calls, so neither is
// measured cold (undici's fetch warms up slowly). Rounds alternate between the clients; every
// round is printed, then the first round's ratio.

import { parseArgs } from 'node:util';

import { Titan } from 'titan-client';
import { MASTER, startServer } from '../../../tests/node/helpers.mjs';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } } });
const requests = Number(values.requests);
const rounds = Number(values.rounds);

async function rate(call) {
  const started = performance.now();
  for (let i = 0; i < requests; i += 1) await call();
  return requests / ((performance.now() - started) / 1000);
}

const server = await startServer({ env: { TITAN_RATE_LIMIT: '100000000' } });
try {
  const { key } = await new Titan({ baseURL: server.base, apiKey: MASTER }).admin.keys.create({ label: 'bench', scopes: ['*'] });
  const sdk = new Titan({ baseURL: server.base, apiKey: key });
  await sdk.sessions.create({ name: 'bench' });
  const url = `${server.base}/api/sessions/bench`;
  const headers = { Authorization: `Bearer ${key}` };

  const withFetch = async () => {
    const answer = await fetch(url, { headers });
    if (!answer.ok) throw new Error(`fetch: ${answer.status}`);
    return (await answer.json()).data;
  };
  const withTitan = () => sdk.sessions.get('bench');

  if ((await withTitan()).name !== 'bench' || (await withFetch()).name !== 'bench') throw new Error('warm-up failed');
  for (let i = 0; i < requests; i += 1) await Promise.all([withTitan(), withFetch()]);
  const first = {};
  for (let round = 1; round <= rounds; round += 1) {
    const measured = { 'titan-client': await rate(withTitan), fetch: await rate(withFetch) };
    if (round === 1) Object.assign(first, measured);
    console.log(
      `round ${round}: titan-client ${measured['titan-client'].toFixed(0)} req/s, fetch ${measured.fetch.toFixed(0)} req/s, ` +
        `ratio ${(measured['titan-client'] / measured.fetch).toFixed(2)}x (${requests} sequential GETs each)`,
    );
  }
  console.log(`first round: titan-client / fetch = ${(first['titan-client'] / first.fetch).toFixed(2)}x`);
} finally {
  await server.stop();
}
