import type { Incident } from '../incidents/incident.js';
import { formatUtc, incidentHeadline } from '../incidents/templates.js';
import { truncate } from './truncate.js';

/**
 * Slack-compatible incoming-webhook payloads (also accepted by Mattermost and Rocket.Chat): `text` is the
 * notification and fallback line, `blocks` the rich message. Block Kit limits are applied here, because
 * Slack refuses the whole message (HTTP 400 `invalid_blocks`) when one block is over: header text 150
 * characters, section text 3000, a section field 2000 and at most 10 fields.
 */
export interface SlackText {
  readonly type: 'mrkdwn' | 'plain_text';
  readonly text: string;
}

export type SlackBlock =
  | { readonly type: 'header'; readonly text: SlackText & { readonly type: 'plain_text' } }
  | { readonly type: 'section'; readonly text: SlackText }
  | { readonly type: 'section'; readonly fields: readonly SlackText[] }
  | { readonly type: 'context'; readonly elements: readonly SlackText[] };

export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

export const SLACK_LIMITS = { header: 150, sectionText: 3000, field: 2000, fields: 10 } as const;

/** Slack's mrkdwn treats `&`, `<` and `>` as markup (links, mentions); everything else may stay. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escapes and shortens to `max` code units without cutting an escape (`&am…`) or a surrogate pair in
 * two: the escaped text is what Slack counts.
 */
export function slackEscapeWithin(text: string, max: number): string {
  const escaped = slackEscape(text);
  if (escaped.length <= max) return escaped;
  let out = '';
  for (const ch of text) {
    const piece = slackEscape(ch);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

export interface SlackMessageInput {
  readonly at: number;
  /** The message body: an update from templates.ts, or one timeline line. */
  readonly body: string;
  /** Link to the incident in the console (http or https only; anything else is left out). */
  readonly url?: string;
}

function field(label: string, value: string): SlackText {
  return {
    type: 'mrkdwn',
    text: `*${label}*\n${slackEscapeWithin(value, SLACK_LIMITS.field - label.length - 3)}`,
  };
}

export function slackMessage(incident: Incident, input: SlackMessageInput): SlackMessage {
  const headline = `${incidentHeadline(incident)} — ${incident.title}`;
  const fields = [
    field('Status', incident.status),
    field('Severity', incident.severity ?? 'untriaged'),
    field('Class', incident.class ?? 'untriaged'),
    field('App', incident.env === null ? incident.app : `${incident.app} (${incident.env})`),
    field('Commander', incident.commander ?? 'unassigned'),
  ].slice(0, SLACK_LIMITS.fields);
  const context = [`Firebreak · ${formatUtc(input.at)}`];
  // `|` and `>` end a Slack link, so a URL containing them cannot be linked safely.
  if (input.url !== undefined && /^https?:\/\/[^\s|<>]+$/.test(input.url))
    context.push(`<${input.url}|Open ${slackEscape(incident.id)}>`);
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(`${incident.id}: ${incident.title}`, SLACK_LIMITS.header) },
    },
    { type: 'section', fields },
  ];
  if (input.body.trim())
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: slackEscapeWithin(input.body.trim(), SLACK_LIMITS.sectionText) },
    });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text: slackEscapeWithin(headline, SLACK_LIMITS.sectionText), blocks };
}
