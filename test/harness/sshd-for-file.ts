import { after, before } from 'node:test';
import { startSshd, type TestSshd } from './sshd.ts';
import { FerryScope } from './trees.ts';

export interface SshdForFile {
  /** The harness sshd; started before the file's first test (reading it earlier throws). */
  readonly sshd: TestSshd;
  /** Temp directories and watch-mode ferry processes of the file, cleaned up after it. */
  readonly scope: FerryScope;
}

/**
 * One real sshd for a test file, with the file's {@link FerryScope}: registers the `before`
 * and `after` hooks that start it and dispose of both. Call at the top level of a test file.
 */
export function sshdForFile(): SshdForFile {
  const scope = new FerryScope();
  let sshd: TestSshd | undefined;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await scope.dispose();
    await sshd?.dispose();
  });
  return {
    scope,
    get sshd(): TestSshd {
      if (!sshd) throw new Error('The test sshd is not started yet: use it inside a test.');
      return sshd;
    },
  };
}
