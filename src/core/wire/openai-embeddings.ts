import { z } from 'zod';
import type { EmbeddingRequest, EmbeddingResponse } from '../chat.js';
import { FirebreakError } from '../errors.js';
import { parseWith } from '../validation.js';

export const openAiEmbeddingRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  dimensions: z.number().int().min(1).max(8192).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().max(256).optional(),
});

export interface ParsedEmbedding {
  readonly request: EmbeddingRequest;
  readonly encoding: 'float' | 'base64';
}

export function parseOpenAiEmbedding(body: unknown): ParsedEmbedding {
  const b = parseWith(openAiEmbeddingRequestSchema, body, 'invalid request');
  return {
    request: {
      model: b.model,
      input: typeof b.input === 'string' ? [b.input] : b.input,
      ...(b.dimensions !== undefined ? { dimensions: b.dimensions } : {}),
      ...(b.user !== undefined ? { user: b.user } : {}),
    },
    encoding: b.encoding_format ?? 'float',
  };
}

export function toOpenAiEmbeddingBody(req: EmbeddingRequest): Record<string, unknown> {
  return {
    model: req.model,
    input: req.input,
    encoding_format: 'float',
    ...(req.dimensions !== undefined ? { dimensions: req.dimensions } : {}),
    ...(req.user !== undefined ? { user: req.user } : {}),
  };
}

const upstreamEmbedding = z.looseObject({
  model: z.string().default(''),
  data: z.array(z.looseObject({ index: z.number().int(), embedding: z.array(z.number()) })),
  usage: z.looseObject({ prompt_tokens: z.number().default(0) }).optional(),
});

export function fromOpenAiEmbedding(json: unknown): EmbeddingResponse {
  const r = upstreamEmbedding.safeParse(json);
  if (!r.success)
    throw new FirebreakError(
      'upstream_bad_response',
      'the upstream answered with a body that is not an embedding list',
    );
  const vectors = [...r.data.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
  return { model: r.data.model, vectors, usage: { promptTokens: r.data.usage?.prompt_tokens ?? 0 } };
}

function toBase64(vector: readonly number[]): string {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function renderOpenAiEmbedding(
  resp: EmbeddingResponse,
  model: string,
  encoding: 'float' | 'base64',
): Record<string, unknown> {
  return {
    object: 'list',
    model,
    data: resp.vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? toBase64(v) : v,
    })),
    usage: { prompt_tokens: resp.usage.promptTokens, total_tokens: resp.usage.promptTokens },
  };
}
