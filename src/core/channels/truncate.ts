/**
 * Shortens text to at most `max` UTF-16 code units, ending with `…` when cut. Channel limits are stated
 * in characters; counting code units is the stricter reading (an emoji counts twice), and the cut never
 * splits a surrogate pair, so the result is always valid text.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < 1) return '';
  let cut = max - 1;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return `${text.slice(0, cut)}…`;
}
