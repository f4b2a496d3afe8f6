// Shared by the Node suites: real titan servers (the binary `make test` builds), sandbox phones,
// a never-answering socket and a webhook receiver. Everything runs over real HTTP.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MASTER = 'node-master-key-0123456789';
export const ALICE = ['alice', '15550001111'];
export const BOB = ['bob', '15550002222'];

function binary() {
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
  const file = process.env.TITAN_BIN || path.join(target, 'debug', 'titan');
  if (!existsSync(file)) {
    throw new Error(`${file} does not exist: run \`make test\` (or \`cargo test --workspace --features titan-server/sandbox\`) first, or set TITAN_BIN`);
  }
  return file;
}

export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy. */
export async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One titan process on a temporary SQLite database; `stop()` ends it. */
export async function startServer({ sandbox = false, env = {} } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'titan-node-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const environment = {
    ...process.env,
    DATABASE_URL: `sqlite://${dir}/titan.db`,
    TITAN_BIND: `127.0.0.1:${port}`,
    MASTER_KEY: MASTER,
    TITAN_SECRET_KEY_FILE: path.join(dir, 'secret.key'),
    TITAN_WEBHOOK_ALLOW_PRIVATE: 'true',
    TITAN_WHATSAPP_URL: 'ws://127.0.0.1:9/ws/chat',
  };
  const args = ['serve'];
  let phone = '';
  if (sandbox) {
    const phonePort = await freePort();
    phone = `http://127.0.0.1:${phonePort}`;
    delete environment.TITAN_WHATSAPP_URL;
    environment.TITAN_SANDBOX_BIND = `127.0.0.1:${phonePort}`;
    args.push('--sandbox');
  }
  Object.assign(environment, env);
  const log = createWriteStream(path.join(dir, 'titan.log'));
  const child = spawn(binary(), args, { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const answer = await fetch(`${base}/readyz`);
      if (answer.ok) break;
    } catch {
      // Not listening yet.
    }
    if (exited !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the titan server did not start (exit ${exited}); see ${path.join(dir, 'titan.log')}`);
    }
    await sleep(50);
  }
  return {
    base,
    phone,
    async stop() {
      if (exited !== null) return;
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await done;
      clearTimeout(timer);
      log.end();
    },
  };
}

/** Acts on the sandbox phone (e.g. `scan-qr`). */
export async function phone(server, action, body) {
  const answer = await fetch(`${server.phone}/admin/${action}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`phone ${action}: ${answer.status} ${await answer.text()}`);
}

/** A TCP server that accepts connections and never answers: calls to it can only time out. */
export async function silentServer() {
  const held = [];
  const server = net.createServer((socket) => held.push(socket));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close() {
      for (const socket of held) socket.destroy();
      server.close();
    },
  };
}

/** A webhook receiver: its URL, and `next()` for the next (headers, raw body) it gets. */
export async function webhookReceiver() {
  const received = [];
  const waiting = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const delivery = { headers: request.headers, body: Buffer.concat(chunks) };
      const waiter = waiting.shift();
      if (waiter) waiter(delivery);
      else received.push(delivery);
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    next(timeoutMs = 30_000) {
      if (received.length) return Promise.resolve(received.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no webhook delivery arrived')), timeoutMs);
        waiting.push((delivery) => {
          clearTimeout(timer);
          resolve(delivery);
        });
      });
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
