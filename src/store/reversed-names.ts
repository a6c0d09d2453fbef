/**
 * Reversed names: "a.pool.com" is stored as "com.pool.a.", so a name and all its subdomains are one
 * contiguous range of an index ["com.pool.", "com.pool/"): '/' is the character after '.'.
 */

/** "a.pool.com" → "com.pool.a."; the root ("") → ".". */
export function reverseName(qname: string): string {
  let out = '';
  let end = qname.length;
  while (end > 0) {
    const dot = qname.lastIndexOf('.', end - 1);
    out += `${qname.slice(dot + 1, end)}.`;
    end = Math.max(dot, 0);
  }
  return out === '' ? '.' : out;
}

export interface NameRange {
  /** Inclusive lower bound. */
  readonly low: string;
  /** Exclusive upper bound. */
  readonly high: string;
}

/**
 * The rname range holding `domain` and its subdomains, or undefined for the root ("" or "."), which
 * covers every name. The domain is lower-cased and one trailing dot removed; any other text is taken
 * literally: it is only ever a bound parameter, never SQL or a LIKE pattern.
 */
export function domainRange(domain: string): NameRange | undefined {
  let name = domain.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return undefined;
  const low = reverseName(name);
  return { low, high: `${low.slice(0, -1)}/` };
}
