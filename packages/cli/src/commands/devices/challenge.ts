import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { now, openStore } from '@custody/app/context';
import { writeChallenge } from '@custody/app/possession';
import type { Challenge } from '@custody/core';

export default class DevicesChallenge extends BaseCommand {
  static override summary = 'Write a single-use, expiring challenge that the device must sign with its IDevID key.';
  static override examples = [
    '<%= config.bin %> devices challenge --serial ACME-000001 --out challenge.json',
    '<%= config.bin %> agent respond --key device.key.pem --challenge challenge.json --out response.json',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    serial: { type: 'string', description: 'device serial (a device in this store)' },
    cert: { type: 'string', description: "the device's IDevID certificate file, for a device not in the store" },
    out: { type: 'string', description: 'challenge file to write', required: true },
    force: { type: 'boolean', description: 'replace the file at --out', default: false },
    ttl: { type: 'integer', description: 'seconds until the challenge expires', default: 300, min: 1, max: 86400 },
  });

  async run(): Promise<{ challenge: Challenge; file: string }> {
    const { flags } = await this.parse(DevicesChallenge);
    const store = await openStore(flags.store, flags.keys);
    try {
      const c = await writeChallenge(store, { serial: flags.serial, cert: flags.cert, out: flags.out, force: flags.force, ttlSeconds: flags.ttl, now: now() });
      this.log(`challenge for ${c.device} written to ${flags.out}, expires ${c.expiresAt}`);
      return { challenge: c, file: flags.out };
    } finally {
      await store.close();
    }
  }
}
