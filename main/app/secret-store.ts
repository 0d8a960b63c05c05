/**
 * Secrets (passwords, key passphrases) encrypted with Electron's safeStorage (async API) in
 * <userData>/secrets.json. On Linux without a keyring (the `basic_text` backend) nothing is
 * stored: `set` answers false and the folder asks for its secret again at the next start.
 */
import { safeStorage } from 'electron';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretStore } from '../app-core/settings-store.ts';

export class SafeStorageSecretStore implements SecretStore {
  private readonly file: string;
  private readonly session = new Map<string, string>();
  constructor(file: string) {
    this.file = file;
  }

  /** Whether secrets can be kept safely across restarts on this machine. */
  async canPersist(): Promise<boolean> {
    if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') return false;
    return safeStorage.isAsyncEncryptionAvailable();
  }

  private async readAll(): Promise<Record<string, string>> {
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      return data && typeof data === 'object' ? (data as Record<string, string>) : {};
    } catch {
      return {};
    }
  }

  private async writeAll(all: Record<string, string>): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(all), { mode: 0o600 });
    await rename(tmp, this.file);
  }

  async get(key: string): Promise<string | undefined> {
    const inSession = this.session.get(key);
    if (inSession !== undefined) return inSession;
    const stored = (await this.readAll())[key];
    if (stored === undefined) return undefined;
    const { result } = await safeStorage.decryptStringAsync(Buffer.from(stored, 'base64'));
    return result;
  }

  async set(key: string, value: string): Promise<boolean> {
    this.session.set(key, value);
    if (!(await this.canPersist())) return false;
    const all = await this.readAll();
    all[key] = (await safeStorage.encryptStringAsync(value)).toString('base64');
    await this.writeAll(all);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.session.delete(key);
    const all = await this.readAll();
    if (key in all) {
      delete all[key];
      await this.writeAll(all);
    }
  }
}
