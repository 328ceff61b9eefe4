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

/**
 * What a trace was marked with (a detector or incident class that fired, a tool the model called, a
 * status other than ok), one row per distinct mark per trace, so blast radius filters are index-backed.
 * Carries the trace's filter columns so a count never has to visit the trace row. Clean traces have none.
 */
export interface TraceMarksTable {
  kind: string;
  value: string;
  ts: number;
  /** traces.id */
  trace_row: string;
  app: string;
  env: string;
  release: string;
  status: string;
  user_id: string | null;
  tenant_id: string | null;
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
  expires_at: number | null;
  seq: Generated<number>;
}

export interface ReleasesTable {
  app: string;
  version: number;
  hash: string;
  spec: string;
  created_at: number;
  created_by: string;
  canary: string | null;
}

export interface DeploymentsTable {
  id: string;
  app: string;
  env: string;
  version: number;
  kind: string;
  actor: string;
  reason: string;
  incident: string | null;
  state_version: number;
  created_at: number;
}

export interface KnownGoodTable {
  app: string;
  env: string;
  version: number;
  marked_by: string;
  marked_at: number;
}

export interface FlagsTable {
  id: string;
  key: string;
  value: string;
  app: string;
  env: string | null;
  tenant: string | null;
  user_id: string | null;
  reason: string;
  actor: string;
  incident: string | null;
  created_at: number;
  expires_at: number | null;
  removed_at: number | null;
  removed_by: string | null;
}

export interface AuditLogTable {
  seq: number;
  ts: number;
  actor: string;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
  reason: string | null;
  incident: string | null;
  prev_hash: string;
  hash: string;
}

export interface ControlStateTable {
  id: number;
  version: number;
  audit_seq: number;
  audit_hash: string;
}

export interface ReplicasTable {
  id: string;
  role: string;
  state_version: number;
  started_at: number;
  seen_at: number;
  host: string;
  pid: number;
}

export interface ApprovalsTable {
  id: string;
  app: string;
  env: string;
  release: string;
  trace_id: string;
  tool: string;
  arguments: string;
  arguments_hash: string;
  user_id: string | null;
  tenant_id: string | null;
  reasons: string;
  status: string;
  created_at: number;
  expires_at: number;
  decided_by: string | null;
  decided_at: number | null;
  decision_reason: string | null;
  used_at: number | null;
  used_trace_id: string | null;
}

/** Durable timers (migrations-timers.ts). */
export interface TimersTable {
  id: string;
  kind: string;
  key: string;
  due_at: number;
  payload: string;
  status: string;
  attempts: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  first_run_at: number | null;
  created_at: number;
  updated_at: number;
}

/** The channel outbox (migrations-timers.ts). */
export interface DeliveriesTable {
  id: string;
  channel: string;
  channel_type: string;
  incident: string | null;
  kind: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  first_attempt_at: number | null;
  created_at: number;
  sent_at: number | null;
}

export interface DeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  at: number;
  duration_ms: number;
  http_status: number | null;
  outcome: string;
  error: string | null;
  next_attempt_at: number | null;
}

/** Incidents (migrations-incidents.ts); JSON as text. */
export interface IncidentsTable {
  id: string;
  number: number;
  app: string;
  env: string | null;
  title: string;
  status: string;
  class: string | null;
  severity: string | null;
  commander: string | null;
  communications_lead: string | null;
  responders: string;
  containment: string;
  impact_started_at: number | null;
  detected_at: number;
  triaged_at: number | null;
  status_at: number;
  postmortem: string | null;
  no_postmortem_reason: string | null;
  compliance: string | null;
  dedup_key: string | null;
  opened_by: string;
  updated_at: number;
}

export interface IncidentEventsTable {
  incident: string;
  seq: number;
  type: string;
  at: number;
  actor: string;
  event: string;
}

export interface IncidentContainmentTable {
  ref: string;
  incident: string;
  action: string;
  effects: string;
  applied_at: number;
  applied_by: string;
  reverted_at: number | null;
  reverted_by: string | null;
}

/** Signals counted towards a rule's minSignals (migrations-detection.ts). */
export interface DetectionSignalsTable {
  dedup_key: string;
  fingerprint: string;
  rule: string;
  app: string;
  source: string;
  summary: string;
  trace_id: string | null;
  observed_at: number;
  at: number;
  expires_at: number;
  incident: string | null;
}

/** The anomaly detector's state per series (migrations-detection.ts); `state` is JSON. */
export interface AnomalySeriesTable {
  app: string;
  env: string;
  release: string;
  metric: string;
  state: string;
  last_at: number;
  updated_at: number;
}

export interface Database {
  traces: TracesTable;
  trace_marks: TraceMarksTable;
  credentials: CredentialsTable;
  releases: ReleasesTable;
  deployments: DeploymentsTable;
  known_good: KnownGoodTable;
  flags: FlagsTable;
  audit_log: AuditLogTable;
  control_state: ControlStateTable;
  replicas: ReplicasTable;
  approvals: ApprovalsTable;
  incidents: IncidentsTable;
  incident_events: IncidentEventsTable;
  incident_containment: IncidentContainmentTable;
  timers: TimersTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  detection_signals: DetectionSignalsTable;
  anomaly_series: AnomalySeriesTable;
}
