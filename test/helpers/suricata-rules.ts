/**
 * A parser for Suricata rule syntax, as far as the pool IP feed uses it, written from the Suricata
 * rules documentation (Rules Format: action, header, options), for tests where suricata itself is
 * not installable: `action proto src sport direction dst dport (key:value; ...)`. Option values are
 * read with the documented escapes (`\;`, `\"`, `\\`); msg must be a quoted string; sid and rev
 * unsigned integers. Returns the rules read, or throws naming the line and the problem.
 */
export interface SuricataRule {
  readonly action: string;
  readonly proto: string;
  readonly source: string;
  readonly sourcePort: string;
  readonly direction: string;
  readonly destination: string;
  readonly destinationPort: string;
  readonly options: ReadonlyMap<string, string>;
}

const ACTIONS = new Set(['alert', 'pass', 'drop', 'reject', 'rejectsrc', 'rejectdst', 'rejectboth']);
const PROTOCOLS = new Set(['ip', 'tcp', 'udp', 'icmp', 'http', 'tls', 'dns']);
const ADDRESS = /^(?:any|\$[A-Z_]+|!?\[[^\]\s]+\]|!?[0-9a-fA-F:.]+(?:\/\d{1,3})?)$/;
const PORT = /^(?:any|\d{1,5}|\[[^\]\s]+\])$/;

function readOptions(text: string, line: number): Map<string, string> {
  const options = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    if (i >= text.length) break;
    const keyStart = i;
    while (i < text.length && /[a-z_.0-9]/.test(text[i] ?? '')) i++;
    const key = text.slice(keyStart, i);
    if (key === '') throw new Error(`line ${line}: option name expected at ${JSON.stringify(text.slice(i))}`);
    let value = '';
    let rawQuotes = 0;
    if (text[i] === ':') {
      i++;
      while (i < text.length && text[i] !== ';') {
        const c = text[i] ?? '';
        if (c === '\\') {
          const next = text[i + 1] ?? '';
          if (!'\\";:'.includes(next) || next === '') throw new Error(`line ${line}: bad escape \\${next}`);
          value += next;
          i += 2;
          continue;
        }
        if (c === '"') rawQuotes++;
        value += c;
        i++;
      }
    }
    if (text[i] !== ';') throw new Error(`line ${line}: option ${key} not ended by ;`);
    if (key === 'msg' && rawQuotes !== 2) throw new Error(`line ${line}: msg has ${rawQuotes} unescaped quotes, not 2`);
    i++;
    if (options.has(key) && key !== 'content') throw new Error(`line ${line}: option ${key} twice`);
    options.set(key, value.trim());
  }
  return options;
}

export function parseSuricataRules(text: string): SuricataRule[] {
  const rules: SuricataRule[] = [];
  const sids = new Set<string>();
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const open = raw.indexOf('(');
    if (open < 0 || !raw.endsWith(')')) throw new Error(`line ${line}: options must be in (...) at the end`);
    const header = raw.slice(0, open).trim().split(/\s+/);
    if (header.length !== 7) throw new Error(`line ${line}: header needs 7 fields, has ${header.length}`);
    const [action, proto, source, sourcePort, direction, destination, destinationPort] = header as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (!ACTIONS.has(action)) throw new Error(`line ${line}: unknown action ${action}`);
    if (!PROTOCOLS.has(proto)) throw new Error(`line ${line}: unknown protocol ${proto}`);
    if (direction !== '->' && direction !== '<>') throw new Error(`line ${line}: bad direction ${direction}`);
    for (const address of [source, destination])
      if (!ADDRESS.test(address)) throw new Error(`line ${line}: bad address ${address}`);
    for (const port of [sourcePort, destinationPort])
      if (!PORT.test(port)) throw new Error(`line ${line}: bad port ${port}`);
    const options = readOptions(raw.slice(open + 1, -1), line);
    const msg = options.get('msg');
    if (msg === undefined || !/^".*"$/s.test(msg)) throw new Error(`line ${line}: msg must be a quoted string`);
    const sid = options.get('sid');
    if (sid === undefined || !/^\d+$/.test(sid)) throw new Error(`line ${line}: sid must be an integer`);
    if (sids.has(sid)) throw new Error(`line ${line}: sid ${sid} repeated`);
    sids.add(sid);
    const rev = options.get('rev');
    if (rev !== undefined && !/^\d+$/.test(rev)) throw new Error(`line ${line}: rev must be an integer`);
    rules.push({ action, proto, source, sourcePort, direction, destination, destinationPort, options });
  });
  return rules;
}
