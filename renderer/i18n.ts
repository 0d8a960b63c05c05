/**
 * The window's text in English and Simplified Chinese. Every visible string goes through
 * {@link t}; the Chinese table is typed against the English one, so a missing key fails to
 * compile. 'system' follows the OS (navigator.language): any zh-* locale gets Chinese.
 * The catalogs themselves are i18n-en.ts and i18n-zh.ts.
 */
import type { Language } from '../main/ipc/contract.ts';
import { en, type MessageKey } from './i18n-en.ts';
import { zhCN } from './i18n-zh.ts';

export type { MessageKey };

export type UiLanguage = 'en' | 'zh-CN';

let current: UiLanguage = 'en';

export function resolveLanguage(setting: Language, systemLanguage: string): UiLanguage {
  if (setting !== 'system') return setting;
  return /^zh(?:[-_]|$)/i.test(systemLanguage) ? 'zh-CN' : 'en';
}

export function setLanguage(lang: UiLanguage): void {
  current = lang;
  document.documentElement.lang = lang;
}

export function language(): UiLanguage {
  return current;
}

/** The message for `key` in the current language, `{name}` placeholders filled. */
export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  const template = (current === 'zh-CN' ? zhCN : en)[key];
  return template.replace(/\{(\w+)\}/g, (whole, k: string) => (k in values ? String(values[k]) : whole));
}
