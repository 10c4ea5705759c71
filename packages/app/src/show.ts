/** `devices show`: a device's chain as data (the CLI renders it, one stage a line). */
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
