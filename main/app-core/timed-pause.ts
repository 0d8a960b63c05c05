/**
 * Timed pauses ("Pause for 1 hour", "Pause until tomorrow"): the engine only knows paused
 * or not, so app-core keeps one timer per folder that resumes it. Kept in memory: after a
 * restart the folder is simply paused (its saved flag), which is the safe side.
 *
 * Invariants: at most one timer per folder; a manual pause, resume or removal clears it.
 */
export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The longest timed pause accepted: a week. */
export const MAX_TIMED_PAUSE_MS = 7 * 24 * 3600_000;

export class TimedPauses {
  private readonly timers = new Map<string, { until: string; handle: unknown }>();
  private readonly api: TimerApi;

  constructor(
    api: TimerApi = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) },
  ) {
    this.api = api;
  }

  /** Calls `expire` at `until`; replaces any earlier timer of the folder. */
  set(id: string, until: Date, now: number, expire: () => void): void {
    const ms = until.getTime() - now;
    if (!(ms > 0) || ms > MAX_TIMED_PAUSE_MS)
      throw new Error('A timed pause must end in the future and within 7 days. Pause the folder instead.');
    this.clear(id);
    const handle = this.api.setTimeout(() => {
      this.timers.delete(id);
      expire();
    }, ms);
    this.timers.set(id, { until: until.toISOString(), handle });
  }

  clear(id: string): void {
    const t = this.timers.get(id);
    if (t) this.api.clearTimeout(t.handle);
    this.timers.delete(id);
  }

  until(id: string): string | undefined {
    return this.timers.get(id)?.until;
  }

  clearAll(): void {
    for (const id of [...this.timers.keys()]) this.clear(id);
  }
}

/** The tray's and card's choices: in an hour, and tomorrow at 08:00 local time. */
export function pauseChoices(now: Date): { hour: Date; tomorrow: Date } {
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 8, 0, 0, 0);
  return { hour: new Date(now.getTime() + 3600_000), tomorrow };
}
