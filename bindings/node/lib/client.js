'use strict';
// `Titan`, the client. It holds a native transport (titan-client, in Rust) that adds the API key,
// applies the timeout and retries connection errors, 408, 409, 429 and 5xx with jittered
// exponential backoff (honouring `Retry-After`); POSTs carry an `Idempotency-Key` that their
// retries reuse. Every operation is a generated method of a resource (lib/resources.js).

const native = require('./native');
const { APIError, TitanError } = require('./errors');
const { failureError } = require('./failure');
const { Page, PagePromise } = require('./pagination');
const { EventStream } = require('./streaming');
const { attachResources } = require('./resources');
const { version } = require('../package.json');

/** Milliseconds one attempt may take, unless the client says otherwise. */
const DEFAULT_TIMEOUT = 600_000;
/** Retries after the first attempt, unless the client says otherwise. */
const DEFAULT_MAX_RETRIES = 2;

/** Query parameters or headers as `[name, value]` pairs; null and undefined are left out. */
function pairs(values) {
  const out = [];
  for (const [name, value] of Object.entries(values || {})) {
    if (value !== undefined && value !== null) out.push([name, String(value)]);
  }
  return out;
}

function headerObject(answer) {
  const headers = {};
  for (const [name, value] of answer.headers) headers[name] = value;
  return headers;
}

/** The decoded result of an answer (`output`: 'data', 'body' or 'none'), or its error. */
/** JSON.stringify's replacer: a Buffer or Uint8Array value (a file to send) becomes base64 text. */
function bytesAsBase64(key, value) {
  const raw = this[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('base64');
  return value;
}

function result(answer, output) {
  const text = answer.body.toString('utf8');
  if (answer.status >= 400) {
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page, say): the text is the body.
    }
    throw APIError.generate(answer.status, body, headerObject(answer));
  }
  if (output === 'bytes') return answer.body;
  if (output === 'none' || text === '') return undefined;
  const decoded = JSON.parse(text);
  return output === 'data' ? decoded.data : decoded;
}

class Titan {
  constructor(options = {}) {
    const baseURL = options.baseURL ?? process.env.TITAN_BASE_URL;
    if (!baseURL) {
      throw new TitanError('no base URL: pass `new Titan({ baseURL })` or set TITAN_BASE_URL (e.g. http://127.0.0.1:8080)');
    }
    const timeout = options.timeout ?? DEFAULT_TIMEOUT;
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!(typeof timeout === 'number' && timeout > 0)) throw new TypeError('timeout must be a positive number of milliseconds');
    if (!(Number.isInteger(maxRetries) && maxRetries >= 0)) throw new TypeError('maxRetries must be an integer, 0 or more');
    this.baseURL = String(baseURL).replace(/\/+$/, '');
    this.apiKey = options.apiKey ?? process.env.TITAN_API_KEY ?? null;
    this.timeout = timeout;
    this.maxRetries = maxRetries;
    this._transport = new native.Transport(this.baseURL, this.apiKey, timeout, maxRetries, `titan-client-node/${version}`);
    attachResources(this);
  }

  /** A copy of this client with some settings changed. */
  withOptions(options = {}) {
    return new Titan({
      baseURL: this.baseURL,
      apiKey: this.apiKey,
      timeout: this.timeout,
      maxRetries: this.maxRetries,
      ...options,
    });
  }

  async _send(method, path, query, headers, body) {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body, bytesAsBase64));
    const answer = await this._transport.request(method, path, pairs(query), pairs(headers), payload);
    if (answer.failure) throw failureError(answer.failure);
    return answer;
  }

  async _call(method, path, { query, headers, body } = {}, output) {
    return result(await this._send(method, path, query, headers, body), output);
  }

  _page(path, { query } = {}) {
    return new PagePromise(this, path, query || {});
  }

  async _fetchPage(path, query) {
    const page = result(await this._send('GET', path, query, {}, undefined), 'body');
    return new Page(this, path, query, page.data, page.cursor ?? null);
  }

  _events({ query = {}, headers = {} } = {}) {
    const events = String(query.events ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    return new EventStream(this._transport.events(events, query.session ?? null, headers['Last-Event-ID'] ?? null));
  }

  /** An undocumented GET: the decoded JSON answer of `path` (e.g. `/api/sessions`). */
  get(path, { query } = {}) {
    return this._call('GET', path, { query }, 'body');
  }

  /** An undocumented POST: the decoded JSON answer of `path`. */
  post(path, { body } = {}) {
    return this._call('POST', path, { body }, 'body');
  }
}

module.exports = { Titan, DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES };
