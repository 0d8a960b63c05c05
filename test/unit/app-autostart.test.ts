import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autostartDesktopEntry, autostartFile, quoteExecArg } from '../../main/app-core/autostart.ts';

test('the autostart entry lives under XDG_CONFIG_HOME or ~/.config', () => {
  assert.equal(autostartFile({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u'), '/x/cfg/autostart/ferry.desktop');
  assert.equal(autostartFile({}, '/home/u'), '/home/u/.config/autostart/ferry.desktop');
});

test('Exec arguments are quoted per the Desktop Entry spec', () => {
  assert.equal(quoteExecArg('/opt/Ferry/ferry'), '/opt/Ferry/ferry');
  assert.equal(quoteExecArg('/home/u/My Apps/Ferry.AppImage'), '"/home/u/My Apps/Ferry.AppImage"');
  assert.equal(quoteExecArg('100%'), '"100%%"');
  assert.equal(quoteExecArg('a"b'), '"a\\\\"b"');
  assert.throws(() => quoteExecArg('a\nb'), /line break/);
  const entry = autostartDesktopEntry('/home/u/My Apps/Ferry.AppImage', ['--hidden']);
  assert.match(entry, /^\[Desktop Entry\]\nType=Application\nName=Ferry\n/);
  assert.match(entry, /\nExec="\/home\/u\/My Apps\/Ferry\.AppImage" --hidden\n/);
});
