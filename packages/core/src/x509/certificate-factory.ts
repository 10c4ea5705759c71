/**
 * Issues certificates from a template. The parts that are the same for every certificate of one batch
 * (issuer, validity, algorithm, constant extensions) are encoded once; each certificate then costs a subject,
 * a serial, two key-dependent extensions and one native signature. Issuing through pkijs object graphs runs at
 * about 2% of the raw signing rate here; this is the reason for the hand-assembled DER.
 *
 *   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version, serialNumber, signature AlgorithmIdentifier,
 *     issuer Name, validity Validity, subject Name, subjectPublicKeyInfo, extensions [3] EXPLICIT Extensions }
 *                                                                                  (RFC 5280 4.1)
 */
import { CustodyError } from '../errors.js';
import { OID } from '../asn1/oids.js';
import { bitString, explicit, generalizedTime, integer, oid, seq, smallInt, x509Time } from '../asn1/der.js';
import { concatBytes, toHex } from '../util/bytes.js';
import type { CryptoProvider, CurveName, PrivateKeyHandle, SyncCrypto } from '../crypto/provider.js';
import { ecdsaP1363ToDER } from '../crypto/ecdsa-signature.js';
import { expandSubject, type CertificateTemplate } from '../templates/template.js';
import { encodeName, encodeRDN } from './name.js';
import { spkiCurve, spkiPublicKeyBits, type CertificateInfo } from './certificate-info.js';
import { sha1 } from '../util/sha1.js';
import * as ext from './extensions.js';

/** The issuer side of a batch: its certificate (absent for a self-signed root) and its private key. */
export interface Issuer {
  certificate?: CertificateInfo;
  key: PrivateKeyHandle;
}

export interface FactoryOptions {
  template: CertificateTemplate;
  issuer: Issuer;
  provider: CryptoProvider;
  /** Start of validity for the whole batch; seconds are kept, milliseconds dropped. */
  notBefore: Date;
  /** Variables shared by the batch ({organization}, {model}, {lot}, ...). */
  vars?: Readonly<Record<string, string | undefined>>;
}

export interface IssueRequest {
  spki: Uint8Array;
  /** Per-certificate variables ({serial}, {name}, ...). */
  vars?: Readonly<Record<string, string | undefined>>;
  /**
   * The certificate serial, taken from `nextSerial` beforehand: for a certificate that is recorded under its serial
   * before it is issued (an LDevID). Absent: the next one.
   */
  serial?: Uint8Array;
}

export interface IssuedCertificate {
  der: Uint8Array;
  serialHex: string;
}

/** ecdsa-with-SHA256 / SHA384 AlgorithmIdentifier: parameters absent (RFC 5758 3.2). */
export function signatureAlgorithm(curve: CurveName): Uint8Array {
  return seq(oid(curve === 'P-256' ? OID.ecdsaWithSHA256 : OID.ecdsaWithSHA384));
}

/** RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits. */
export async function keyIdentifier(provider: CryptoProvider, spki: Uint8Array): Promise<Uint8Array> {
  return (await provider.digest('SHA-256', spkiPublicKeyBits(spki))).subarray(0, 20);
}

const NO_EXPIRY = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));
const SERIAL_POOL = 16 * 512;

export class CertificateFactory {
  private pool: Uint8Array = new Uint8Array(0);
  private poolAt = 0;

  private constructor(
    private readonly template: CertificateTemplate,
    private readonly issuer: Issuer,
    private readonly provider: CryptoProvider,
    private readonly vars: Readonly<Record<string, string | undefined>>,
    private readonly head: Uint8Array, // version
    private readonly middle: Uint8Array, // signature algorithm, issuer, validity
    private readonly constExtensions: Uint8Array,
    private readonly akiExtension: Uint8Array | undefined,
    private readonly algorithm: Uint8Array,
    private readonly constSubject: Map<string, Uint8Array>,
  ) {}

  /**
   * Prepares a batch.
   * @throws ERR_TEMPLATE_ISSUER when the issuer cannot issue this template (not a CA, a root template under an issuer)
   */
  static async create(opts: FactoryOptions): Promise<CertificateFactory> {
    const { template, issuer, provider } = opts;
    const selfSigned = issuer.certificate === undefined;
    if (selfSigned !== (template.kind === 'root-ca')) {
      throw new CustodyError(
        'ERR_TEMPLATE_ISSUER',
        selfSigned
          ? `template "${template.name}" (${template.kind}) needs an issuer`
          : `template "${template.name}" is a root template and cannot have an issuer`,
      );
    }
    if (issuer.certificate && !issuer.certificate.isCA) throw new CustodyError('ERR_TEMPLATE_ISSUER', `issuer "${issuer.certificate.subjectText}" is not a CA`);
    const notBefore = new Date(Math.floor(opts.notBefore.getTime() / 1000) * 1000);
    const notAfter = 'noExpiry' in template.validity ? NO_EXPIRY : new Date(notBefore.getTime() + template.validity.days * 86_400_000);
    const notAfterDER = 'noExpiry' in template.validity ? generalizedTime(NO_EXPIRY) : x509Time(notAfter);
    const algorithm = signatureAlgorithm(issuer.key.curve);
    // A root's issuer is its own subject: then the subject may hold no per-certificate variable.
    const vars = opts.vars ?? {};
    const issuerName = issuer.certificate ? issuer.certificate.subject : encodeName(expandSubject(template, vars));
    const middle = concatBytes(algorithm, issuerName, seq(x509Time(notBefore), notAfterDER));
    const parts: Uint8Array[] = [];
    const bc = template.basicConstraints;
    if (bc) parts.push(ext.basicConstraints(bc.ca, bc.pathLen, bc.critical));
    if (template.keyUsage) parts.push(ext.keyUsage(template.keyUsage.usages, template.keyUsage.critical));
    if (template.extendedKeyUsage) parts.push(ext.extendedKeyUsage(template.extendedKeyUsage.oids, template.extendedKeyUsage.critical));
    let aki: Uint8Array | undefined;
    if (template.authorityKeyIdentifier && issuer.certificate) {
      const keyId = issuer.certificate.subjectKeyId ?? (await keyIdentifier(provider, issuer.certificate.spki));
      aki = ext.authorityKeyIdentifier(keyId);
    }
    // Attributes that hold no per-certificate variable are encoded once; one whose variable has no value yet
    // (a device model left to each request) is expanded per certificate.
    const constSubject = new Map<string, Uint8Array>();
    for (const [k, v] of template.subject) {
      if (!/\{(serial|name)\}/.test(v) && [...v.matchAll(/\{(\w+)\}/g)].every(([, name]) => vars[name!] !== undefined && vars[name!] !== '')) {
        const [[, value]] = expandSubject({ ...template, subject: [[k, v]] }, vars) as [[string, string]];
        constSubject.set(k, encodeRDN(k, value));
      }
    }
    return new CertificateFactory(template, issuer, provider, vars, explicit(0, smallInt(2)), middle, concatBytes(...parts), aki, algorithm, constSubject);
  }

  /** A positive serial of 16 bytes (at least 120 random bits), first byte 0x01..0x7f so that its length is fixed. */
  nextSerial(): Uint8Array {
    if (this.poolAt + 16 > this.pool.length) {
      this.pool = this.provider.randomBytes(SERIAL_POOL);
      this.poolAt = 0;
    }
    const s = this.pool.slice(this.poolAt, this.poolAt + 16);
    this.poolAt += 16;
    s[0] = s[0]! & 0x7f || 0x01;
    return s;
  }

  /** The TBSCertificate of one request, with the key identifier the caller computed. */
  private buildTBS(req: IssueRequest, keyId: Uint8Array | undefined): { tbs: Uint8Array; serial: Uint8Array } {
    const t = this.template;
    if (!spkiCurve(req.spki)) throw new CustodyError('ERR_KEY_ALGORITHM', 'public key is not an EC key on P-256 or P-384');
    const vars = req.vars ? { ...this.vars, ...req.vars } : this.vars;
    const rdns: Uint8Array[] = [];
    for (const [k, v] of t.subject) {
      const hit = this.constSubject.get(k);
      rdns.push(hit ?? encodeRDN(k, expandValue(t.name, k, v, vars)));
    }
    const serial = req.serial ?? this.nextSerial();
    const extensions: Uint8Array[] = [this.constExtensions];
    if (t.subjectKeyIdentifier) extensions.push(ext.subjectKeyIdentifier(keyId!));
    if (this.akiExtension) extensions.push(this.akiExtension);
    else if (t.authorityKeyIdentifier && !this.issuer.certificate) extensions.push(ext.authorityKeyIdentifier(keyId!));
    if (t.hardwareModuleName) {
      if (!vars.serial) throw new CustodyError('ERR_TEMPLATE_VARIABLE', `template "${t.name}": hardwareModuleName needs a device serial`);
      extensions.push(ext.hardwareModuleNameSAN(t.hardwareModuleName.hwType, vars.serial));
    }
    const tbs = seq(this.head, integer(serial), this.middle, seq(...rdns), req.spki, explicit(3, seq(...extensions)));
    return { tbs, serial };
  }

  /** The RFC 5280 method 1 key identifier when the template asks for it (`keyIdentifierMethod: sha1`). */
  private sha1KeyId(spki: Uint8Array): Uint8Array | undefined {
    return this.template.keyIdentifierMethod === 'sha1' ? sha1(spkiPublicKeyBits(spki)) : undefined;
  }

  private needsKeyId(): boolean {
    return this.template.subjectKeyIdentifier || (this.template.authorityKeyIdentifier && !this.issuer.certificate);
  }

  private finish(tbs: Uint8Array, serial: Uint8Array, p1363: Uint8Array): IssuedCertificate {
    return { der: seq(tbs, this.algorithm, bitString(ecdsaP1363ToDER(p1363))), serialHex: toHex(serial) };
  }

  /**
   * Issues one certificate.
   * @throws ERR_KEY_ALGORITHM for a public key that is not EC P-256/P-384; ERR_NAME_VALUE, ERR_TEMPLATE_VARIABLE
   */
  async issue(req: IssueRequest): Promise<IssuedCertificate> {
    const keyId = this.needsKeyId() ? (this.sha1KeyId(req.spki) ?? (await keyIdentifier(this.provider, req.spki))) : undefined;
    const { tbs, serial } = this.buildTBS(req, keyId);
    return this.finish(tbs, serial, await this.provider.sign(this.issuer.key, tbs));
  }

  /**
   * `issue` without promises, for providers with synchronous operations (the node provider): a factory line
   * issues thousands a second and each await costs an allocation and a turn of the microtask queue.
   * @throws TypeError when the provider has no synchronous operations; the codes of `issue`
   */
  issueSync(req: IssueRequest, sync: SyncCrypto): IssuedCertificate {
    const keyId = this.needsKeyId() ? (this.sha1KeyId(req.spki) ?? sync.digestSync('SHA-256', spkiPublicKeyBits(req.spki)).subarray(0, 20)) : undefined;
    const { tbs, serial } = this.buildTBS(req, keyId);
    return this.finish(tbs, serial, sync.signSync(this.issuer.key, tbs));
  }
}

export type { SyncCrypto } from '../crypto/provider.js';

/** The provider's declared synchronous operations (`CryptoProvider.sync`), when it has them. */
export function syncCrypto(provider: CryptoProvider): SyncCrypto | undefined {
  return provider.sync;
}

function expandValue(template: string, attr: string, value: string, vars: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined || v === '') throw new CustodyError('ERR_TEMPLATE_VARIABLE', `template "${template}": subject.${attr} needs a value for {${name}}`);
    return v;
  });
}
