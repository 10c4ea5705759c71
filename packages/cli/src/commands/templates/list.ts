import { BaseCommand } from '../../base-command.js';
import { loadTemplates, templatesDir } from '@custody/app/context';
import { oclifFlags } from '../../flags.js';
import { TEMPLATES_FLAG } from '../../flag-spec.js';

export default class TemplatesList extends BaseCommand {
  static override summary = 'List the certificate templates (each one validated).';
  static override flags = oclifFlags(TEMPLATES_FLAG);

  async run(): Promise<{ templates: Array<{ name: string; kind: string; description: string }> }> {
    const { flags } = await this.parse(TemplatesList);
    const list = (await loadTemplates(templatesDir(flags.templates))).map((t) => ({ name: t.name, kind: t.kind, description: t.description }));
    const w = Math.max(...list.map((t) => t.name.length), 4);
    for (const t of list) this.log(`${t.name.padEnd(w)}  ${t.kind.padEnd(15)}  ${t.description}`);
    return { templates: list };
  }
}
