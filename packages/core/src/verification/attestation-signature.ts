/**
 * The integrity check of one attestation (message digest, `from`, signature), as `verifyAttestationSignature`
 * does it, with the signer's imported public key cached by SPKI: a pallet of bundles signed by a handful of
 * parties imports each key once. Uses the provider's synchronous operations when it has them.
 */
import type { ParsedAttestation } from '../attestation/cms-parse.js';
import { syncOf } from '../attestation/cms-common.js';
import type { CryptoProvider, PublicKeyHandle } from '../crypto/provider.js';
import { CustodyError } from '../errors.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { RecentBytes } from './recent-digests.js';

const MAX_KEYS = 1024;

/** Checks attestation signatures for one verifier. */
export class AttestationSignatures {
  readonly #keys = new Map<string, KeyEntry | Promise<KeyEntry>>();
  readonly #sync: ReturnType<typeof syncOf>;
  readonly #recent = new RecentBytes<KeyEntry>();

  constructor(private readonly provider: CryptoProvider) {
    this.#sync = syncOf(provider);
  }

  /** SHA-256 of `data`, synchronously when the provider can. */
  digest(data: Uint8Array): Uint8Array | Promise<Uint8Array> {
    return this.#sync ? this.#sync.digestSync('SHA-256', data) : this.provider.digest('SHA-256', data);
  }

  #key(spki: Uint8Array): KeyEntry | Promise<KeyEntry> {
    // Recent keys by their bytes first: a pallet's attestations come from a few parties, and a hex key costs more.
    const recent = this.#recent.find(spki);
    if (recent) return recent;
    const k = toHex(spki);
    const hit = this.#keys.get(k);
    if (hit) {
      if (!(hit instanceof Promise)) this.#recent.remember(spki, hit);
      return hit;
    }
    const sync = this.#sync;
    let entry: KeyEntry | Promise<KeyEntry>;
    if (sync) {
      entry = { handle: sync.importPublicKeySync(spki), spkiSha256: toHex(sync.digestSync('SHA-256', spki)) };
    } else {
      entry = Promise.all([this.provider.importPublicKey(spki), this.provider.digest('SHA-256', spki)]).then(([handle, d]) => ({
        handle,
        spkiSha256: toHex(d),
      }));
      entry.catch(() => this.#keys.delete(k));
    }
    if (this.#keys.size >= MAX_KEYS) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(k, entry);
    return entry;
  }

  /**
   * Verifies the attestation's message digest, its `from` against the signer key, and its signature.
   * @throws ERR_VERIFY_SIGNATURE when the digest or signature does not verify; ERR_VERIFY_SIGNER when `from` is
   *   not the signer's key or the key cannot be imported
   */
  async verify(parsed: ParsedAttestation): Promise<void> {
    await this.check(parsed, false);
  }

  /**
   * As `verify`, synchronously (returning undefined) when the provider has synchronous operations: a bundle's
   * attestations then cost no promise each. `digestBound` says that `parsed.messageDigest` was computed from
   * `parsed.statementBytes` by the caller (a compact entry's rebuild), so hashing the statement again would only
   * repeat it; the signature over the signed attributes still binds that digest.
   * @throws as `verify` (synchronously on the synchronous path, else by the promise returned)
   */
  check(parsed: ParsedAttestation, digestBound: boolean): void | Promise<void> {
    const sync = this.#sync;
    if (!sync) return this.#checkAsync(parsed, digestBound);
    if (!digestBound && !equalBytes(sync.digestSync(parsed.hash, parsed.statementBytes), parsed.messageDigest)) throw digestMismatch();
    let key: KeyEntry;
    try {
      key = this.#key(parsed.signerSpki) as KeyEntry;
    } catch (e) {
      throw keyImportError(e);
    }
    checkFrom(parsed, key);
    if (!sync.verifySync(key.handle, parsed.signedAttrs, parsed.signatureP1363)) throw badSignature();
  }

  async #checkAsync(parsed: ParsedAttestation, digestBound: boolean): Promise<void> {
    if (!digestBound && !equalBytes(await this.provider.digest(parsed.hash, parsed.statementBytes), parsed.messageDigest)) throw digestMismatch();
    let key: KeyEntry;
    try {
      key = await this.#key(parsed.signerSpki);
    } catch (e) {
      throw keyImportError(e);
    }
    checkFrom(parsed, key);
    if (!(await this.provider.verify(key.handle, parsed.signedAttrs, parsed.signatureP1363))) throw badSignature();
  }
}

type KeyEntry = { handle: PublicKeyHandle; spkiSha256: string };

function checkFrom(parsed: ParsedAttestation, key: KeyEntry): void {
  if (key.spkiSha256 !== parsed.statement.predicate.from) {
    throw new CustodyError(
      'ERR_VERIFY_SIGNER',
      `statement "from" is ${parsed.statement.predicate.from.slice(0, 16)}..., but the signer's key is ${key.spkiSha256.slice(0, 16)}...`,
    );
  }
}

const digestMismatch = (): CustodyError => new CustodyError('ERR_VERIFY_SIGNATURE', 'the message-digest attribute does not match the statement');
const badSignature = (): CustodyError => new CustodyError('ERR_VERIFY_SIGNATURE', 'the signature does not verify with the signer certificate key');
const keyImportError = (e: unknown): CustodyError =>
  new CustodyError('ERR_VERIFY_SIGNER', `the signer certificate's key cannot be imported: ${(e as Error).message}`, { cause: e });
