/**
 * A verdict in the words both `GET /api/v1/check` and `poolsink check` use: `allow`, `allowlisted`
 * (with the allowlist entry), `block` or `alert` (with the list and its entry).
 */
import type { Verdict } from './matcher.js';

export type VerdictWord = 'allow' | 'allowlisted' | 'block' | 'alert';

export interface VerdictView {
  domain: string;
  verdict: VerdictWord;
  list?: string;
  rule?: string;
}

export function verdictView(domain: string, verdict: Verdict): VerdictView {
  switch (verdict.kind) {
    case 'allow':
      return { domain, verdict: 'allow' };
    case 'allowlisted':
      return { domain, verdict: 'allowlisted', rule: verdict.rule };
    case 'block':
      return { domain, verdict: verdict.mode, list: verdict.list, rule: verdict.rule };
  }
}
