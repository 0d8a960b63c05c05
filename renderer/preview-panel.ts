/** The dry run of a new folder, shown before it starts: what the first sync would do. */
import type { PlanPreview } from '../main/ipc/contract.ts';
import { h } from './dom.ts';
import { formatBytes } from './format.ts';
import { t } from './i18n.ts';

function pathList(label: string, count: number, paths: string[]): HTMLElement | null {
  if (count === 0) return null;
  return h(
    'details',
    { class: 'preview-group' },
    h('summary', {}, label),
    h('ul', { class: 'preview-paths' }, ...paths.map((p) => h('li', {}, h('code', {}, p)))),
    count > paths.length ? h('p', { class: 'muted' }, t('halt.more', { count: count - paths.length })) : null,
  );
}

export function previewPanel(p: PlanPreview, id: string): HTMLElement {
  const nothing =
    p.uploads.count + p.removes.count + p.renames.count + p.conflictCopies.count + p.otherChanges === 0 && !p.halt;
  return h(
    'section',
    { class: 'preview', 'aria-labelledby': `${id}-title` },
    h('h3', { id: `${id}-title` }, t('previewTitle')),
    h(
      'p',
      { id: `${id}-summary` },
      nothing
        ? t('previewNothing')
        : t('previewSummary', {
            uploads: p.uploads.count,
            bytes: formatBytes(p.uploads.bytes),
            removes: p.removes.files,
            conflicts: p.conflictCopies.count,
          }),
    ),
    p.halt ? h('p', { class: 'error-text', role: 'alert' }, p.halt.message) : null,
    pathList(t('previewUploads', { count: p.uploads.count }), p.uploads.count, p.uploads.paths),
    pathList(t('previewRemoves', { count: p.removes.count }), p.removes.count, p.removes.paths),
    pathList(
      t('previewRenames', { count: p.renames.count }),
      p.renames.count,
      p.renames.paths.map((r) => `${r.from} → ${r.to}`),
    ),
    pathList(t('previewConflicts', { count: p.conflictCopies.count }), p.conflictCopies.count, p.conflictCopies.paths),
  );
}
