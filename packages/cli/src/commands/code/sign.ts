import { BaseCommand } from '../../base-command.js';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { signCodeFile, type SignedCodeFile } from '@custody/app/code-sign';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FILE_FLAG, STORE_FLAG } from '../../flag-spec.js';

export default class CodeSign extends BaseCommand {
  static override summary =
    'Sign end-user code: a detached signature (a CMS-signed in-toto statement of the file, or with --format ima an IMA v2 signature for evmctl and the kernel).';
  static override examples = [
    '<%= config.bin %> code sign --file rotate.sh --type script --version 1.2 --signer fabrikam-ops --out rotate.sh.sig',
    '<%= config.bin %> code sign --file /opt/app/run --signer fabrikam-ops --format ima   # writes /opt/app/run.sig',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    file: { type: 'string', description: 'the file to sign', required: true },
    signer: { type: 'string', description: 'name of the code signer in the store (custody code signer create)', required: true },
    out: { type: 'string', description: 'the signature file to write (default: FILE.sig, where evmctl ima_verify --sigfile looks)' },
    format: { type: 'string', description: 'cms (a detached CMS code statement) or ima (an IMA v2 signature)', default: 'cms' },
    type: { type: 'string', description: 'what the code is: script, app or config (in the CMS statement)', default: 'script' },
    version: { type: 'string', description: 'the code version (in the CMS statement)' },
    force: { type: 'boolean', description: 'replace --out when it exists', default: false },
    ...PASSPHRASE_FILE_FLAG,
  });

  async run(): Promise<SignedCodeFile> {
    const { flags } = await this.parse(CodeSign);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const store = await openStore(flags.store, flags.keys);
    try {
      const r = await signCodeFile(store, {
        file: flags.file,
        signer: flags.signer,
        ...(flags.out === undefined ? {} : { out: flags.out }),
        format: flags.format,
        type: flags.type,
        ...(flags.version === undefined ? {} : { version: flags.version }),
        passphrase,
        force: flags.force,
        now: now(),
      });
      const what = r.format === 'ima' ? `IMA v2 signature (key id ${r.imaKeyId})` : `code signature (${r.type}${r.version ? ` ${r.version}` : ''})`;
      this.log(`${r.file}: ${what} by "${r.signer.name}" written to ${r.signatureFile}; SHA-256 ${r.sha256}`);
      return r;
    } finally {
      await store.close();
    }
  }
}
