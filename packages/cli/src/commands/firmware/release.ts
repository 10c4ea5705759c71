import { basename } from 'node:path';
import { BaseCommand } from '../../base-command.js';
import { createRelease } from '@custody/app/firmware';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FILE_FLAG, STORE_FLAG } from '../../flag-spec.js';

type ReleaseData = {
  file: string;
  hash: string;
  version: string;
  securityCounter: number;
  models: string[];
  expires: string;
  previous: string | null;
  imageSha256: string;
  length: number;
};

export default class FirmwareRelease extends BaseCommand {
  static override summary = 'Sign a release manifest for a firmware image and record the release.';
  static override examples = [
    '<%= config.bin %> firmware release --file gw-1.4.0.bin --version 1.4.0 --security-counter 7 --model GW-100 --expires P90D --signer acme-firmware --out gw-1.4.0.release',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    file: { type: 'string', description: 'the firmware image', required: true },
    name: { type: 'string', description: "the image's name in the manifest (default: the file's name)" },
    version: { type: 'string', description: 'release version label', required: true },
    'security-counter': { type: 'integer', description: 'anti-rollback counter (never below an earlier release of the same model)', required: true, min: 0 },
    model: { type: 'list', description: 'hardware model the image is for (repeatable)', required: true },
    expires: { type: 'string', description: 'how long devices accept the manifest: an ISO 8601 duration (P90D)', required: true },
    signer: { type: 'string', description: 'firmware signer (name in the store)', required: true },
    out: { type: 'string', description: 'file to write the manifest (DER CMS) to', required: true },
    force: { type: 'boolean', description: 'replace the file at --out', default: false },
    ...PASSPHRASE_FILE_FLAG,
  });

  async run(): Promise<ReleaseData> {
    const { flags } = await this.parse(FirmwareRelease);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const store = await openStore(flags.store, flags.keys);
    try {
      const { record: r } = await createRelease(store, {
        file: flags.file,
        imageName: flags.name ?? basename(flags.file),
        version: flags.version,
        securityCounter: flags['security-counter'],
        models: flags.model,
        expires: flags.expires,
        signer: flags.signer,
        out: flags.out,
        force: flags.force,
        passphrase,
        now: now(),
      });
      this.log(`release ${r.version} (counter ${r.securityCounter}, ${r.models.join(', ')}, expires ${r.expires}) written to ${flags.out}: ${r.hash}`);
      const { hash, version, securityCounter, models, expires, previous, imageSha256, length } = r;
      return { file: flags.out, hash, version, securityCounter, models, expires, previous, imageSha256, length };
    } finally {
      await store.close();
    }
  }
}
