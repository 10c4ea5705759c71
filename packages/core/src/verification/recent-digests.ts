/**
 * Hex SHA-256 of the certificates a verifier meets again and again (a pallet's issuing CA, its few parties' signer
 * certificates), remembered by their bytes: a bundle decodes fresh copies of them, and comparing a few hundred
 * bytes with the copies seen before costs a fraction of hashing them again. The result depends only on the bytes:
 * an entry is used only for bytes equal to the ones it was computed from.
 */
import { equalBytes } from '../util/bytes.js';

/**
 * Entries kept: a pallet's CAs and signer certificates, not every device's. A miss compares against each of them,
 * but certificates of one size differ within their first twenty bytes (the serial number), so it stays cheap.
 */
const SIZE = 16;

/** A small memo of hex SHA-256 by content, replaced in turn. */
export class RecentDigests {
  readonly #ders: Uint8Array[] = [];
  readonly #hexes: string[] = [];
  #next = 0;

  constructor(private readonly hexDigest: (data: Uint8Array) => string) {}

  /** The hex SHA-256 of `der`, from the memo when these bytes were hashed recently. */
  of(der: Uint8Array): string {
    const ders = this.#ders;
    for (let i = 0; i < ders.length; i++) if (equalBytes(ders[i]!, der)) return this.#hexes[i]!;
    const hex = this.hexDigest(der);
    // A copy: the caller's array may be a view into a buffer it reuses.
    this.#ders[this.#next] = der.slice();
    this.#hexes[this.#next] = hex;
    this.#next = (this.#next + 1) % SIZE;
    return hex;
  }
}
