import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { now, openStore } from '@custody/app/context';
import { revokeCertificate, type RevocationTarget, type RevokeResult } from '@custody/app/revocation';

const TARGETS = ['serial', 'cert-serial', 'cert', 'party'];

export default class CaRevoke extends BaseCommand {
  static override summary = 'Revoke a certificate issued by one of the store\'s CAs; the next "ca crl" lists it.';
  static override examples = [
    '<%= config.bin %> ca revoke --ca acme-issuing --serial SN000042 --reason keyCompromise',
    '<%= config.bin %> ca revoke --ca acme-issuing --cert-serial 4f1c0a... --reason superseded --at 2026-11-24T12:00:00Z',
    '<%= config.bin %> ca revoke --ca acme-root --party acme-factory --reason affiliationChanged',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    ca: { type: 'string', description: 'the issuing CA (name in the store)', required: true },
    serial: { type: 'string', description: 'device serial: revokes its IDevID', exactlyOne: TARGETS },
    'cert-serial': { type: 'string', description: 'certificate serial number, hex', exactlyOne: TARGETS },
    cert: { type: 'string', description: 'certificate file (PEM or DER)', exactlyOne: TARGETS },
    party: { type: 'string', description: 'party name: revokes its attestation certificate', exactlyOne: TARGETS },
    reason: {
      type: 'string',
      description:
        'RFC 5280 reason: keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise, unspecified',
    },
    at: { type: 'string', description: 'revocation date, ISO 8601 (default: now)' },
  });

  async run(): Promise<RevokeResult> {
    const { flags } = await this.parse(CaRevoke);
    const target: RevocationTarget =
      flags.serial !== undefined
        ? { device: flags.serial }
        : flags['cert-serial'] !== undefined
          ? { certSerial: flags['cert-serial'] }
          : flags.cert !== undefined
            ? { certFile: flags.cert }
            : { party: flags.party! };
    const store = await openStore(flags.store, flags.keys);
    try {
      const r = await revokeCertificate(store, { ca: flags.ca, target, reason: flags.reason, at: flags.at, now: now() });
      const what = r.device
        ? `device ${r.device} (serial ${r.serialHex})`
        : r.party
          ? `party "${r.party}" (serial ${r.serialHex})`
          : `certificate serial ${r.serialHex}`;
      this.log(`revoked ${what} of CA "${r.ca}" on ${r.revokedAt}${r.reason ? ` (${r.reason})` : ''}`);
      return r;
    } finally {
      await store.close();
    }
  }
}
