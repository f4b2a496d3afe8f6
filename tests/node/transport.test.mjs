// What the transport does with failures, each from a real answer or a real socket: 5xx, refused
// connections, timeouts, and retries after a real 429.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Titan, APIConnectionError, APIConnectionTimeoutError, InternalServerError, RateLimitError, APIError } from 'titan-client';
import { MASTER, freePort, silentServer, startServer } from './helpers.mjs';

async function keyFor(base) {
  const admin = new Titan({ baseURL: base, apiKey: MASTER });
  return (await admin.admin.keys.create({ label: 'transport', scopes: ['*'] })).key;
}

test('a 5xx throws InternalServerError', async () => {
  // A pair code needs WhatsApp, which this server cannot reach: Titan answers 502 after waiting
  // 15 s for a connection.
  const server = await startServer();
  try {
    const client = new Titan({ baseURL: server.base, apiKey: await keyFor(server.base), maxRetries: 0 });
    await client.sessions.create({ name: 'offline', start: true });
    const failure = await client.pairing.requestCode('offline', { phoneNumber: '+15550009999' }).catch((e) => e);
    assert.ok(failure instanceof InternalServerError, String(failure));
    assert.equal(failure.status, 502);
    assert.match(failure.error, /WhatsApp/);
    assert.ok(failure.requestId);
  } finally {
    await server.stop();
  }
});

test('a refused connection throws APIConnectionError, a silent server APIConnectionTimeoutError', async () => {
  const closed = await freePort();
  const refused = await new Titan({ baseURL: `http://127.0.0.1:${closed}`, apiKey: 'k', maxRetries: 0 }).health.live().catch((e) => e);
  assert.ok(refused instanceof APIConnectionError, String(refused));
  assert.ok(!(refused instanceof APIConnectionTimeoutError));
  assert.ok(refused instanceof APIError);
  assert.equal(refused.status, undefined);
  assert.match(refused.message, /connect/i);

  const silent = await silentServer();
  try {
    const slow = await new Titan({ baseURL: silent.url, apiKey: 'k', timeout: 300, maxRetries: 0 }).health.live().catch((e) => e);
    assert.ok(slow instanceof APIConnectionTimeoutError, String(slow));
  } finally {
    silent.close();
  }
});

test('calls limited with 429 are retried after Retry-After', async () => {
  const server = await startServer({ env: { TITAN_RATE_LIMIT: '3', TITAN_RATE_LIMIT_WINDOW_SECS: '2' } });
  try {
    const key = await keyFor(server.base);
    const impatient = new Titan({ baseURL: server.base, apiKey: key, maxRetries: 0 });
    let limited;
    for (let i = 0; i < 10 && !limited; i += 1) {
      limited = await impatient.sessions.list().then(() => undefined, (e) => e);
    }
    assert.ok(limited instanceof RateLimitError, String(limited));
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) >= 1);

    const patient = new Titan({ baseURL: server.base, apiKey: key, maxRetries: 3 });
    for (let i = 0; i < 6; i += 1) {
      // Twice the window's allowance: only the retries get these through.
      assert.deepEqual((await patient.sessions.list()).data, []);
    }
  } finally {
    await server.stop();
  }
});

test('configuration errors are clear', () => {
  const saved = process.env.TITAN_BASE_URL;
  delete process.env.TITAN_BASE_URL;
  try {
    assert.throws(() => new Titan(), /TITAN_BASE_URL/);
  } finally {
    if (saved !== undefined) process.env.TITAN_BASE_URL = saved;
  }
  assert.throws(() => new Titan({ baseURL: 'http://127.0.0.1:1', timeout: -1 }), /timeout/);
  assert.throws(() => new Titan({ baseURL: 'http://127.0.0.1:1', maxRetries: 1.5 }), /maxRetries/);
});

test('the environment supplies the base URL and the key', async () => {
  const server = await startServer();
  const saved = [process.env.TITAN_BASE_URL, process.env.TITAN_API_KEY];
  try {
    process.env.TITAN_BASE_URL = server.base;
    process.env.TITAN_API_KEY = MASTER;
    const client = new Titan();
    assert.equal(client.baseURL, server.base);
    const { key } = await client.admin.keys.create({ label: 'from-env', scopes: ['*'] });
    assert.ok(key);
  } finally {
    [process.env.TITAN_BASE_URL, process.env.TITAN_API_KEY] = saved;
    if (saved[0] === undefined) delete process.env.TITAN_BASE_URL;
    if (saved[1] === undefined) delete process.env.TITAN_API_KEY;
    await server.stop();
  }
});

