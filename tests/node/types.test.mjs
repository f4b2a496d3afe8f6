// The package's TypeScript declarations, checked by the TypeScript compiler against typed usage
// from an ES module (typed.ts) and from CommonJS (typed-require.cts); and both entry points load.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import * as esm from 'titan-client';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

test('tsc --noEmit accepts typed usage and rejects the marked mistakes', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(here, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});

test('the CommonJS and ES module entry points export the same classes', () => {
  const cjs = require('titan-client');
  assert.equal(esm.Titan, cjs.Titan);
  assert.equal(esm.default, cjs.Titan);
  assert.equal(esm.NotFoundError, cjs.NotFoundError);
  for (const name of Object.keys(cjs)) assert.ok(name in esm, `${name} is missing from the ES module`);
});
