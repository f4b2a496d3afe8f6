'use strict';
// Loads the native addon that scripts/build.js built at install time.

const path = require('node:path');

const file = path.join(__dirname, '..', 'titan.node');
try {
  module.exports = require(file);
} catch (error) {
  throw new Error(
    `titan-client: cannot load the native addon ${file} (${error.message}). ` +
      'It is built when the package is installed: run `npm install` again (it needs cargo).',
  );
}
