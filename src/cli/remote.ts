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
  if (!token) throw new RemoteError('--server needs an API token: pass --token or set FIREBREAK_TOKEN');
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new RemoteError(
      `cannot reach ${url.origin}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const body = (await res.json().catch(() => null)) as { error?: { message?: string; code?: string } } | null;
  if (!res.ok)
    throw new RemoteError(
      `${res.status} ${body?.error?.code ?? ''}: ${body?.error?.message ?? res.statusText}`,
    );
  return body;
}
