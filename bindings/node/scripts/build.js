'use strict';
// Builds the native addon (the `titan-node` crate) with cargo when the package is installed, and
// puts it where lib/native.js loads it: `npm install ./bindings/node` needs only Node, npm and
// cargo. TITAN_NODE_PROFILE=debug builds faster, unoptimised.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const addon = path.join(root, 'titan.node');
const profile = process.env.TITAN_NODE_PROFILE === 'debug' ? 'debug' : 'release';

function fail(message) {
  console.error(`titan-client: ${message}`);
  process.exit(1);
}

const args = ['build', '--locked', '-p', 'titan-node', '--message-format=json-render-diagnostics'];
if (profile === 'release') args.push('--release');
console.error(`titan-client: building the native addon with \`cargo ${args.join(' ')}\` (${profile}; a few minutes the first time)`);
const started = Date.now();
const cargo = spawnSync(process.env.CARGO || 'cargo', args, {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  maxBuffer: 256 * 1024 * 1024,
  encoding: 'utf8',
});
if (cargo.error) {
  fail(`could not run cargo (${cargo.error.message}): install Rust from https://rustup.rs and retry`);
}
if (cargo.status !== 0) {
  fail(`cargo failed (exit status ${cargo.status}); its errors are above`);
}

// The last artifact of the titan-node library is the addon (a .so, .dylib or .dll).
let built;
for (const line of cargo.stdout.split('\n')) {
  if (!line.startsWith('{')) continue;
  const message = JSON.parse(line);
  if (message.reason === 'compiler-artifact' && message.target && message.target.name === 'titan_node') {
    built = message.filenames.find((file) => /\.(so|dylib|dll)$/.test(file)) || built;
  }
}
if (!built) fail('cargo finished but reported no titan_node library');
fs.copyFileSync(built, `${addon}.tmp`);
fs.renameSync(`${addon}.tmp`, addon);
console.error(`titan-client: built ${path.relative(process.cwd(), addon)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
