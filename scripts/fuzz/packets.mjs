/**
 * The fuzzer's packet generator: seeded, so a failing run can be replayed with its seed. Each
 * packet is either a well-formed query (about one in ten: they keep the cache and upstream paths
 * busy) or a hostile one: random bytes, or a valid query mutated by one of MUTATIONS. Names come
 * from a bounded set, so valid queries saturate the cache early and a memory check afterwards
 * measures leaks, not cache growth.
 *
 * Written independently of src/dns: a bug in the wire code must not be able to hide itself here.
 */
import { seededRandom } from '../bench/data.mjs';

const HEADER = 12;
const TYPE_OPT = 41;
const COMMON_TYPES = [1, 28, 5, 2, 6, 12, 15, 16, 33, 65, 255, 252, 251, 46, 48, 0, 65535];

/** How hostile packets are made, with their relative weights. */
export const MUTATIONS = Object.freeze({
  valid: 10,
  random: 8,
  'bit-flip': 12,
  truncate: 8,
  'count-lie': 8,
  'pointer-loop': 7,
  'long-label': 6,
  'long-name': 4,
  'qtype-class': 6,
  'opt-garbage': 10,
  response: 3,
  opcode: 3,
  trailing: 4,
  splice: 5,
  'extra-records': 6,
});

/** The names valid queries ask for: a few blocked ones, the rest forwarded. */
export function fuzzNames(count = 256) {
  const names = ['pool.example', 'sub.pool.example', 'minexmr.test', 'Mixed.Case.Example'];
  for (let i = names.length; i < count; i += 1) names.push(`n${i}.fuzz.test`);
  return names;
}

function encodeName(name) {
  const parts = [];
  for (const label of name.split('.')) {
    if (label === '') continue;
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function createPacketFuzzer({ seed = 1, names = fuzzNames() } = {}) {
  const random = seededRandom(seed);
  const int = (n) => Math.floor(random() * n);
  const chance = (p) => random() < p;
  const pick = (list) => list[int(list.length)];
  const encodedNames = names.map(encodeName);
  const kinds = Object.keys(MUTATIONS);
  const totalWeight = kinds.reduce((sum, kind) => sum + MUTATIONS[kind], 0);

  function randomBytes(length) {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i += 1) out[i] = int(256);
    return out;
  }

  function u16(value) {
    const out = Buffer.alloc(2);
    out.writeUInt16BE(value & 0xffff, 0);
    return out;
  }

  function header({ flags = 0x0100, qd = 1, an = 0, ns = 0, ar = 0 } = {}) {
    const out = Buffer.alloc(HEADER);
    out.writeUInt16BE(int(0x10000), 0);
    out.writeUInt16BE(flags, 2);
    out.writeUInt16BE(qd, 4);
    out.writeUInt16BE(an, 6);
    out.writeUInt16BE(ns, 8);
    out.writeUInt16BE(ar, 10);
    return out;
  }

  function opt({
    udpSize = 1232,
    version = 0,
    dnssecOk = false,
    options = Buffer.alloc(0),
    owner = Buffer.from([0]),
  } = {}) {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(TYPE_OPT, 0);
    fixed.writeUInt16BE(udpSize, 2);
    fixed[4] = 0;
    fixed[5] = version;
    fixed[6] = dnssecOk ? 0x80 : 0;
    fixed.writeUInt16BE(options.length, 8);
    return Buffer.concat([owner, fixed, options]);
  }

  /** EDNS options: well formed (cookie, padding, client subnet) or garbage with lying lengths. */
  function options(garbage) {
    const parts = [];
    const n = int(4);
    for (let i = 0; i < n; i += 1) {
      if (!garbage) {
        const code = pick([10, 12, 8, 15]);
        const data = randomBytes(code === 10 ? 8 : int(32));
        parts.push(u16(code), u16(data.length), data);
      } else {
        const data = randomBytes(int(40));
        parts.push(
          u16(int(0x10000)),
          u16(chance(0.5) ? data.length + 1 + int(0xffff - data.length) : data.length),
          data,
        );
      }
    }
    if (garbage && chance(0.3)) parts.push(randomBytes(1 + int(3))); // an option cut short
    return Buffer.concat(parts);
  }

  function question() {
    const name = pick(encodedNames);
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(chance(0.7) ? 1 : pick(COMMON_TYPES), 0);
    tail.writeUInt16BE(chance(0.95) ? 1 : pick([3, 4, 254, 255]), 2);
    return Buffer.concat([name, tail]);
  }

  function validQuery() {
    const edns = chance(0.5);
    const parts = [header({ ar: edns ? 1 : 0, flags: chance(0.1) ? 0x0110 : 0x0100 }), question()];
    if (edns)
      parts.push(
        opt({
          udpSize: pick([512, 1232, 4096, 65535, 0]),
          dnssecOk: chance(0.3),
          options: chance(0.3) ? options(false) : Buffer.alloc(0),
        }),
      );
    return Buffer.concat(parts);
  }

  function flipBits(packet) {
    const out = Buffer.from(packet);
    const flips = 1 + int(8);
    for (let i = 0; i < flips; i += 1) out[int(out.length)] ^= 1 << int(8);
    return out;
  }

  function countLie(packet) {
    const out = Buffer.from(packet);
    const values = [0, 1, 2, 3, 0xff, 0x100, 0xffff];
    for (const offset of [4, 6, 8, 10])
      if (chance(0.6)) out.writeUInt16BE(chance(0.7) ? pick(values) : int(0x10000), offset);
    return out;
  }

  function pointerLoop() {
    const tail = Buffer.from([0, 1, 0, 1]);
    switch (int(5)) {
      case 0: // the question name points at itself
        return Buffer.concat([header(), Buffer.from([0xc0, HEADER]), tail]);
      case 1: // a label, then a pointer back to its own start
        return Buffer.concat([header(), Buffer.from([1, 0x61, 0xc0, HEADER]), tail]);
      case 2: // a pointer forwards, past the end
        return Buffer.concat([header(), Buffer.from([0xc0, 0xff]), tail]);
      case 3: {
        // an additional record whose owner points at itself
        const q = question();
        const at = HEADER + q.length;
        const record = Buffer.concat([
          Buffer.from([0xc0 | (at >> 8), at & 0xff]),
          Buffer.from([0, 1, 0, 1, 0, 0, 0, 60, 0, 0]),
        ]);
        return Buffer.concat([header({ ar: 1 }), q, record]);
      }
      default: {
        // two records pointing at each other
        const q = question();
        const a = HEADER + q.length;
        const b = a + 12;
        const rec = (target) =>
          Buffer.concat([
            Buffer.from([0xc0 | (target >> 8), target & 0xff]),
            Buffer.from([0, 5, 0, 1, 0, 0, 0, 60, 0, 0]),
          ]);
        return Buffer.concat([header({ an: 1, ar: 1 }), q, rec(b), rec(a)]);
      }
    }
  }

  function longLabel() {
    const length = 64 + int(192); // 64..255: reserved label types, or past the end
    const bytes = Buffer.concat([
      Buffer.from([length]),
      Buffer.alloc(chance(0.5) ? length : int(length), 0x61),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    return Buffer.concat([header(), bytes]);
  }

  function longName() {
    const labels = 4 + int(4); // 4..7 labels of 63: 256..449 bytes, past the 255-byte limit
    const parts = [];
    for (let i = 0; i < labels; i += 1) parts.push(Buffer.from([63]), Buffer.alloc(63, 0x62));
    parts.push(Buffer.from([0, 0, 1, 0, 1]));
    return Buffer.concat([header(), ...parts]);
  }

  function qtypeClass() {
    const q = question();
    q.writeUInt16BE(int(0x10000), q.length - 4);
    q.writeUInt16BE(chance(0.5) ? int(0x10000) : 1, q.length - 2);
    return Buffer.concat([header(), q]);
  }

  function optGarbage() {
    const q = question();
    switch (int(6)) {
      case 0: // options with lying lengths
        return Buffer.concat([header({ ar: 1 }), q, opt({ options: options(true) })]);
      case 1: {
        // rdlength longer than what follows
        const record = opt({ options: options(false) });
        record.writeUInt16BE(record.length + int(100), 9);
        return Buffer.concat([header({ ar: 1 }), q, record]);
      }
      case 2: // two OPT records
        return Buffer.concat([header({ ar: 2 }), q, opt(), opt({ version: 1 })]);
      case 3: // OPT in the answer section
        return Buffer.concat([header({ an: 1 }), q, opt()]);
      case 4: // OPT not owned by the root
        return Buffer.concat([header({ ar: 1 }), q, opt({ owner: encodeName('not.root') })]);
      default: // unknown version, odd sizes, every flag bit
        return Buffer.concat([
          header({ ar: 1 }),
          q,
          opt({ version: 1 + int(255), udpSize: int(0x10000), dnssecOk: true }),
        ]);
    }
  }

  function extraRecords() {
    const q = question();
    const count = 1 + int(4);
    const records = [];
    for (let i = 0; i < count; i += 1) {
      const rdata = randomBytes(int(64));
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(pick(COMMON_TYPES), 0);
      fixed.writeUInt16BE(1, 2);
      fixed.writeUInt32BE(int(0x7fffffff), 4);
      fixed.writeUInt16BE(chance(0.8) ? rdata.length : int(0x10000), 8);
      records.push(chance(0.5) ? Buffer.from([0xc0, HEADER]) : Buffer.from([0]), fixed, rdata);
    }
    const section = int(3);
    return Buffer.concat([
      header({ an: section === 0 ? count : 0, ns: section === 1 ? count : 0, ar: section === 2 ? count : 0 }),
      q,
      ...records,
    ]);
  }

  function make(kind) {
    switch (kind) {
      case 'valid':
        return validQuery();
      case 'random':
        return randomBytes(chance(0.3) ? int(HEADER + 1) : int(600));
      case 'bit-flip':
        return flipBits(validQuery());
      case 'truncate': {
        const q = validQuery();
        return q.subarray(0, int(q.length));
      }
      case 'count-lie':
        return countLie(validQuery());
      case 'pointer-loop':
        return pointerLoop();
      case 'long-label':
        return longLabel();
      case 'long-name':
        return longName();
      case 'qtype-class':
        return qtypeClass();
      case 'opt-garbage':
        return optGarbage();
      case 'response': {
        const q = validQuery();
        q[2] |= 0x80;
        return q;
      }
      case 'opcode': {
        const q = validQuery();
        q[2] = (q[2] & 0x87) | ((1 + int(15)) << 3);
        return q;
      }
      case 'trailing':
        return Buffer.concat([validQuery(), randomBytes(1 + int(64))]);
      case 'splice': {
        const q = validQuery();
        const at = int(q.length + 1);
        return Buffer.concat([q.subarray(0, at), randomBytes(1 + int(16)), q.subarray(at)]);
      }
      case 'extra-records':
        return extraRecords();
      default:
        throw new Error(`unknown mutation ${kind}`);
    }
  }

  return {
    /** The next packet and how it was made. */
    next() {
      let roll = random() * totalWeight;
      let kind = kinds[kinds.length - 1];
      for (const candidate of kinds) {
        roll -= MUTATIONS[candidate];
        if (roll < 0) {
          kind = candidate;
          break;
        }
      }
      return { kind, bytes: make(kind) };
    },
  };
}
