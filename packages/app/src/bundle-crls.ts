/**
 * The CRLs an exported bundle carries: a current CRL of each CA this store runs that issued a certificate in the
 * bundle (the device's IDevID, a CA of its chain, an attestation signer), so that a verifier whose policy asks
 * for revocation evidence finds this organisation's part of it in the bundle.
 *
 * The store keeps revocations, not CRLs: the CRLs are signed at export, once per CA and export run, under the
 * CA's next CRL number (like `ca crl`). A CA whose key this run cannot use (no passphrase, a PKCS#11 key) is left
 * out with a warning; the verifier then names that issuer as the one whose CRL is missing.
 */
import { CustodyError } from '@custody/core/errors';
import { createCRL } from '@custody/core/x509';
import { readCertificateInfo, type CertificateInfo } from '@custody/core/x509';
import { decodePEM } from '@custody/core/x509';
import { toHex } from '@custody/core/util';
import type { Store } from '@custody/store/registry';
import { loadKey, provider } from './context.js';

/** How long an exported CRL stays current: the default of `ca crl`. */
const NEXT_UPDATE_DAYS = 7;

/** What `bundleCRLs` needs besides the store. */
export interface BundleCRLOptions {
  passphrase: string | undefined;
  now: Date;
  /** Told when a CA's CRL cannot be signed in this run (its key is not usable). */
  onWarning?: (message: string) => void;
}

interface StoreCA {
  name: string;
  info: CertificateInfo;
  /** The signed CRL, once this run made it; `null` when it could not be signed. */
  crl?: Promise<Uint8Array | null>;
}

/** One export run: the store's CAs by subject, each CRL signed at most once. */
export class BundleCRLs {
  private cas?: Promise<Map<string, StoreCA>>;

  constructor(
    private readonly store: Store,
    private readonly o: BundleCRLOptions,
  ) {}

  /**
   * The CRLs for a bundle's certificates (DER), each CA once, in the order of first use.
   * @throws ERR_KEY_PASSPHRASE for a wrong passphrase; ERR_CRL_* when a CRL cannot be built
   */
  async forCertificates(certificates: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const cas = await (this.cas ??= this.loadCAs());
    if (cas.size === 0) return [];
    const wanted = new Set<StoreCA>();
    for (const der of certificates) {
      const ca = cas.get(toHex(readCertificateInfo(der).issuer));
      if (ca) wanted.add(ca);
    }
    const out: Uint8Array[] = [];
    for (const ca of wanted) {
      const crl = await (ca.crl ??= this.sign(ca));
      if (crl) out.push(crl);
    }
    return out;
  }

  private async loadCAs(): Promise<Map<string, StoreCA>> {
    const map = new Map<string, StoreCA>();
    for (const r of await this.store.listCAs()) {
      const info = readCertificateInfo(decodePEM(r.certificate, ['CERTIFICATE']));
      map.set(toHex(info.subject), { name: r.name, info });
    }
    return map;
  }

  private async sign(ca: StoreCA): Promise<Uint8Array | null> {
    const record = await this.store.getCA(ca.name);
    let key;
    try {
      if (!record) return null;
      key = loadKey(this.store, record.key, this.o.passphrase);
    } catch (e) {
      // No passphrase at all, or a key this build cannot use: the bundle goes without this CRL. A wrong
      // passphrase is an error like everywhere else.
      if (e instanceof CustodyError && (e.code === 'ERR_USAGE_PKCS11' || (e.code === 'ERR_KEY_PASSPHRASE' && this.o.passphrase === undefined))) {
        this.o.onWarning?.(`the bundles carry no CRL of CA "${ca.name}": ${e.message}`);
        return null;
      }
      throw e;
    }
    const thisUpdate = new Date(Math.floor(this.o.now.getTime() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + NEXT_UPDATE_DAYS * 86_400_000);
    const revoked = (await this.store.listRevocations(ca.name)).map((r) => ({
      serialHex: r.serialHex,
      revokedAt: new Date(r.revokedAt),
      ...(r.reason ? { reason: r.reason } : {}),
    }));
    const crlNumber = await this.store.nextCRLNumber(ca.name);
    return createCRL({ issuer: ca.info, key, provider, thisUpdate, nextUpdate, crlNumber, revoked });
  }
}
