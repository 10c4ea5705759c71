/** `devices show` as lines of text: one stage a line. */
import type { Claims } from '@custody/core';
import type { DeviceView, PartyRef } from '@custody/app/show';

/** One-line summary of a claims object: `secureBoot(HAB) debugPorts:locked firmware:2.1.0`. */
export function summarizeClaims(claims: Claims): string {
  return Object.entries(claims as Record<string, Record<string, unknown>>)
    .map(([name, v]) => {
      if (typeof v !== 'object' || v === null) return name;
      const parts = Object.entries(v)
        .filter(([k]) => !/sha256/i.test(k))
        .map(([k, x]) => (k === 'enabled' || k === 'idevid' ? (x ? 'on' : 'off') : Array.isArray(x) ? x.join('+') : String(x)));
      return parts.length ? `${name}:${parts.join('/')}` : name;
    })
    .join(' ');
}

/** A party in words: its name in this store, else its certificate's subject, else its key hash. */
export function formatPartyRef(p: PartyRef): string {
  if (p.name !== undefined) return p.name;
  if (p.subject !== undefined) return `"${p.subject}"`;
  return `key ${p.spkiSha256.slice(0, 16)}...`;
}

/** The view as lines of text. */
export function formatDeviceView(v: DeviceView): string[] {
  const lines = [
    `${v.serial}${v.model ? `  model ${v.model}` : ''}${v.lot ? `  lot ${v.lot}` : ''}`,
    `  identity   ${v.subject}  (issued by ${v.issuer}, ${v.issuedAt})`,
    `  custodian  ${v.custodian ? formatPartyRef(v.custodian) : 'none (no birth attestation)'}${v.activated ? '  [activated]' : ''}`,
  ];
  for (const s of v.chain) {
    const claims = summarizeClaims(s.claims);
    lines.push(
      `  ${String(s.seq).padStart(2)} ${s.kind.padEnd(10)} ${s.time}  ${formatPartyRef(s.from)} -> ${formatPartyRef(s.to)}${s.stage ? `  [${s.stage}]` : ''}${claims ? `  ${claims}` : ''}`,
    );
  }
  return lines;
}
