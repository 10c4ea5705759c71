/** `devices provision`: requests from files or keys made on the line, issued in one batch. */
import { readdirSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// Deep imports: this module runs under the lean launcher (see context.ts).
import { CustodyError } from '@custody/core/errors';
import { CertificateFactory } from '@custody/core/x509/certificate-factory';
import { readCertificateInfo } from '@custody/core/x509/certificate-info';
import { decodePEM, derOrPEM, encodePEM } from '@custody/core/x509/pem';
import { issuePrepared, prepareChecked, type ProvisionInput, type ProvisionOptions, type ProvisionedDevice } from '@custody/core/provisioning/provision';
import type { CertificateTemplate } from '@custody/core/templates/template';
import type { PrivateKeyHandle } from '@custody/core/crypto/provider';
import { encodePrivateKey, type KeyProtection } from '@custody/store/keys';
import { createBirths, type Births } from '@custody/core/custody/chain';
import type { Claims } from '@custody/core/attestation/claims';
import { loadSigner, resolveRecipient } from './parties.js';
import type { Store } from '@custody/store/types';
import { loadKey, provider, readInputFile } from './context.js';
import { checkRequests } from './check-requests.js';
import { poolThreads } from './pool-size.js';

const CSR_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'];

/** Reads one CSR file or every *.csr, *.pem, *.der file of a folder. Errors name the file. */
export function readCSRInputs(path: string): ProvisionInput[] {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new CustodyError('ERR_INPUT_READ', `${path}: cannot read (${(e as NodeJS.ErrnoException).code})`, { file: path });
  }
  const files = st.isDirectory()
    ? readdirSync(path)
        .filter((f) => /\.(csr|pem|der)$/i.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new CustodyError('ERR_CSR_NONE', `${path}: no .csr, .pem or .der files in this folder`, { file: path });
  return files.map((file) => {
    try {
      return { source: file, csr: derOrPEM(readInputFile(file, 'csr'), CSR_LABELS) };
    } catch (e) {
      if (e instanceof CustodyError) throw e.withFile(file);
      throw new CustodyError('ERR_INPUT_READ', `${file}: cannot read (${(e as NodeJS.ErrnoException).code})`, { file });
    }
  });
}

/** Expands a serial pattern: {seq} or {seq:6} (zero-padded counter), {rand} or {rand:8} (hex), {lot}, {model}. */
export function expandSerialPattern(pattern: string, seq: number, vars: { lot?: string; model?: string }, random: () => string): string {
  return pattern.replace(/\{(seq|rand|lot|model)(?::(\d+))?\}/g, (_, v: string, width?: string) => {
    if (v === 'seq') return String(seq).padStart(Number(width ?? 0), '0');
    if (v === 'rand') return random().slice(0, Number(width ?? 8));
    const value = v === 'lot' ? vars.lot : vars.model;
    if (!value) throw new CustodyError('ERR_USAGE_PATTERN', `serial pattern uses {${v}} but --${v} was not given`);
    return value;
  });
}

export interface ProvisionCommandOptions {
  ca: string;
  template: CertificateTemplate;
  csrPath?: string;
  generate?: number;
  serialPattern: string;
  start: number;
  model?: string;
  lot?: string;
  out?: string;
  passphrase: string | undefined;
  /** The party signing birth attestations: a name, or the store's only party; `false` for none. */
  party?: string | false;
  /** First custodian: a party certificate file or a party name (default: the signing party). */
  to?: string;
  claims?: Claims;
  /** Protection of device keys made on the line. */
  deviceKeyProtection?: KeyProtection;
  now: Date;
  onProgress?: (done: number, total: number) => void;
}

export interface ProvisionResult {
  ca: string;
  /** The party that signed the birth attestations, when there were any. */
  attestedBy?: string;
  devices: Array<{ serial: string; certSerial: string; source: string; certificate?: string; key?: string; attested: boolean }>;
}

/** The provisioning hook that signs each device's birth attestation (synchronously where the provider can). */
export function birthHook(births: Births): NonNullable<ProvisionOptions['birth']> {
  return births.sync ? async (d) => births.signSync(d) : (d) => births.sign(d);
}

/** The issuing side of a batch, prepared once: factory, birth signer, everything but the requests. */
export async function provisioningSetup(
  store: Store,
  o: Omit<ProvisionCommandOptions, 'csrPath' | 'generate' | 'serialPattern' | 'start'>,
): Promise<{ options: ProvisionOptions; attestedBy?: string; at(now: Date): Promise<ProvisionOptions> }> {
  const ca = await store.getCA(o.ca);
  if (!ca) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${o.ca}" in ${store.location}`);
  if (o.template.kind !== 'idevid') throw new CustodyError('ERR_TEMPLATE_KIND', `template "${o.template.name}" is a ${o.template.kind} template; devices need an idevid template`);
  const caInfo = readCertificateInfo(decodePEM(ca.certificate, ['CERTIFICATE']));
  const caKey = loadKey(store, ca.key, o.passphrase);
  const organization = caInfo.subjectAttributes.find(([k]) => k === 'O')?.[1];
  const hasParty = o.party !== false && (o.party !== undefined || (await store.listParties()).some((p) => p.key));
  const attest = hasParty ? await loadSigner(store, o.party || undefined, o.passphrase) : undefined;
  const to = attest ? (o.to ? (await resolveRecipient(store, o.to)).spkiSha256 : attest.signer.spkiSha256) : undefined;
  const manufacturer = organization ?? caInfo.subjectText;
  // Options for a given time: a long-running station dates each group by its own clock reading.
  const at = async (now: Date): Promise<ProvisionOptions> => ({
    factory: await CertificateFactory.create({ template: o.template, issuer: { certificate: caInfo, key: caKey }, provider, notBefore: now, vars: { organization, model: o.model ?? o.template.name, lot: o.lot } }),
    registry: store,
    provider,
    issuerName: o.ca,
    model: o.model,
    lot: o.lot,
    now,
    birth: attest ? birthHook(createBirths({ manufacturer, signer: attest.signer, to: to!, ...(o.claims ? { claims: o.claims } : {}), now })) : undefined,
  });
  const options = await at(o.now);
  return attest ? { options, attestedBy: attest.party.name, at } : { options, at };
}

/** Runs one provisioning batch; certificates (and generated keys) are written to `out` only once recorded. */
export async function provision(store: Store, o: ProvisionCommandOptions): Promise<ProvisionResult> {
  const { options, attestedBy } = await provisioningSetup(store, o);
  const generatedKeys = new Map<string, PrivateKeyHandle>();
  let inputs: ProvisionInput[];
  if (o.csrPath !== undefined) inputs = readCSRInputs(o.csrPath);
  else {
    inputs = [];
    const random = () => Buffer.from(provider.randomBytes(8)).toString('hex');
    for (let i = 0; i < (o.generate ?? 0); i++) {
      const serial = expandSerialPattern(o.serialPattern, o.start + i, o, random);
      const keys = await provider.generateKeyPair(o.template.keyAlgorithm);
      generatedKeys.set(serial, keys.privateKey);
      inputs.push({ source: `generated device ${serial}`, generated: { spki: keys.publicKey.spki, serial } });
    }
  }
  if (o.out) mkdirSync(o.out, { recursive: true });
  const result: ProvisionResult = { ca: o.ca, devices: [] };
  if (attestedBy) result.attestedBy = attestedBy;
  let done = 0;
  const release = (chunk: readonly ProvisionedDevice[]) => {
    for (const d of chunk) {
      const entry: ProvisionResult['devices'][number] = { serial: d.serial, certSerial: d.certSerial, source: d.source, attested: d.attestations.length > 0 };
      if (o.out) {
        entry.certificate = join(o.out, `${d.serial}.pem`);
        writeFileSync(entry.certificate, encodePEM(d.certificate, 'CERTIFICATE'));
        const key = generatedKeys.get(d.serial);
        if (key) {
          entry.key = join(o.out, `${d.serial}.key.pem`);
          writeFileSync(entry.key, encodePrivateKey(key, o.deviceKeyProtection ?? { unencrypted: true }), { mode: 0o600, flag: 'wx' });
        }
      }
      result.devices.push(entry);
    }
    done += chunk.length;
    o.onProgress?.(done, inputs.length);
  };
  await provisionInputs(inputs, { ...options, onCommitted: release });
  return result;
}

/**
 * Core's `provisionDevices` with phase 1's signature checks on worker threads as well as this one, for a batch
 * large enough to pay for starting them (`poolThreads`).
 * @throws as `provisionDevices`
 */
export async function provisionInputs(inputs: readonly ProvisionInput[], options: ProvisionOptions): Promise<ProvisionedDevice[]> {
  const checked = await checkRequests(inputs, options.provider, poolThreads(inputs.filter((i) => i.csr).length));
  return issuePrepared(await prepareChecked(checked, options.registry, options.provider), options);
}
