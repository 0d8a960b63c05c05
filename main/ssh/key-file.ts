/** Facts about a private key file, read without connecting anywhere. */
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';

const { utils } = ssh2;

/**
 * Whether `path` holds a private key that needs a passphrase, and when `passphrase` is
 * given, whether it decrypts it. An unreadable or unparsable file answers 'unreadable': the
 * connection attempt reports that with the file's name.
 */
export async function checkKeyPassphrase(
  path: string,
  passphrase?: string,
): Promise<'not-encrypted' | 'needs-passphrase' | 'wrong-passphrase' | 'ok' | 'unreadable'> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch {
    return 'unreadable';
  }
  const plain = utils.parseKey(data);
  if (!(plain instanceof Error)) return 'not-encrypted';
  if (!/no passphrase given/i.test(plain.message)) return 'unreadable';
  if (passphrase === undefined) return 'needs-passphrase';
  return utils.parseKey(data, passphrase) instanceof Error ? 'wrong-passphrase' : 'ok';
}
