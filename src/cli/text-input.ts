import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { TextDecoder } from 'node:util';

/**
 * The lines of a text stream, decoded by its byte order mark: UTF-16 (little or big endian) when it
 * starts with one — what Windows PowerShell's `>` and Notepad's "Unicode" write — and UTF-8 otherwise.
 * Read as UTF-8, a UTF-16 file is letters between NULs, and every JSON line an error. The decoder keeps
 * the mark (`ignoreBOM`), so scan-input.ts `withoutBom` is the one place that drops it, once.
 */
export function textLines(input: NodeJS.ReadableStream): AsyncIterable<string> {
  return createInterface({ input: Readable.from(decoded(input)), crlfDelay: Infinity });
}

async function* decoded(input: NodeJS.ReadableStream): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  let head = Buffer.alloc(0);
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (decoder !== undefined) {
      yield decoder.decode(bytes, { stream: true });
      continue;
    }
    // The first two bytes decide; a first chunk of one byte waits for the next.
    head = Buffer.concat([head, bytes]);
    if (head.length < 2) continue;
    decoder = new TextDecoder(encodingOf(head), { ignoreBOM: true });
    yield decoder.decode(head, { stream: true });
  }
  yield decoder === undefined ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(head) : decoder.decode();
}

function encodingOf(head: Uint8Array): string {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}
