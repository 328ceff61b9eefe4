/** Calls the /api of a running Firebreak (`--server URL`), with the same error envelope as the API. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
}

export async function apiGet(
  server: string,
  token: string | undefined,
  path: string,
  query: Record<string, string | undefined> = {},
): Promise<unknown> {
  return apiCall(server, token, 'GET', path, query);
}

/** A change: the body is sent as JSON. */
export async function apiPost(
  server: string,
  token: string | undefined,
  path: string,
  body: Record<string, unknown>,
): Promise<unknown> {
  return apiCall(server, token, 'POST', path, {}, body);
}

async function apiCall(
  server: string,
  token: string | undefined,
  method: 'GET' | 'POST',
  path: string,
  query: Record<string, string | undefined>,
  body?: Record<string, unknown>,
): Promise<unknown> {
  if (!token) throw new RemoteError('--server needs an API token: pass --token or set FIREBREAK_TOKEN');
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      // Options the user did not give are undefined, which JSON leaves out (the API refuses null).
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new RemoteError(
      `cannot reach ${url.origin}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = (await res.json().catch(() => null)) as {
    error?: { message?: string; code?: string };
  } | null;
  if (!res.ok)
    throw new RemoteError(
      `${res.status} ${parsed?.error?.code ?? ''}: ${parsed?.error?.message ?? res.statusText}`,
    );
  return parsed;
}
