/** Browsing the server's folders from the add dialog (and creating a missing one). */
import type { ConnectionRequest } from '../main/ipc/contract.ts';
import { h, replaceChildren } from './dom.ts';
import { ferry } from './ferry.ts';
import { t } from './i18n.ts';

type Busy = <T>(work: () => Promise<T>) => Promise<T | undefined>;

export async function remoteBrowser(
  box: HTMLElement,
  req: ConnectionRequest,
  path: string,
  busy: Busy,
  chosen: (path: string) => void,
): Promise<void> {
  const go = (p: string) => void remoteBrowser(box, req, p, busy, chosen);
  const listing = await busy(() => ferry().browseRemote({ ...req, remotePath: path }));
  box.hidden = false;
  if (!listing) {
    const create = h('button', { type: 'button' }, t('createRemote'));
    create.addEventListener('click', async () => {
      if ((await busy(() => ferry().makeRemoteDir({ ...req, remotePath: path }))) !== undefined) go(path);
    });
    replaceChildren(box, h('p', {}, h('code', {}, path)), create);
    return;
  }
  chosen(listing.path);
  const parent = listing.path === '/' ? undefined : listing.path.replace(/\/[^/]+$/, '') || '/';
  replaceChildren(
    box,
    h('p', {}, h('code', {}, listing.path)),
    h(
      'ul',
      { class: 'dir-list' },
      parent ? h('li', {}, h('button', { type: 'button', onclick: () => go(parent) }, `↑ ${t('up')}`)) : null,
      ...listing.dirs.map((d) =>
        h(
          'li',
          {},
          h(
            'button',
            { type: 'button', onclick: () => go(`${listing.path === '/' ? '' : listing.path}/${d}`) },
            `${d}/`,
          ),
        ),
      ),
    ),
  );
}
