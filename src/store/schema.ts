import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them. Same on SQLite and PostgreSQL: JSON as text, times as epoch ms. */
export interface TracesTable {
  id: string;
  trace_id: string;
  ts: number;
  app: string;
  env: string;
  user_id: string | null;
  tenant_id: string | null;
  session_id: string | null;
  endpoint: string;
  model: string | null;
  provider: string | null;
  release: string;
  deployment: string | null;
  status: string;
  http_status: number;
  error_code: string | null;
  stream: number;
  latency_ms: number;
  upstream_ms: number | null;
  overhead_ms: number;
  ttft_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  body: string;
}

export interface CredentialsTable {
  id: string;
  /** `gateway` keys call /v1; `token`s call /api with a role. */
  kind: string;
  hash: string;
  name: string;
  app: string | null;
  env: string | null;
  role: string | null;
  created_at: number;
  revoked_at: number | null;
  seq: Generated<number>;
}

export interface Database {
  traces: TracesTable;
  credentials: CredentialsTable;
}
