/**
 * Where the app keeps its settings and secrets, behind two small interfaces so the folder
 * manager runs the same in tests (a JSON file, an in-memory secret map) and in Electron.
 *
 * Invariants:
 * - {@link JsonFileSettingsStore} replaces the file atomically (write a temp file, fsync,
 *   rename), so a crash leaves the old or the new settings, never half of one.
 * - A SecretStore that cannot keep a secret safely says so (`set` resolves false) instead of
 *   writing it in clear; the caller then asks the user for it at start.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PersistedSettings } from './settings-migrations.ts';

export interface SettingsStore {
  /** The stored settings as found (any version), or undefined when there are none yet. */
  load(): Promise<unknown>;
  save(settings: PersistedSettings): Promise<void>;
  /** For messages: where the settings live. */
  readonly location: string;
}

export interface SecretStore {
  get(key: string): Promise<string | undefined>;
  /** Resolves false when the secret could not be stored safely (it is then not stored). */
  set(key: string, value: string): Promise<boolean>;
  delete(key: string): Promise<void>;
}

export class JsonFileSettingsStore implements SettingsStore {
  readonly location: string;
  constructor(file: string) {
    this.location = file;
  }

  async load(): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`Could not read the settings file ${this.location}: ${(err as Error).message}`, { cause: err });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new Error(
        `The settings file ${this.location} is not valid JSON (${(err as Error).message}). Move it aside and restart Ferry to start with default settings.`,
        { cause: err },
      );
    }
  }

  async save(settings: PersistedSettings): Promise<void> {
    const tmp = `${this.location}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(this.location), { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify(settings, null, 2)}\n`, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.location);
    } catch (err) {
      throw new Error(`Could not save the settings to ${this.location}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Secrets held for the life of the process only (tests; or a keyring-less Linux session). */
export class MemorySecretStore implements SecretStore {
  private readonly map = new Map<string, string>();
  async get(key: string): Promise<string | undefined> {
    return this.map.get(key);
  }
  async set(key: string, value: string): Promise<boolean> {
    this.map.set(key, value);
    return true;
  }
  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }
}
