/**
 * Upstream-style responses encoded by dns2, an encoder independent of poolsink's own code (with name
 * compression), plus record builders for them. Shared by the message and cache unit tests.
 */
import DNS, { type Resource } from 'dns2';
import { QTYPE, RCODE } from '../../src/wire/header.js';

const { Packet } = DNS;

export interface ResponseSpec {
  id?: number;
  name?: string;
  type?: number;
  rcode?: number;
  tc?: boolean;
  aa?: boolean;
  answers?: Partial<Resource>[];
  authorities?: Partial<Resource>[];
  additionals?: Partial<Resource>[];
  /** Adds an OPT record (last in the additional section) with this TTL field (0x8000 = DO). */
  optTtl?: number;
}

export function buildResponse(spec: ResponseSpec): Buffer {
  const packet = new Packet();
  packet.header.id = spec.id ?? 0x4242;
  packet.header.qr = 1;
  packet.header.rd = 1;
  packet.header.ra = 1;
  packet.header.aa = spec.aa === true ? 1 : 0;
  packet.header.tc = spec.tc === true ? 1 : 0;
  packet.header.rcode = spec.rcode ?? RCODE.NOERROR;
  packet.questions.push(
    new Packet.Question({ name: spec.name ?? 'example.com', type: spec.type ?? QTYPE.A, class: 1 }),
  );
  for (const record of spec.answers ?? []) packet.answers.push(new Packet.Resource(record));
  for (const record of spec.authorities ?? []) packet.authorities.push(new Packet.Resource(record));
  for (const record of spec.additionals ?? []) packet.additionals.push(new Packet.Resource(record));
  if (spec.optTtl !== undefined) {
    const opt = Packet.Resource.EDNS([]);
    opt.ttl = spec.optTtl;
    packet.additionals.push(opt);
  }
  return packet.toBuffer();
}

export function a(name: string, ttl: number, address = '192.0.2.1'): Partial<Resource> {
  return { name, type: QTYPE.A, class: 1, ttl, address };
}

export function cname(name: string, ttl: number, target: string): Partial<Resource> {
  return { name, type: QTYPE.CNAME, class: 1, ttl, domain: target };
}

export function ns(name: string, ttl: number, host: string): Partial<Resource> {
  return { name, type: QTYPE.NS, class: 1, ttl, ns: host };
}

export function soa(name: string, ttl: number, minimum: number): Partial<Resource> {
  return {
    name,
    type: QTYPE.SOA,
    class: 1,
    ttl,
    primary: `ns1.${name}`,
    admin: `hostmaster.${name}`,
    serial: 2024010101,
    refresh: 3600,
    retry: 600,
    expiration: 86400,
    minimum,
  };
}
