/**
 * What a provisioning batch issues with, described once: the template, the issuing CA and its key, the birth
 * attestation's signer. This thread builds its issuing options from it, and a worker thread builds the same
 * options from the copy it is sent (`IssuingSpec`: plain data and KeyObjects, as structured clone carries them),
 * so that a certificate or attestation issued on either thread is issued by the same code from the same inputs.
 */
import type { KeyObject } from 'node:crypto';
import { CertificateFactory, readCertificateInfo, type CertificateInfo } from '@custody/core/x509';
import { createBirths, createAttestationSigner, type AttestationSigner, type Births, type Claims } from '@custody/core/attestation';
import { isExternalPrivateKey, type CryptoProvider, type PrivateKeyHandle } from '@custody/core/crypto';
import { nodeKeyObject, nodePrivateKeyHandle } from '@custody/core/node';
import type { ProvisionOptions } from '@custody/core/provisioning';
import type { CertificateTemplate } from '@custody/core/templates';

/** A batch's issuing inputs on this thread: key handles of any kind (a file's KeyObject, a token's key). */
export interface IssuingParts {
  template: CertificateTemplate;
  ca: { certificate: CertificateInfo; key: PrivateKeyHandle };
  /** The CA's name in the store (recorded with each device). */
  issuerName: string;
  organization?: string | undefined;
  model?: string | undefined;
  lot?: string | undefined;
  /** The birth attestation: signed by `signer`, naming `to` as first custodian; absent: no attestation. */
  birth?: { manufacturer: string; signer: AttestationSigner; to: string; claims?: Claims | undefined } | undefined;
}

/** `IssuingParts` as a worker thread receives them: certificates as DER, keys as KeyObjects. */
export interface IssuingSpec {
  template: CertificateTemplate;
  ca: { certificate: Uint8Array; key: KeyObject };
  issuerName: string;
  organization?: string | undefined;
  model?: string | undefined;
  lot?: string | undefined;
  birth?: { manufacturer: string; certificate: Uint8Array; key: KeyObject; to: string; claims?: Claims | undefined } | undefined;
}

/** The issuing options of `parts` for a batch dated `now` (everything `createIssuer` takes but the registry). */
export async function issuingOptions(parts: IssuingParts, provider: CryptoProvider, now: Date): Promise<Omit<ProvisionOptions, 'registry'>> {
  const { template, ca, issuerName, organization, model, lot, birth } = parts;
  const factory = await CertificateFactory.create({ template, issuer: ca, provider, notBefore: now, vars: { organization, model, lot } });
  const options: Omit<ProvisionOptions, 'registry'> = { factory, provider, issuerName, model, lot, now };
  if (birth) {
    options.birth = birthHook(
      createBirths({ manufacturer: birth.manufacturer, signer: birth.signer, to: birth.to, ...(birth.claims ? { claims: birth.claims } : {}), now }),
    );
  }
  return options;
}

/** The provisioning hook that signs each device's birth attestation (synchronously where the provider can). */
export function birthHook(births: Births): NonNullable<ProvisionOptions['birth']> {
  return births.sync ? async (d) => births.signSync(d) : (d) => births.sign(d);
}

/** `parts` for a worker thread; undefined when a key cannot leave this thread (a token's key signs where its session is). */
export function issuingSpec(parts: IssuingParts): IssuingSpec | undefined {
  const { ca, birth } = parts;
  if (isExternalPrivateKey(ca.key) || (birth && isExternalPrivateKey(birth.signer.key))) return undefined;
  const spec: IssuingSpec = { ...parts, ca: { certificate: ca.certificate.der, key: nodeKeyObject(ca.key) }, birth: undefined };
  if (birth) spec.birth = { ...birth, certificate: birth.signer.certificate, key: nodeKeyObject(birth.signer.key) };
  return spec;
}

/** The parts a worker thread issues with, rebuilt from the spec it was sent. */
export async function issuingParts(spec: IssuingSpec, provider: CryptoProvider): Promise<IssuingParts> {
  const { ca, birth } = spec;
  const parts: IssuingParts = { ...spec, ca: { certificate: readCertificateInfo(ca.certificate), key: nodePrivateKeyHandle(ca.key) }, birth: undefined };
  if (birth) {
    const signer = await createAttestationSigner({ certificate: birth.certificate, key: nodePrivateKeyHandle(birth.key), provider });
    parts.birth = { manufacturer: birth.manufacturer, signer, to: birth.to, claims: birth.claims };
  }
  return parts;
}
