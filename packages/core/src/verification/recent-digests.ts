/**
 * Values computed from the certificates and keys a verifier meets again and again (a pallet's issuing CA, its few
 * parties' signer certificates and keys), remembered by their bytes: a bundle decodes fresh copies of them, and
 * comparing a few hundred bytes with the copies seen before costs a fraction of hashing them (or writing their hex)
 * again. The result depends only on the bytes: an entry is used only for bytes equal to the ones it was computed
 * from.
 */
import { equalBytes } from '../util/bytes.js';

/**
 * Entries kept: a pallet's CAs and signer certificates, not every device's. A miss compares against each of them,
 * but certificates of one size differ within their first twenty bytes (the serial number), so it stays cheap.
 */
const SIZE = 16;

/** A small memo by content, replaced in turn. */
export class RecentBytes<T> {
  readonly #keys: Uint8Array[] = [];
  readonly #values: T[] = [];
  #next = 0;

  /** The value remembered for bytes equal to `key`, if any. */
  find(key: Uint8Array): T | undefined {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) if (equalBytes(keys[i]!, key)) return this.#values[i];
    return undefined;
  }

  /** Remembers `value` for a copy of `key` (the caller's array may be a view into a buffer it reuses). */
  remember(key: Uint8Array, value: T): T {
    this.#keys[this.#next] = key.slice();
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % SIZE;
    return value;
  }
}

/** Hex SHA-256 of recurring certificates, by content. */
export class RecentDigests {
  readonly #memo = new RecentBytes<string>();

  constructor(private readonly hexDigest: (data: Uint8Array) => string) {}

  /** The hex SHA-256 of `der`, from the memo when these bytes were hashed recently. */
  of(der: Uint8Array): string {
    return this.#memo.find(der) ?? this.#memo.remember(der, this.hexDigest(der));
  }
}
