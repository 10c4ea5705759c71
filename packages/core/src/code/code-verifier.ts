/**
 * Checking a detached code signature on the device side: the signature's own integrity, the signer's profile
 * (codeSigning), its trust (a path to a trusted code-signing CA, or a pinned certificate), its validity at `now`,
 * its revocation when CRLs are given, and last the file's hash. Each refusal has its own code:
 *
 * | code | refusal |
 * |---|---|
 * | ERR_CODE_SIGNATURE_MALFORMED | the signature file is not a code signature (bad input) |
 * | ERR_CODE_SIGNATURE | its CMS signature or message digest does not verify, or it names another signer key |
 * | ERR_CODE_SIGNER_PROFILE | the signer is a CA, a device identity, or has a keyUsage without digitalSignature |
 * | ERR_CODE_SIGNER_EKU | the signer's certificate does not list codeSigning |
 * | ERR_CODE_SIGNER_UNTRUSTED | no path to a trusted code-signing CA and not pinned |
 * | ERR_CODE_SIGNER_EXPIRED / _NOT_YET_VALID | a certificate of the signer's path is outside its validity at `now` |
 * | ERR_CODE_SIGNER_REVOKED | a certificate of the signer's path is revoked by a CRL given |
 * | ERR_CODE_DIGEST | the file is not the one signed (tampered, or another file) |
 *
 * A pinned signer is trusted by its exact certificate; it has no issuer here, so CRLs do not reach it: withdraw a
 * pinned signer by unpinning it.
 */
import { OID } from '../asn1/oids.js';
import { verifySignedContent } from '../attestation/cms-parse.js';
import { readSignerCertificate } from '../attestation/signer-certificate.js';
import type { CryptoProvider, PublicKeyHandle } from '../crypto/provider.js';
import { CustodyError } from '../errors.js';
import { toHex } from '../util/bytes.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import type { ParsedCRL } from '../validation/crl.js';
import { PathValidator } from '../validation/path-validator.js';
import { validityCheck } from '../validation/process-path.js';
import { parseCodeSignature } from './code-signature.js';
import { codeSignerProblem, type CodeSignerProblem } from './code-signer-profile.js';
import type { CodeStatement } from './code-statement.js';

/** Whom a device trusts to sign code: code-signing CAs, and certificates pinned one by one. */
export interface CodeTrust {
  /** Trust anchors of code-signing paths (DER), e.g. the owner's CA. */
  readonly cas?: ReadonlyArray<Uint8Array>;
  /** Intermediate CAs that may complete a path (DER). */
  readonly intermediates?: ReadonlyArray<Uint8Array>;
  /** Signer certificates trusted as they are (DER). */
  readonly signers?: ReadonlyArray<Uint8Array>;
}

/** What a code verifier is built with, once per trust set. */
export interface CodeVerifierOptions {
  readonly trust: CodeTrust;
  readonly provider: CryptoProvider;
}

/** One check: a file (or its SHA-256) and its detached signature, at `now`. */
export interface CodeCheckInput {
  /** The file's bytes; or give `sha256`. */
  readonly file?: Uint8Array;
  /** Hex SHA-256 of the file, when `file` is not given. */
  readonly sha256?: string;
  /** The code signature (DER CMS). */
  readonly signature: Uint8Array;
  readonly crls?: ReadonlyArray<Uint8Array | ParsedCRL>;
  /** Refuse (ERR_CODE_SIGNER_UNTRUSTED) when no verified, current CRL establishes the status of the signer's path. */
  readonly requireCRL?: boolean;
  readonly now: Date;
}

/** Who signed the code, as data. */
export interface CodeSignerIdentity {
  /** The signer certificate's subject, RFC 4514 text. */
  readonly subject: string;
  /** Hex SHA-256 of the signer's SubjectPublicKeyInfo DER. */
  readonly spkiSha256: string;
  /** Hex SHA-256 of the signer certificate DER. */
  readonly certSha256: string;
  /** Hex SHA-256 of the issuer certificate's DER (the next one up the path); absent for a pinned signer. */
  readonly issuerSha256?: string;
  /** How the signer is trusted. */
  readonly trustedBy: 'ca' | 'pinned';
  /** The signer certificate (DER). */
  readonly certificate: Uint8Array;
}

/** An accepted code signature. */
export interface VerifiedCode {
  readonly signer: CodeSignerIdentity;
  readonly statement: CodeStatement;
  /** The CMS signing-time. */
  readonly signingTime: Date;
}

/** A verifier for one trust set: anchors parsed and paths cached once, then one call per file. */
export interface CodeVerifier {
  /**
   * Accepts a file and its code signature, or throws the refusal's code.
   * @throws ERR_CODE_SIGNATURE_MALFORMED, ERR_CODE_SIGNATURE, ERR_CODE_SIGNER_PROFILE, ERR_CODE_SIGNER_EKU,
   *   ERR_CODE_SIGNER_UNTRUSTED, ERR_CODE_SIGNER_EXPIRED, ERR_CODE_SIGNER_NOT_YET_VALID, ERR_CODE_SIGNER_REVOKED,
   *   ERR_CODE_DIGEST; TypeError with neither file nor sha256, or an invalid `now`
   */
  verify(input: CodeCheckInput): Promise<VerifiedCode>;
}

/** A signer certificate's facts, kept per parsed certificate by a verifier. */
interface SignerFacts {
  readonly certSha256: string;
  readonly key?: PublicKeyHandle;
  readonly problem?: CodeSignerProblem;
}

/** The code of a path failure, from the path validator's. */
const PATH_CODES: Readonly<Record<string, string>> = {
  ERR_CHAIN_EXPIRED: 'ERR_CODE_SIGNER_EXPIRED',
  ERR_CHAIN_NOT_YET_VALID: 'ERR_CODE_SIGNER_NOT_YET_VALID',
  ERR_CHAIN_REVOKED: 'ERR_CODE_SIGNER_REVOKED',
  ERR_CHAIN_EKU: 'ERR_CODE_SIGNER_EKU',
};

/**
 * Builds a code verifier for a trust set.
 * @throws ERR_CERT_PARSE when a trusted CA or pinned certificate does not parse; TypeError when the trust is empty
 */
export function createCodeVerifier(options: CodeVerifierOptions): CodeVerifier {
  const { provider, trust } = options;
  const cas = trust.cas ?? [];
  const pinned = (trust.signers ?? []).map((d) => parseCertificate(d));
  if (cas.length === 0 && pinned.length === 0) throw new TypeError('createCodeVerifier: trust names no CA and no pinned signer');
  const validator = cas.length > 0 ? new PathValidator({ trustAnchors: cas, provider }) : undefined;
  const hex = async (b: Uint8Array) => toHex(provider.sync ? provider.sync.digestSync('SHA-256', b) : await provider.digest('SHA-256', b));
  const pinnedHashes = new Set<string>();
  const ready = Promise.all(pinned.map(async (c) => pinnedHashes.add(await hex(c.der))));
  // What does not change between two signatures of one signer: its hash, its profile, its imported key.
  const facts = new WeakMap<ParsedCertificate, Promise<SignerFacts>>();
  const signerFacts = (cert: ParsedCertificate): Promise<SignerFacts> => {
    let hit = facts.get(cert);
    if (!hit) {
      hit = (async (): Promise<SignerFacts> => {
        const problem = codeSignerProblem(cert);
        let key: PublicKeyHandle | undefined;
        try {
          key = provider.sync ? provider.sync.importPublicKeySync(cert.spki) : await provider.importPublicKey(cert.spki);
        } catch {
          key = undefined; // verifySignedContent imports it again and reports the refusal as malformed
        }
        return { certSha256: await hex(cert.der), ...(key ? { key } : {}), ...(problem ? { problem } : {}) };
      })();
      facts.set(cert, hit);
    }
    return hit;
  };

  return {
    async verify(input) {
      const { now } = input;
      if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('verify: `now` must be a valid Date');
      if (!input.file && input.sha256 === undefined) throw new TypeError('verify needs the file or its sha256');
      await ready;
      const parsed = parseCodeSignature(input.signature);
      const statement = parsed.statement;
      // The parser's cached parse of the signer certificate: the same object for every signature of one signer,
      // so the validator's per-certificate caches (profile, issuer signature) and ours below hold.
      const cert = readSignerCertificate(parsed.signerCertificate, 'ERR_CODE_SIGNATURE_MALFORMED').certificate;
      const known = await signerFacts(cert);
      let spkiSha256: string;
      try {
        spkiSha256 = await verifySignedContent(parsed, provider, known.key);
      } catch (e) {
        throw new CustodyError('ERR_CODE_SIGNATURE', `code signature: ${(e as Error).message.replace(/^attestation: /, '')}`, { cause: e });
      }
      if (spkiSha256 !== statement.predicate.signer)
        throw new CustodyError(
          'ERR_CODE_SIGNATURE',
          `code signature: the statement names signer ${statement.predicate.signer}, but the signing key is ${spkiSha256}`,
        );

      if (known.problem) throw new CustodyError(known.problem.code, `code signer: ${known.problem.reason}`);
      const certSha256 = known.certSha256;
      let issuerSha256: string | undefined;
      let trustedBy: 'ca' | 'pinned';
      if (pinnedHashes.has(certSha256)) {
        const validity = validityCheck(cert, new Date(Math.floor(now.getTime() / 1000) * 1000));
        if (!validity.ok) throw new CustodyError(PATH_CODES[validity.code!]!, `code signer: "${cert.subject.text}" ${validity.reason}`);
        trustedBy = 'pinned';
      } else {
        issuerSha256 = await trustedPath(validator, cert, trust.intermediates ?? [], input, hex);
        trustedBy = 'ca';
      }

      const fileSha256 = input.file ? await hex(input.file) : input.sha256!;
      if (fileSha256 !== statement.subject[0].digest.sha256)
        throw new CustodyError(
          'ERR_CODE_DIGEST',
          `code "${statement.subject[0].name}": the file's SHA-256 is ${fileSha256}, the signature is for ${statement.subject[0].digest.sha256} (the file was changed, or is another file)`,
        );
      const signer: CodeSignerIdentity = {
        subject: cert.subject.text,
        spkiSha256,
        certSha256,
        ...(issuerSha256 === undefined ? {} : { issuerSha256 }),
        trustedBy,
        certificate: cert.der,
      };
      return { signer, statement, signingTime: parsed.signingTime };
    },
  };
}

/** Validates the signer's path to a trusted CA; returns the issuer certificate's hash. */
async function trustedPath(
  validator: PathValidator | undefined,
  cert: ParsedCertificate,
  intermediates: ReadonlyArray<Uint8Array>,
  input: CodeCheckInput,
  hex: (b: Uint8Array) => Promise<string>,
): Promise<string> {
  if (!validator)
    throw new CustodyError('ERR_CODE_SIGNER_UNTRUSTED', `code signer: "${cert.subject.text}" is not a pinned signer (and no code-signing CA is trusted)`);
  const report = await validator.validate({
    leaf: cert,
    intermediates,
    at: input.now,
    ...(input.crls ? { crls: input.crls } : {}),
    ...(input.requireCRL ? { requireCRL: true } : {}),
    requiredKeyUsage: ['digitalSignature'],
    requiredEKU: [OID.codeSigning],
  });
  if (!report.ok || !report.chain) {
    const first = report.checks.find((k) => !k.ok);
    const why = first ? `${first.name}${first.subject ? ` of "${first.subject}"` : ''}: ${first.reason ?? 'failed'}` : 'path rejected';
    const code = PATH_CODES[report.code ?? ''] ?? 'ERR_CODE_SIGNER_UNTRUSTED';
    throw new CustodyError(code, `code signer "${cert.subject.text}" is not trusted: ${why} [${report.code}]`, { cause: report });
  }
  return hex(report.chain[1]!.der);
}

/**
 * One-shot `createCodeVerifier(options).verify(input)`; a device checking many files keeps the verifier instead.
 * @throws the codes of `CodeVerifier.verify` and `createCodeVerifier`
 */
export async function verifyCodeSignature(options: CodeVerifierOptions & CodeCheckInput): Promise<VerifiedCode> {
  return createCodeVerifier(options).verify(options);
}
