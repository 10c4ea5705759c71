/**
 * Test-only peer-name matching for the limbo harness (RFC 9525 in its plainest form): a DNS peer name matches a
 * subjectAltName dNSName exactly (case-insensitively) or through one leftmost `*` label covering exactly one label;
 * an IP peer name matches a subjectAltName iPAddress byte for byte. No common-name fallback.
 */
import { isIP } from 'node:net';
import type { ParsedCertificate } from '../../src/validation/certificate.js';

function ipBytes(s: string): Uint8Array | undefined {
  const v = isIP(s);
  if (v === 4) return Uint8Array.from(s.split('.').map(Number));
  if (v !== 6) return undefined;
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g: string, i: number) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 255;
  });
  return out;
}

/** True when the leaf's SAN names the peer. */
export function matchesPeerName(leaf: ParsedCertificate, kind: string, value: string): boolean {
  const san = leaf.subjectAltName ?? [];
  if (kind === 'IP') {
    const want = ipBytes(value);
    return !!want && san.some((g) => g.kind === 'iPAddress' && g.bytes.length === want.length && g.bytes.every((b, i) => b === want[i]));
  }
  if (kind !== 'DNS') return false;
  const peer = value.toLowerCase();
  return san.some((g) => {
    if (g.kind !== 'dNSName') return false;
    const name = g.value.toLowerCase();
    if (name === peer) return true;
    if (!name.startsWith('*.')) return false;
    const dot = peer.indexOf('.');
    return dot > 0 && peer.slice(dot + 1) === name.slice(2);
  });
}
