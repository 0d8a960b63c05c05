/**
 * Open at login on Linux: an XDG autostart entry (~/.config/autostart/ferry.desktop).
 * macOS and Windows use Electron's login item settings instead.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function autostartFile(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'autostart', 'ferry.desktop');
}

/** Quotes one Exec argument as the Desktop Entry spec requires. */
export function quoteExecArg(arg: string): string {
  if (/[\n\r]/.test(arg)) throw new Error(`Cannot put a line break in an autostart command: ${JSON.stringify(arg)}.`);
  if (!/[\s"'\\`$<>~|&;*?#()%=]/.test(arg) && arg !== '') return arg;
  // Inside double quotes: escape " ` $ \ ; then % is doubled (field codes), and the whole
  // value's backslashes are doubled once more by the string-escaping layer of the format.
  const quoted = `"${arg.replace(/(["`$\\])/g, '\\$1')}"`.replace(/%/g, '%%');
  return quoted.replace(/\\/g, '\\\\');
}

export function autostartDesktopEntry(execPath: string, args: string[] = []): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Ferry',
    'Comment=Keep folders synced to servers over SSH',
    `Exec=${[execPath, ...args].map(quoteExecArg).join(' ')}`,
    'X-GNOME-Autostart-enabled=true',
    'Terminal=false',
    '',
  ].join('\n');
}
