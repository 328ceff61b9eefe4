import { rng as prng } from '../../scripts/seeded-random.mjs';

/**
 * Deterministic generators of malformed request bodies and query strings, for the bad-input suite.
 * Every generated case is invalid by construction; `fields` names the top-level fields that were broken,
 * so a test can check that the error points at one of them.
 */

/** A seeded generator (mulberry32), so a failing case can be reproduced from its index. */
export { prng };

export interface Rng {
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
}

export function rng(seed: number): Rng {
  const next = prng(seed);
  return {
    int: (n) => Math.floor(next() * n),
    pick: (items) => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}

export type Endpoint = 'chat' | 'messages' | 'embeddings';

export interface MalformedCase {
  readonly label: string;
  readonly payload: string | Buffer;
  readonly contentType: string | undefined;
  /** Top-level fields broken on purpose (the error must name one of them); empty when not a field error. */
  readonly fields: readonly string[];
}

const MISSING = Symbol('missing');
type Wrong = unknown;

/** A valid body per endpoint: the base every mutation starts from. */
export const validBodies: Record<Endpoint, () => Record<string, unknown>> = {
  chat: () => ({ model: 'sim-1', messages: [{ role: 'user', content: 'hello there' }] }),
  messages: () => ({
    model: 'sim-1',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'hello there' }],
  }),
  embeddings: () => ({ model: 'sim-1', input: 'hello there' }),
};

const wrongModel: Wrong[] = [MISSING, 123, null, '', true, [], {}, ['sim-1'], 'm'.repeat(257)];
const wrongFirebreak: Wrong[] = [
  'x',
  1,
  [],
  { unknown: 1 },
  { retrieved: 'x' },
  { retrieved: [{ id: '', source: 's', text: 't' }] },
  { retrieved: [{ id: 'd', source: 's' }] },
  { retrieved: [{ id: 'd', source: 's', text: 't', extra: 1 }] },
];

/** Wrong values for every field each endpoint reads. Each one alone makes the body invalid. */
const wrongValues: Record<Endpoint, Record<string, Wrong[]>> = {
  chat: {
    model: wrongModel,
    messages: [
      MISSING,
      {},
      'hello',
      [],
      null,
      5,
      [null],
      [{}],
      ['hello'],
      [{ role: 'wizard', content: 'x' }],
      [{ role: 'USER', content: 'x' }],
      [{ role: 5, content: 'x' }],
      [{ content: 'x' }],
      [{ role: 'user', content: 5 }],
      [{ role: 'user' }],
      [{ role: 'user', content: null }],
      [{ role: 'user', content: { text: 'x' } }],
      [{ role: 'user', content: [{}] }],
      [{ role: 'user', content: [{ type: '' }] }],
      [{ role: 'user', content: ['x'] }],
      [{ role: 'user', content: 'x', name: 5 }],
      [{ role: 'system', content: 7 }],
      [{ role: 'developer' }],
      [{ role: 'tool', content: 'x' }],
      [{ role: 'tool', content: 'x', tool_call_id: '' }],
      [{ role: 'tool', content: 'x', tool_call_id: 5 }],
      [{ role: 'assistant', content: 5 }],
      [{ role: 'assistant', content: null, tool_calls: [{}] }],
      [{ role: 'assistant', content: null, tool_calls: 'x' }],
      [
        {
          role: 'assistant',
          tool_calls: [{ id: 'c1', type: 'other', function: { name: 'f', arguments: '{}' } }],
        },
      ],
      [{ role: 'assistant', tool_calls: [{ id: 'c1', function: { name: 'f', arguments: {} } }] }],
      [
        { role: 'user', content: 'ok' },
        { role: 'nobody', content: 'x' },
      ],
    ],
    stream: ['yes', 1, 0, null, {}, 'true'],
    stream_options: ['x', 5, { include_usage: 'yes' }],
    n: [0, 100, '2', 1.5, -1, null, 17, true],
    max_tokens: [-1, 0, 1.5, '10', true, {}],
    max_completion_tokens: [0, -5, 'x', 2.5],
    temperature: [5, -1, '0.5', true, 2.01, []],
    top_p: [2, -0.1, 'x', {}],
    stop: [5, ['a', 'b', 'c', 'd', 'e'], [1], { s: 1 }],
    tools: [
      'x',
      {},
      null,
      [{}],
      ['f'],
      [{ type: 'function' }],
      [{ type: 'retrieval', function: { name: 'f' } }],
      [{ type: 'function', function: { name: 'bad name!' } }],
      [{ type: 'function', function: { name: '' } }],
      [{ type: 'function', function: { name: 'n'.repeat(65) } }],
      [{ type: 'function', function: { name: 'f', parameters: 'x' } }],
      [{ type: 'function', function: { name: 'f', description: 5 } }],
      Array.from({ length: 129 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } })),
    ],
    tool_choice: ['sometimes', 5, null, {}, { type: 'function' }, { type: 'function', function: {} }],
    user: [5, 'u'.repeat(257), null, []],
    safety_identifier: [5, 's'.repeat(257), {}],
    firebreak: wrongFirebreak,
  },
  messages: {
    model: wrongModel,
    max_tokens: [MISSING, 0, -1, 'x', 1.5, null],
    messages: [
      MISSING,
      {},
      'hello',
      [],
      null,
      [null],
      [{ role: 'system', content: 'x' }],
      [{ role: 'tool', content: 'x' }],
      [{ role: 'user' }],
      [{ role: 'user', content: 5 }],
      [{ role: 'user', content: [{}] }],
      [{ role: 'user', content: [{ type: 'text' }] }],
      [{ role: 'user', content: [{ type: 'text', text: 5 }] }],
      [{ role: 'user', content: [{ type: 'video' }] }],
      [{ role: 'user', content: [{ type: 'tool_result' }] }],
      [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', is_error: 'no' }] }],
      [{ role: 'assistant', content: [{ type: 'tool_use', name: 'f', input: {} }] }],
    ],
    system: [5, null, [{ type: 'text' }], [{ type: 'image' }], {}],
    stream: ['yes', 1],
    temperature: [1.5, -1, 'x'],
    top_p: [2, 'x'],
    top_k: [-1, 'x', 1.5],
    stop_sequences: ['x', [1], {}],
    tools: [
      'x',
      [{ name: 'f' }],
      [{ name: 'bad name', input_schema: {} }],
      [{ input_schema: {} }],
      [{ name: 'f', input_schema: 'x' }],
    ],
    tool_choice: ['auto', { type: 'sometimes' }, { type: 'tool', name: 5 }],
    metadata: ['x', { user_id: 5 }, { user_id: 'u'.repeat(257) }],
    firebreak: wrongFirebreak,
  },
  embeddings: {
    model: wrongModel,
    input: [MISSING, 5, [], [1, 2], null, {}, [['a']], Array.from({ length: 2049 }, () => 'a'), true],
    dimensions: [0, 9000, 1.5, '8', null],
    encoding_format: ['hex', 5, null, 'FLOAT'],
    user: [5, 'u'.repeat(257)],
  },
};

function withWrong(body: Record<string, unknown>, field: string, value: Wrong): Record<string, unknown> {
  const rest = Object.fromEntries(Object.entries(body).filter(([k]) => k !== field));
  return value === MISSING ? rest : { ...rest, [field]: value };
}

const contentTypes = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
];

/** Prefixes of a valid JSON object text: never valid JSON themselves. */
function truncated(r: Rng, text: string): string {
  return text.slice(0, r.int(text.length - 1) + 1);
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** `count` malformed bodies for one endpoint, the same ones on every run for the same seed. */
export function malformedBodies(endpoint: Endpoint, count: number, seed: number): MalformedCase[] {
  const r = rng(seed);
  const table = wrongValues[endpoint];
  const fieldNames = Object.keys(table);
  const base = validBodies[endpoint];
  const cases: MalformedCase[] = [];
  const json = (label: string, value: unknown, fields: string[] = []): MalformedCase => ({
    label,
    payload: JSON.stringify(value),
    contentType: r.pick(contentTypes),
    fields,
  });
  const raw = (label: string, payload: string | Buffer): MalformedCase => ({
    label,
    payload,
    contentType: r.pick(contentTypes),
    fields: [],
  });

  // Fixed cases first: every kind appears at least once whatever the count.
  for (const top of ['null', '[]', '[{}]', '"hello"', '42', 'true', '{}', ' ', '\n\t'])
    cases.push(raw(`top ${top}`, top));
  cases.push(raw('empty', ''));
  cases.push(raw('proto at the top', '{"__proto__": {"admin": true}, "model": "sim-1"}'));
  cases.push(raw('constructor.prototype', '{"constructor": {"prototype": {"admin": true}}}'));
  cases.push(raw('two objects', JSON.stringify(base()) + JSON.stringify(base())));
  cases.push(raw('trailing comma', '{"model": "sim-1",}'));
  cases.push(raw('single quotes', "{'model': 'sim-1'}"));
  cases.push(raw('NaN', '{"model": "sim-1", "temperature": NaN}'));
  cases.push(raw('comment', '{"model": "sim-1" /* hi */}'));
  cases.push(raw('deep arrays', nested(50_000, '[', ']')));
  cases.push(raw('deep objects', nested(20_000, '{"a":', '}')));
  const deepInside = JSON.stringify(base()).replace(/\}$/, `,"extra":${nested(5_000, '[', ']')}}`);
  cases.push(raw('deep nesting inside a valid body', deepInside));
  cases.push(
    raw('lone surrogate bytes', Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])),
  );

  while (cases.length < count) {
    const kind = r.int(10);
    const body = base();
    if (kind <= 4) {
      // 1-3 fields set to wrong values (or removed when required).
      const broken = new Set<string>();
      const n = 1 + r.int(3);
      let mutated = body;
      while (broken.size < n) {
        const field = r.pick(fieldNames);
        if (broken.has(field)) continue;
        broken.add(field);
        mutated = withWrong(mutated, field, r.pick(table[field] ?? []));
      }
      cases.push(json(`wrong ${[...broken].join('+')}`, mutated, [...broken]));
    } else if (kind === 5) {
      cases.push(raw('truncated JSON', truncated(r, JSON.stringify(body))));
    } else if (kind === 6) {
      cases.push(raw('random bytes', r.bytes(1 + r.int(300))));
    } else if (kind === 7) {
      // A prototype-pollution key somewhere inside an otherwise valid body.
      const key = r.pick(['__proto__', 'constructor']);
      const evil =
        key === '__proto__'
          ? '{"__proto__":{"polluted":true}}'
          : '{"constructor":{"prototype":{"polluted":true}}}';
      const text = JSON.stringify({ ...body, where: 'HERE' }).replace('"HERE"', evil);
      cases.push(raw(`${key} nested`, text));
    } else if (kind === 8) {
      // Deep nesting in place of a field.
      const depth = 200 + r.int(5_000);
      const where = r.pick(fieldNames);
      const [open, close] = r.pick([
        ['[', ']'],
        ['{"k":', '}'],
      ] as const);
      const text = JSON.stringify({ ...body, [where]: 'HERE' }).replace('"HERE"', nested(depth, open, close));
      cases.push(raw(`deep ${where}`, text));
    } else {
      // A huge string where a short one or another type is expected.
      const huge = 'x'.repeat(100_000 + r.int(400_000));
      const field = r.pick(['model', ...(endpoint === 'embeddings' ? ['encoding_format'] : ['messages'])]);
      cases.push(json(`huge ${field}`, { ...body, [field]: huge }, [field]));
    }
  }
  return cases;
}

export interface MalformedQuery {
  readonly query: string;
  /** The parameter the error must name. */
  readonly param: string;
}

const badParams: Record<string, string[]> = {
  limit: ['0', '501', 'abc', '2.5', '-1', '', '1e9', 'Infinity', 'ten'],
  status: ['bogus', 'OK', '', 'error ', 'safe-mode'],
  since: ['yesterday', '2026-13-45', '99999999999999999', '1x', '', '2026-01-01T99:00:00Z', '-5m', 'now'],
  until: ['tomorrow', '12345', '5y', ' ', 'x'.repeat(65)],
  app: ['', 'a'.repeat(65)],
  env: ['', 'e'.repeat(65)],
  user: ['', 'u'.repeat(257)],
  tenant: ['', 't'.repeat(257)],
  model: ['', 'm'.repeat(257)],
  trace_id: ['', 'i'.repeat(129)],
  cursor: [
    '!!!',
    'abc',
    Buffer.from('not a cursor').toString('base64url'),
    '',
    'c'.repeat(201),
    Buffer.from('12:bad id!').toString('base64url'),
  ],
};
const unknownParams = [
  'foo',
  '__proto__',
  'constructor',
  'toString',
  'Limit',
  'APP',
  'prototype',
  'hasOwnProperty',
];
const goodParams = [
  'app=support-bot',
  'env=prod',
  'status=ok',
  'limit=10',
  'since=1h',
  'model=sim-1',
  'user=u-1',
];

/** Query strings for GET /api/traces with exactly one bad parameter (plus valid ones around it). */
export function malformedQueries(count: number, seed: number): MalformedQuery[] {
  const r = rng(seed);
  const out: MalformedQuery[] = [];
  const names = Object.keys(badParams);
  while (out.length < count) {
    const kind = r.int(10);
    let bad: string;
    let param: string;
    if (kind < 6) {
      param = r.pick(names);
      bad = `${param}=${encodeURIComponent(r.pick(badParams[param] ?? []))}`;
    } else if (kind < 8) {
      param = r.pick(unknownParams);
      bad = `${param}=${r.pick(['1', '', 'x'])}`;
    } else if (kind < 9) {
      // The same parameter twice becomes an array.
      param = r.pick(['app', 'env', 'status', 'limit', 'since', 'cursor']);
      bad = `${param}=a&${param}=b`;
    } else {
      param = `x_${r.bytes(4).toString('hex')}`;
      bad = `${param}=${r.int(100)}`;
    }
    const others = goodParams.filter((p) => !p.startsWith(`${param}=`) && r.int(2) === 0);
    const parts = [...others];
    parts.splice(r.int(parts.length + 1), 0, bad);
    out.push({ query: parts.join('&'), param });
  }
  return out;
}
