import { z } from 'zod';
import type { RetrievedDocument } from '../chat.js';

/** `firebreak: { retrieved: [...] }` in a request body: documents the app retrieved for this call. */
export const firebreakExtensionSchema = z
  .strictObject({
    retrieved: z
      .array(
        z.strictObject({
          id: z.string().min(1).max(512),
          source: z.string().min(1).max(256),
          text: z.string(),
          labels: z.array(z.string().max(128)).max(64).default([]),
        }),
      )
      .max(1000)
      .default([]),
  })
  .optional();

export function retrievedOf(ext: z.infer<typeof firebreakExtensionSchema>): RetrievedDocument[] {
  return ext?.retrieved ?? [];
}
