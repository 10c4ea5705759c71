/** `devices show`: a device's chain in words, one stage a line. */
import { CustodyError, parseAttestation, readCertificateInfo, type Claims } from '@custody/core';
import type { Store } from '@custody/store';

export interface ChainStage {
  seq: number;
  kind: string;
  time: string;
  from: string;
  to: string;
  stage?: string;
  claims: Claims;
}

export interface DeviceView {
  serial: string;
  model?: string;
  lot?: string;
  subject: string;
  issuer: string;
  certSerial: string;
  issuedAt: string;
  custodian?: string;
  activated: boolean;
  chain: ChainStage[];
}

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

/**
 * The chain of a recorded device, with parties named where the store knows them.
 * @throws ERR_DEVICE_UNKNOWN
 */
export async function showDevice(store: Store, serial: string): Promise<DeviceView> {
  const device = await store.getDevice(serial);
  if (!device) throw new CustodyError('ERR_DEVICE_UNKNOWN', `device ${serial} is not in ${store.location}`);
  const names = new Map((await store.listParties()).map((p) => [p.spkiSha256, p.name]));
  const cert = readCertificateInfo(device.certificate);
  const chain: ChainStage[] = [];
  for (const der of device.attestations) {
    const a = parseAttestation(der);
    const signerName = readCertificateInfo(a.signerCertificate).subjectText;
    const p = a.statement.predicate;
    const fromName = names.get(p.from) ?? signerName;
    const s: ChainStage = { seq: p.seq, kind: a.statement.predicateType.split('/').at(-2)!, time: p.time, from: fromName, to: names.get(p.to) ?? `key ${p.to.slice(0, 16)}...`, claims: p.claims };
    if (p.stage !== undefined) s.stage = p.stage;
    chain.push(s);
  }
  const last = chain.at(-1);
  const view: DeviceView = {
    serial,
    subject: cert.subjectText,
    issuer: cert.issuerText,
    certSerial: device.certSerial,
    issuedAt: device.issuedAt,
    activated: last?.kind === 'activation',
    chain,
  };
  if (device.model !== undefined) view.model = device.model;
  if (device.lot !== undefined) view.lot = device.lot;
  if (last) view.custodian = last.to;
  return view;
}

/** The view as lines of text. */
export function formatDeviceView(v: DeviceView): string[] {
  const lines = [
    `${v.serial}${v.model ? `  model ${v.model}` : ''}${v.lot ? `  lot ${v.lot}` : ''}`,
    `  identity   ${v.subject}  (issued by ${v.issuer}, ${v.issuedAt})`,
    `  custodian  ${v.custodian ?? 'none (no birth attestation)'}${v.activated ? '  [activated]' : ''}`,
  ];
  for (const s of v.chain) {
    const claims = summarizeClaims(s.claims);
    lines.push(`  ${String(s.seq).padStart(2)} ${s.kind.padEnd(10)} ${s.time}  ${s.from} -> ${s.to}${s.stage ? `  [${s.stage}]` : ''}${claims ? `  ${claims}` : ''}`);
  }
  return lines;
}
