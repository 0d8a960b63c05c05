/**
 * Settings persisted with electron-store (atomic writes in the app's userData folder). The
 * store holds the whole versioned settings object; validation and migrations are Ferry's own
 * (app-core/settings-migrations.ts, unit-tested in plain Node), run on what `load` returns,
 * so a file from an older version is migrated rather than rejected by a schema that only
 * knows the newest shape. Secrets never go here (see secret-store.ts).
 */
import Store from 'electron-store';
import type { SettingsStore } from '../app-core/settings-store.ts';
import type { PersistedSettings } from '../app-core/settings-migrations.ts';

export class ElectronSettingsStore implements SettingsStore {
  private readonly store = new Store<Record<string, unknown>>({
    name: 'settings',
    // A file that does not parse is an error to show, never a reason to wipe the folder list.
    clearInvalidConfig: false,
    accessPropertiesByDotNotation: false,
  });

  get location(): string {
    return this.store.path;
  }

  async load(): Promise<unknown> {
    const raw = this.store.store;
    return Object.keys(raw).length === 0 ? undefined : raw;
  }

  async save(settings: PersistedSettings): Promise<void> {
    this.store.store = settings as unknown as Record<string, unknown>;
  }
}
