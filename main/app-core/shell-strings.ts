/**
 * The few sentences the main process shows itself (tray menu, notifications), in English and
 * Simplified Chinese. The window's strings live in renderer/i18n.ts.
 */
export type ShellLanguage = 'en' | 'zh-CN';

const en = {
  overall: {
    error: 'Ferry: needs attention',
    conflict: 'Ferry: conflicts to review',
    syncing: 'Ferry: syncing…',
    held: 'Ferry: held back — a canary check failed',
    paused: 'Ferry: paused',
    'partly-paused': 'Ferry: paused on {count} of {total} servers',
    'in-sync': 'Ferry: everything in sync',
  },
  folder: {
    'in-sync': 'in sync',
    syncing: 'syncing',
    paused: 'paused',
    'partly-paused': 'paused on {count} of {total} servers',
    held: 'held back by its canary',
    error: 'error',
    halted: 'halted',
    starting: 'connecting',
  },
  noFolders: 'No folders yet',
  pauseAll: 'Pause all',
  resumeAll: 'Resume all',
  pause: 'Pause',
  resume: 'Resume',
  openFerry: 'Open Ferry',
  openAtLogin: 'Open at login',
  quit: 'Quit Ferry',
  lastSynced: 'Last synced {time}',
  neverSynced: 'Not synced yet',
  rate: '{rate}/s',
  pausedUntil: 'Paused until {time}',
  syncNow: 'Sync now',
  openFolder: 'Open folder',
  conflicts: 'Conflicts ({count})…',
  conflictLog: 'Conflict log…',
  pauseHour: 'Pause for 1 hour',
  pauseTomorrow: 'Pause until tomorrow {time}',
  conflictTitle: 'Conflict in {folder}',
  conflictBody: '{path} changed on both sides. Ferry kept both versions; review it in the conflict log.',
  haltedTitle: '{folder} is halted',
  hostKeyTitle: 'Host key changed for {folder}',
  needsSecretTitle: '{folder} is waiting for its password',
  hostKeyBody: 'The server presents a different host key. Ferry stopped syncing this folder until you check it.',
  errorTitle: '{folder} cannot sync',
  failingTitle: 'A file in {folder} keeps failing',
  failingBody: '{path}: {error}',
  hookTitle: 'A command after sync failed in {folder}',
  hookBody: '“{command}” on {target}: {how}. {output}',
};
type Strings = typeof en;

const zh: Strings = {
  overall: {
    error: 'Ferry：需要处理',
    conflict: 'Ferry：有冲突待查看',
    syncing: 'Ferry：正在同步…',
    held: 'Ferry：已暂缓——金丝雀检查失败',
    paused: 'Ferry：已暂停',
    'partly-paused': 'Ferry：{total} 台服务器中有 {count} 台已暂停',
    'in-sync': 'Ferry：全部已同步',
  },
  folder: {
    'in-sync': '已同步',
    syncing: '正在同步',
    paused: '已暂停',
    'partly-paused': '{total} 台服务器中有 {count} 台已暂停',
    held: '因金丝雀失败而暂缓',
    error: '出错',
    halted: '已停止',
    starting: '正在连接',
  },
  noFolders: '还没有文件夹',
  pauseAll: '全部暂停',
  resumeAll: '全部继续',
  pause: '暂停',
  resume: '继续',
  openFerry: '打开 Ferry',
  openAtLogin: '登录时启动',
  quit: '退出 Ferry',
  lastSynced: '上次同步：{time}',
  neverSynced: '尚未同步',
  rate: '{rate}/秒',
  pausedUntil: '暂停到 {time}',
  syncNow: '立即同步',
  openFolder: '打开文件夹',
  conflicts: '冲突（{count}）…',
  conflictLog: '冲突记录…',
  pauseHour: '暂停 1 小时',
  pauseTomorrow: '暂停到明天 {time}',
  conflictTitle: '{folder} 出现冲突',
  conflictBody: '{path} 在两边都被修改了。Ferry 保留了两个版本，请在冲突记录中查看。',
  haltedTitle: '{folder} 已停止同步',
  hostKeyTitle: '{folder} 的主机密钥已改变',
  needsSecretTitle: '{folder} 在等待输入密码',
  hostKeyBody: '服务器出示了不同的主机密钥。在你核实之前，Ferry 不会同步这个文件夹。',
  errorTitle: '{folder} 无法同步',
  failingTitle: '{folder} 中有文件一直同步失败',
  failingBody: '{path}：{error}',
  hookTitle: '{folder} 的同步后命令失败',
  hookBody: '“{command}”（{target}）：{how}。{output}',
};

export function shellStrings(lang: ShellLanguage): Strings {
  return lang === 'zh-CN' ? zh : en;
}

/** Fills `{name}` placeholders; unknown names stay as written. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, k: string) => values[k] ?? whole);
}

/** 'zh-CN' for any Chinese locale (zh, zh-CN, zh-Hans, zh-TW...: Simplified is the only Chinese offered), else 'en'. */
export function shellLanguageFor(setting: 'en' | 'zh-CN' | 'system', systemLocale: string): ShellLanguage {
  if (setting !== 'system') return setting;
  return /^zh(?:[-_]|$)/i.test(systemLocale) ? 'zh-CN' : 'en';
}

/** "5 minutes ago", "in 1 hour" in the shell's language; older than a day: the date. */
export function relativeTime(iso: string, now: number, lang: ShellLanguage): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const seconds = Math.round((t - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 45) return rtf.format(0, 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return rtf.format(Math.round(seconds / 3600), 'hour');
  return new Date(t).toLocaleString(lang);
}

/** A clock time ("08:00") in the shell's language. */
export function clockTime(date: Date, lang: ShellLanguage): string {
  return date.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
}

export function formatRate(bytesPerSecond: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytesPerSecond;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) ((v /= 1024), u++);
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
