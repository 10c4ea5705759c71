/** `devices show`: a device's chain as data (the CLI renders it, one stage a line). */
import { CustodyError, decodePEM, parseAttestation, readCertificateInfo, toHex, type Claims } from '@custody/core';
import type { Store } from '@custody/store';
import { provider } from './context.js';

/**
 * A party of a chain: always its key (hex SHA-256 of its SubjectPublicKeyInfo, what statements name), its
 * certificate's subject when a certificate with that key is known (a signer of the chain, or a party of this
 * store), and its name in this store when it has one.
 */
export interface PartyRef {
  spkiSha256: string;
  subject?: string;
  name?: string;
}

export interface ChainStage {
  seq: number;
  kind: string;
  time: string;
  from: PartyRef;
  to: PartyRef;
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
  custodian?: PartyRef;
  activated: boolean;
  chain: ChainStage[];
}

/**
 * The chain of a recorded device, with each party's subject wherever a certificate with its key is known (the
 * chain's own signers first, then this store's parties) and its name where this store has one.
 * @throws ERR_DEVICE_UNKNOWN
 */
export async function showDevice(store: Store, serial: string): Promise<DeviceView> {
  const device = await store.getDevice(serial);
  if (!device) throw new CustodyError('ERR_DEVICE_UNKNOWN', `device ${serial} is not in ${store.location}`);
  const parties = await store.listParties();
  const names = new Map(parties.map((p) => [p.spkiSha256, p.name]));
  const subjects = new Map<string, string>();
  const cert = readCertificateInfo(device.certificate);
  const parsed = device.attestations.map((der) => parseAttestation(der));
  // A party's key names it in the statements; its certificate, where one is known, gives its subject.
  for (const a of parsed) subjects.set(toHex(await provider.digest('SHA-256', a.signerSpki)), readCertificateInfo(a.signerCertificate).subjectText);
  for (const p of parties)
    if (!subjects.has(p.spkiSha256)) subjects.set(p.spkiSha256, readCertificateInfo(decodePEM(p.certificate, ['CERTIFICATE'])).subjectText);
  const party = (spkiSha256: string): PartyRef => {
    const ref: PartyRef = { spkiSha256 };
    const subject = subjects.get(spkiSha256);
    if (subject !== undefined) ref.subject = subject;
    const name = names.get(spkiSha256);
    if (name !== undefined) ref.name = name;
    return ref;
  };
  const chain: ChainStage[] = [];
  for (const a of parsed) {
    const p = a.statement.predicate;
    const s: ChainStage = {
      seq: p.seq,
      kind: a.statement.predicateType.split('/').at(-2)!,
      time: p.time,
      from: party(p.from),
      to: party(p.to),
      claims: p.claims,
    };
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
