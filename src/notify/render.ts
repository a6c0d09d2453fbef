/**
 * What each sink type receives for one outbox message: the webhook's JSON document, a Slack
 * incoming-webhook message, an RFC 5424 syslog line (and its RFC 6587 octet-counted frame for TCP
 * and TLS). Pure: no clock or host reads beyond what the caller passes.
 */
import type { NotificationType } from './notification.js';

/** The type of the digest of messages a sink's rate limit held back; not subscribable. */
export const DIGEST_TYPE = 'notify.digest';
export type OutboxMessageType = NotificationType | typeof DIGEST_TYPE;

/** One message as the outbox stores it. */
export interface OutboxMessage {
  /** The UUID receivers use to drop duplicates. */
  readonly id: string;
  readonly type: string;
  readonly createdMs: number;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** The webhook body: `{ id, type, time, data }` (components.schemas.Notification in the OpenAPI document). */
export function webhookBody(message: OutboxMessage): string {
  return JSON.stringify({
    id: message.id,
    type: message.type,
    time: new Date(message.createdMs).toISOString(),
    data: message.payload,
  });
}

/** Slack (and Mattermost, Teams workflows) mrkdwn: `&`, `<` and `>` escaped so names cannot become links or mentions. */
export function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const MAX_SLACK_FACTS = 12;
const MAX_FACT_CHARS = 300;

function factText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > MAX_FACT_CHARS ? `${text.slice(0, MAX_FACT_CHARS)}…` : text;
}

export function slackBody(message: OutboxMessage): string {
  const lines = [`*poolsink ${escapeSlack(message.type)}* (${new Date(message.createdMs).toISOString()})`];
  const facts = Object.entries(message.payload).slice(0, MAX_SLACK_FACTS);
  for (const [key, value] of facts) lines.push(`• ${escapeSlack(key)}: ${escapeSlack(factText(value))}`);
  lines.push(`id: ${message.id}`);
  return JSON.stringify({ text: lines.join('\n') });
}

/** RFC 5424 facility local0 and a severity per type. */
const FACILITY = 16;
const SEVERITY: Readonly<Record<string, number>> = {
  'incident.opened': 4,
  'incident.escalated': 4,
  'incident.resolved': 5,
  'list.failing': 4,
  'store.degraded': 3,
  test: 6,
  [DIGEST_TYPE]: 5,
};

/** The SD-ID: RFC 5612's documentation enterprise number, so the element never claims an IANA name. */
export const SYSLOG_SD_ID = 'poolsink@32473';

/** PRINTUSASCII (33-126), cut to `max`, or the NILVALUE `-` when nothing is left. */
function headerField(text: string, max: number): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code >= 33 && code <= 126) out += char;
    if (out.length >= max) break;
  }
  return out === '' ? '-' : out;
}

/** PARAM-VALUE escaping (RFC 5424 6.3.3): `"`, `\` and `]` get a backslash. */
export function escapeSdValue(text: string): string {
  return text.replace(/["\\\]]/g, (char) => `\\${char}`);
}

/** JSON with every non-ASCII character as \uXXXX: an ASCII MSG needs no BOM and survives any collector. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export interface SyslogOrigin {
  readonly hostname: string;
  readonly procId: number;
}

/** `<PRI>1 TIMESTAMP HOSTNAME poolsink PROCID MSGID [poolsink@32473 id=".." type=".."] {json}` */
export function syslogLine(message: OutboxMessage, origin: SyslogOrigin): string {
  const pri = FACILITY * 8 + (SEVERITY[message.type] ?? 5);
  const sd = `[${SYSLOG_SD_ID} id="${escapeSdValue(message.id)}" type="${escapeSdValue(message.type)}"]`;
  const msg = asciiJson({ id: message.id, type: message.type, data: message.payload });
  return [
    `<${pri}>1`,
    new Date(message.createdMs).toISOString(),
    headerField(origin.hostname, 255),
    'poolsink',
    headerField(String(origin.procId), 128),
    headerField(message.type, 32),
    sd,
    msg,
  ].join(' ');
}

/** RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function octetFrame(line: string): Buffer {
  const body = Buffer.from(line, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
