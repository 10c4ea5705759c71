/**
 * The LDevIDs a registry issued at activation (IEEE 802.1AR locally significant identities): which certificate, for
 * which device, over which key. A key certified as one device's LDevID is never certified for another (issue 20:
 * one key for two devices' LDevIDs made them indistinguishable to whoever trusts the customer's CA).
 */

/** One LDevID issued: its certificate serial (hex), the device it identifies, its key, its CA, when. */
export interface LDevIDRecord {
  certSerial: string;
  /** The device serial it was issued to. */
  serial: string;
  /** Hex SHA-256 of the certified SubjectPublicKeyInfo. */
  spkiSha256: string;
  /** The name of the CA that issued it, in this registry. */
  ca: string;
  /** RFC 3339 time it was issued. */
  issuedAt: string;
}

/** Where a registry keeps the LDevIDs it issued. */
export interface LDevIDRegistry {
  /**
   * Records an LDevID on its own (a renewal). An activation's LDevID is recorded with the activation instead, in
   * the same write (`AttestationAppend.ldevid`), under the same rules. The same device may be issued another LDevID over the same key (a renewal); no other
   * device may: the key is claimed by the first device it was certified for, atomically against concurrent writers.
   * @throws ERR_DUPLICATE_KEY (the key is another device's LDevID key), ERR_DUPLICATE_CERT_SERIAL (the certificate
   *   serial was recorded before), ERR_STORE_IO, ERR_STORE_UNAVAILABLE
   */
  recordLDevID(record: LDevIDRecord): Promise<void>;
  /**
   * The device whose LDevID certifies this key, if any.
   * @throws ERR_STORE_IO, ERR_STORE_UNAVAILABLE
   */
  ldevidKeyHolder(spkiSha256: string): Promise<string | undefined>;
  /**
   * The LDevIDs issued to a device, oldest first.
   * @throws ERR_STORE_CORRUPT, ERR_STORE_IO, ERR_STORE_UNAVAILABLE
   */
  listLDevIDs(serial: string): Promise<LDevIDRecord[]>;
}
