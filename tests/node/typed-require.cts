// The CommonJS entry point's types, checked by `tsc --noEmit`: `require('titan-client')` sees the
// same client and errors as `import`.
import titan = require('titan-client');

export async function listNames(): Promise<string[]> {
  const client = new titan.Titan({ baseURL: 'http://127.0.0.1:8080' });
  const names: string[] = [];
  for await (const session of client.sessions.list({ limit: 10 })) names.push(session.name);
  const error: titan.APIError = new titan.NotFoundError(404, { error: 'x', docs: 'y' }, '404 x', {});
  void error;
  return names;
}
