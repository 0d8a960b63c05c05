/**
 * Serves the built renderer from app://ferry/ (never file:// or a remote URL).
 *
 * Invariant: the handler answers 200 with a regular file inside out/renderer, or 404, for
 * every request: another host, a path that decodes to outside the renderer (`..`, `%2e%2e`,
 * `%2f`), a malformed escape, a directory or a missing file. It never throws, so Chromium
 * never sees a failed load where a page would expect a 404.
 */
import { net, protocol } from 'electron';
import { stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { APP_HOST, APP_SCHEME, RENDERER_DIR } from './paths.ts';

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

const notFound = () => new Response('Not found', { status: 404, headers: { 'content-type': 'text/plain' } });

/** The file inside RENDERER_DIR an app:// URL names, or undefined when it names none. */
function rendererFileFor(requestUrl: string): string | undefined {
  let url: URL;
  let rel: string;
  try {
    url = new URL(requestUrl);
    rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
  } catch {
    return undefined;
  }
  if (url.host !== APP_HOST || rel.includes('\0')) return undefined;
  const file = normalize(join(RENDERER_DIR, rel));
  return file.startsWith(RENDERER_DIR + sep) ? file : undefined;
}

export function serveRenderer(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = rendererFileFor(request.url);
    if (!file) return notFound();
    try {
      if (!(await stat(file)).isFile()) return notFound();
      return await net.fetch(pathToFileURL(file).toString());
    } catch {
      // Gone (or unreadable) between the check and the read: still just not there.
      return notFound();
    }
  });
}
