/**
 * Settings: language and open at login. A language applies as soon as it is chosen (arrow
 * keys included) and the dialog stays open, relabelled in the new language, with focus on
 * the select: one arrow key never closes it.
 */
import type { AppSettings } from '../main/ipc/contract.ts';
import { h } from './dom.ts';
import { ferry } from './ferry.ts';
import { t } from './i18n.ts';
import { showMessage } from './messages.ts';

export function openSettings(current: AppSettings, applied: (next: AppSettings) => void): HTMLDialogElement {
  const title = h('h2', { id: 'settings-title' });
  const langLabel = h('label', { for: 'settings-language' });
  const system = h('option', { value: 'system' });
  const lang = h(
    'select',
    { id: 'settings-language' },
    system,
    h('option', { value: 'en', lang: 'en' }, 'English'),
    h('option', { value: 'zh-CN', lang: 'zh-CN' }, '简体中文'),
  );
  lang.value = current.language;
  const login = h('input', { type: 'checkbox', id: 'settings-login', checked: current.openAtLogin });
  const loginLabel = h('label', { for: login.id });
  const close = h('button', { type: 'button', class: 'primary' });
  const dialog = h(
    'dialog',
    { class: 'settings-dialog', 'aria-labelledby': 'settings-title' },
    title,
    h('div', { class: 'field' }, langLabel, lang),
    h('div', { class: 'field checkbox' }, login, loginLabel),
    h('div', { class: 'dialog-buttons' }, h('span', { class: 'spacer' }), close),
  );
  const label = () => {
    title.textContent = t('settings');
    langLabel.textContent = t('language');
    system.textContent = t('languageSystem');
    loginLabel.textContent = t('openAtLogin');
    close.textContent = t('close');
  };
  label();
  const save = async (patch: Partial<AppSettings>) => {
    try {
      applied(await ferry().setSettings(patch));
      label();
    } catch (err) {
      showMessage((err as Error).message, 'error');
    }
  };
  lang.addEventListener('change', () => {
    const language = lang.value === 'en' || lang.value === 'zh-CN' ? lang.value : 'system';
    void save({ language });
  });
  login.addEventListener('change', () => void save({ openAtLogin: login.checked }));
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  lang.focus();
  return dialog;
}
