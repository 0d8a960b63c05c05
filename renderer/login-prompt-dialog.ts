/**
 * The dialog for a login that asks what only a person can answer (a one-time code): the
 * server, the folder, the server's title and instructions, one input per prompt (a password
 * input when the server asks for no echo), Submit and Cancel. Focus starts in the first
 * input; Escape cancels (the login then fails with "cancelled by you"). One dialog at a
 * time: prompts that arrive meanwhile wait their turn. A prompt withdrawn by main (the login
 * failed or the folder stopped) closes its dialog without an answer.
 *
 * The answers go to main in answerLoginPrompt and are not kept here.
 */
import type { LoginPrompt, LoginPromptClosed } from '../main/ipc/contract.ts';
import { h, uid } from './dom.ts';
import { ferry } from './ferry.ts';
import { restoreFocus } from './focus.ts';
import { language } from './i18n.ts';
import { showMessage } from './messages.ts';

const TEXT = {
  en: {
    title: 'Sign-in code for {server}',
    forFolder: 'The server asks this to log in for {folder}.',
    forTest: 'The server asks this to log in.',
    notKept: 'Ferry passes your answer to the server and does not keep it.',
    submit: 'Submit',
    cancel: 'Cancel',
    withdrawn: 'The login to {server} no longer waits for an answer.',
  },
  'zh-CN': {
    title: '{server} 的登录验证码',
    forFolder: '服务器要求输入以下内容才能为 {folder} 登录。',
    forTest: '服务器要求输入以下内容才能登录。',
    notKept: 'Ferry 只把你的回答交给服务器，不会保存。',
    submit: '提交',
    cancel: '取消',
    withdrawn: '登录 {server} 已不再等待回答。',
  },
} as const;

function tx(key: keyof (typeof TEXT)['en'], values: Record<string, string> = {}): string {
  return TEXT[language()][key].replace(/\{(\w+)\}/g, (whole, k: string) => values[k] ?? whole);
}

const queue: LoginPrompt[] = [];
let open: { prompt: LoginPrompt; dialog: HTMLDialogElement; answered: boolean } | undefined;

/** Shows login prompts as they come (and those already waiting when the window opens). */
export function watchLoginPrompts(): void {
  ferry().on('loginPrompt', enqueue);
  ferry().on('loginPromptClosed', onClosed);
  void ferry()
    .listLoginPrompts()
    .then((pending) => pending.forEach(enqueue))
    .catch(() => undefined);
}

function enqueue(p: LoginPrompt): void {
  if (open?.prompt.requestId === p.requestId || queue.some((q) => q.requestId === p.requestId)) return;
  queue.push(p);
  showNext();
}

function onClosed(c: LoginPromptClosed): void {
  const i = queue.findIndex((q) => q.requestId === c.requestId);
  if (i >= 0) queue.splice(i, 1);
  if (open?.prompt.requestId !== c.requestId || open.answered) return;
  if (c.reason === 'withdrawn') showMessage(tx('withdrawn', { server: open.prompt.server }), 'error');
  open.answered = true;
  open.dialog.close();
}

function showNext(): void {
  if (open) return;
  const next = queue.shift();
  if (next) open = { prompt: next, dialog: promptDialog(next), answered: false };
}

function promptDialog(p: LoginPrompt): HTMLDialogElement {
  const titleId = uid('login-title');
  const bodyId = uid('login-body');
  const inputs = p.prompts.map((q) => {
    const id = uid('login-answer');
    const input = h('input', {
      id,
      type: q.echo ? 'text' : 'password',
      autocomplete: 'one-time-code',
      spellcheck: 'false',
      autocapitalize: 'off',
      required: true,
    });
    return { input, box: h('div', { class: 'field' }, h('label', { for: id }, q.prompt.trim() || '?'), input) };
  });
  const serverText = [p.name, p.instructions].map((s) => s.trim()).filter(Boolean);
  const submit = h('button', { type: 'submit', class: 'primary login-submit' }, tx('submit'));
  const cancel = h('button', { type: 'button', class: 'login-cancel' }, tx('cancel'));
  const form = h(
    'form',
    { class: 'login-prompt-form' },
    h('h2', { id: titleId }, tx('title', { server: p.server })),
    h(
      'div',
      { class: 'fields', id: bodyId },
      h('p', {}, p.folder ? tx('forFolder', { folder: p.folder }) : tx('forTest')),
      ...serverText.map((line) => h('p', { class: 'login-server-text' }, line)),
    ),
    ...inputs.map((i) => i.box),
    h('p', { class: 'muted' }, tx('notKept')),
    h('div', { class: 'dialog-buttons' }, h('span', { class: 'spacer' }), cancel, submit),
  );
  // Its own class (no add-dialog): it may open over the add dialog during a connection test.
  const dialog = h(
    'dialog',
    { class: 'login-prompt-dialog', 'aria-labelledby': titleId, 'aria-describedby': bodyId },
    form,
  );
  const send = (answers: string[] | null) => {
    if (!open || open.prompt.requestId !== p.requestId || open.answered) return;
    open.answered = true;
    for (const i of inputs) i.input.value = '';
    void ferry()
      .answerLoginPrompt(p.requestId, answers)
      .catch((err: Error) => showMessage(err.message, 'error'));
    dialog.close();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    send(inputs.map((i) => i.input.value));
  });
  cancel.addEventListener('click', () => send(null));
  // Escape: the dialog's own cancel; the login is cancelled, as with the button.
  dialog.addEventListener('cancel', (ev) => {
    ev.preventDefault();
    send(null);
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    open = undefined;
    queueMicrotask(() => {
      showNext();
      if (!open) restoreFocus();
    });
  });
  document.body.append(dialog);
  dialog.showModal();
  inputs[0]?.input.focus();
  return dialog;
}
