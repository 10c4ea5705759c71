/**
 * Fixtures for bundle and verification tests: a manufacturer PKI (root, issuing CA with pathLen 0, IDevIDs),
 * three more party roots, party attestation certificates from the shipped templates, chains of attestations, CRLs.
 * Keys are fresh per run; names, serials and dates are fixed.
 */
import { createHash } from 'node:crypto';
import { bitString, explicit, integer, octetString, oid, seq, smallInt, x509Time } from '../../src/asn1/der.js';
import { OID } from '../../src/asn1/oids.js';
import { createAttestationSigner, signAttestation, type AttestationSigner } from '../../src/attestation/cms.js';
import type { Claims } from '../../src/attestation/claims.js';
import { createStatement, type AttestationKind } from '../../src/attestation/statement.js';
import { ecdsaP1363ToDER } from '../../src/crypto/ecdsa-signature.js';
import type { KeyPair } from '../../src/crypto/provider.js';
import { fromHex } from '../../src/util/bytes.js';
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { readCertificateInfo, type CertificateInfo } from '../../src/x509/certificate-info.js';
import type { CertificateTemplate } from '../../src/templates/template.js';
import { loadTemplate, provider } from '../x509/fixtures.js';

export { provider };
/** When the PKI is issued. */
export const ISSUED = new Date('2026-11-24T12:00:00Z');
/** Verification time. */
export const AT = new Date('2027-01-15T00:00:00Z');
export const T_BIRTH = new Date('2026-11-24T15:00:00Z');
export const T_HANDOFF1 = new Date('2026-12-01T09:30:00Z');
export const T_HANDOFF2 = new Date('2026-12-10T16:45:00Z');
export const T_ACTIVATION = new Date('2026-12-20T08:00:00Z');

export const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface Holder {
  keys: KeyPair;
  info: CertificateInfo;
  der: Uint8Array;
}

export interface Party extends Holder {
  signer: AttestationSigner;
  spkiSha256: string;
}

async function issue(template: string | CertificateTemplate, issuer: Holder | undefined, vars: Record<string, string>, notBefore = ISSUED): Promise<Holder> {
  const keys = await provider.generateKeyPair('P-256');
  const f = await CertificateFactory.create({
    template: typeof template === 'string' ? loadTemplate(template) : template,
    issuer: issuer ? { certificate: issuer.info, key: issuer.keys.privateKey } : { key: keys.privateKey },
    provider,
    notBefore,
    vars,
  });
  const { der } = await f.issue({ spki: keys.publicKey.spki, vars });
  return { keys, info: readCertificateInfo(der), der };
}

/** A self-signed root CA. */
export const makeRoot = (organization: string, name: string): Promise<Holder> => issue('root-ca', undefined, { organization, name });
/** An issuing CA (pathLen 0) under `issuer`. */
export const makeIssuingCA = (issuer: Holder, organization: string, name: string): Promise<Holder> => issue('issuing-ca', issuer, { organization, name });

/** A party attestation certificate (custody EKU) under `issuer`, with its prepared signer. */
export async function makeParty(issuer: Holder, organization: string, name: string, notBefore = ISSUED): Promise<Party> {
  const h = await issue('party', issuer, { organization, name }, notBefore);
  const signer = await createAttestationSigner({ certificate: h.der, key: h.keys.privateKey, provider });
  return { ...h, signer, spkiSha256: signer.spkiSha256 };
}

/**
 * A would-be attestation signer under `issuer` from the `party` template changed by `change` (no EKU, another
 * EKU, no keyUsage, a CA...), with its prepared signer: for the signer-profile tests.
 */
export async function makeSignerFrom(issuer: Holder, name: string, change: (t: CertificateTemplate) => CertificateTemplate): Promise<Party> {
  const h = await issue(change(loadTemplate('party')), issuer, { organization: 'Acme Devices', name });
  const signer = await createAttestationSigner({ certificate: h.der, key: h.keys.privateKey, provider });
  return { ...h, signer, spkiSha256: signer.spkiSha256 };
}

/**
 * A CA key rollover (RFC 4210 4.4 NewWithOld): a self-issued CA certificate with `ca`'s subject and a new key,
 * signed by `ca`'s (old) key, keyCertSign and cRLSign. `makeCRL` on the result signs a CRL with the new key.
 */
export const makeRollover = (ca: Holder, organization: string, name: string): Promise<Holder> =>
  issue({ ...loadTemplate('issuing-ca'), name: 'rollover', basicConstraints: { ca: true, critical: true } }, ca, { organization, name });

/** An IDevID for `serial` under `issuer`. */
export const makeDevice = (issuer: Holder, serial: string, model = 'Thermostat T1'): Promise<Holder> =>
  issue('idevid', issuer, { organization: 'Acme Devices', model, serial });

export interface Step {
  signer: Party;
  to: Party;
  kind: AttestationKind;
  time: Date;
  stage?: string;
  claims?: Claims;
  /** Override fields of the statement (for forged chains). */
  seq?: number;
  prev?: string | null;
}

/** Signs a chain of attestations for `device`, linking each to the previous one. */
export async function signChain(device: Holder, steps: readonly Step[], manufacturer = 'Acme Devices'): Promise<Uint8Array[]> {
  const serial = device.info.subjectAttributes.find(([k]) => k === 'serialNumber')![1];
  const out: Uint8Array[] = [];
  for (const [i, s] of steps.entries()) {
    const statement = createStatement({
      kind: s.kind,
      device: `${manufacturer}/${serial}`,
      idevidSha256: sha256hex(device.der),
      seq: s.seq ?? i,
      prev: s.prev !== undefined ? s.prev : i === 0 ? null : sha256hex(out[i - 1]!),
      from: s.signer.spkiSha256,
      to: s.to.spkiSha256,
      time: s.time,
      ...(s.stage ? { stage: s.stage } : {}),
      claims: s.claims ?? {},
    });
    out.push(await signAttestation(s.signer.signer, statement, s.time));
  }
  return out;
}

export const BIRTH_CLAIMS: Claims = {
  secureBoot: { enabled: true, method: 'AHAB' },
  debugPorts: { state: 'locked' },
  firmware: { version: '1.4.2', sha256: 'c'.repeat(64) },
  deviceIdentity: { idevid: true, keyStorage: 'secure-element' },
  storageEncryption: { enabled: true, algorithm: 'AES-256-XTS' },
};
export const INTEGRATION_CLAIMS: Claims = {
  product: { name: 'Northwind Building Controller', model: 'NBC-200' },
  firmware: { version: '1.5.0', sha256: 'd'.repeat(64) },
  signedUpdates: { enabled: true, firmwareVersion: '1.5.0' },
  authentication: { enabled: true, method: 'mtls' },
};
export const RESALE_CLAIMS: Claims = { hardwarePorts: { state: 'disabled', ports: ['USB'] } };

/** Everything the tests need, made once. */
export interface World {
  acmeRoot: Holder;
  acmeIssuing: Holder;
  northwindRoot: Holder;
  contosoRoot: Holder;
  fabrikamRoot: Holder;
  factory: Party;
  integrator: Party;
  reseller: Party;
  customer: Party;
  device: Holder;
  /** Birth (factory -> integrator), handoff (integrator -> reseller), handoff (reseller -> customer). */
  chain: Uint8Array[];
  trustAnchors: Uint8Array[];
}

/** The standard three-step chain for `device`. */
export function standardSteps(w: Pick<World, 'factory' | 'integrator' | 'reseller' | 'customer'>): Step[] {
  return [
    { signer: w.factory, to: w.integrator, kind: 'birth', time: T_BIRTH, stage: 'factory', claims: BIRTH_CLAIMS },
    { signer: w.integrator, to: w.reseller, kind: 'handoff', time: T_HANDOFF1, stage: 'integration', claims: INTEGRATION_CLAIMS },
    { signer: w.reseller, to: w.customer, kind: 'handoff', time: T_HANDOFF2, stage: 'resale', claims: RESALE_CLAIMS },
  ];
}

/** Builds the world: four organisations, one device, its chain. */
export async function makeWorld(): Promise<World> {
  const acmeRoot = await makeRoot('Acme Devices', 'Acme Root CA');
  const acmeIssuing = await makeIssuingCA(acmeRoot, 'Acme Devices', 'Acme Issuing CA 1');
  const northwindRoot = await makeRoot('Northwind Integration', 'Northwind Root CA');
  const contosoRoot = await makeRoot('Contoso Resale', 'Contoso Root CA');
  const fabrikamRoot = await makeRoot('Fabrikam Hospital', 'Fabrikam Root CA');
  const factory = await makeParty(acmeIssuing, 'Acme Devices', 'Acme Factory Line 3');
  const integrator = await makeParty(northwindRoot, 'Northwind Integration', 'Northwind Attestation Signer');
  const reseller = await makeParty(contosoRoot, 'Contoso Resale', 'Contoso Attestation Signer');
  const customer = await makeParty(fabrikamRoot, 'Fabrikam Hospital', 'Fabrikam Receiving');
  const device = await makeDevice(acmeIssuing, 'SN000042');
  const w = { acmeRoot, acmeIssuing, northwindRoot, contosoRoot, fabrikamRoot, factory, integrator, reseller, customer, device };
  const chain = await signChain(device, standardSteps(w));
  return { ...w, chain, trustAnchors: [acmeRoot.der, northwindRoot.der, contosoRoot.der, fabrikamRoot.der] };
}

/** A v2 CRL from `ca` revoking `serialsHex`, signed with the CA key. */
export async function makeCRL(ca: Holder, serialsHex: readonly string[], thisUpdate: Date, nextUpdate: Date): Promise<Uint8Array> {
  const alg = seq(oid(OID.ecdsaWithSHA256));
  const ext = (o: string, value: Uint8Array) => seq(oid(o), octetString(value));
  const revoked = serialsHex.map((s) => seq(integer(fromHex(s)), x509Time(thisUpdate)));
  const tbs = seq(
    smallInt(1),
    alg,
    ca.info.subject,
    x509Time(thisUpdate),
    x509Time(nextUpdate),
    ...(revoked.length > 0 ? [seq(...revoked)] : []),
    explicit(
      0,
      seq(
        ext(OID.authorityKeyIdentifier, seq(new Uint8Array([0x80, ca.info.subjectKeyId!.length, ...ca.info.subjectKeyId!]))),
        ext(OID.crlNumber, smallInt(1)),
      ),
    ),
  );
  const sig = await provider.sign(ca.keys.privateKey, tbs);
  return seq(tbs, alg, bitString(ecdsaP1363ToDER(sig)));
}
