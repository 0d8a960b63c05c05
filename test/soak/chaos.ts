/**
 * The soak's chaos loop: one fault at a time, each held for a while, then undone, drawn
 * from a shuffled bag so every kind comes up about equally often (and each at least once in
 * a short run). Kinds:
 *
 * - `cut`: every TCP connection through the proxy is reset at once.
 * - `cut-mid-transfer`: a big file is dropped into a folder and the connection is cut once
 *   a random number of further bytes has gone up, i.e. in the middle of its upload.
 * - `sshd-down`: the server stops (sessions killed) and comes back after a while.
 * - `kill9`: one Ferry process (sometimes all) is killed with SIGKILL and started again.
 * - `readonly`: a folder's remote directory becomes a read-only mount for a while.
 * - `disk-full`: the small server file system fills up, then frees again.
 * - `stall`: the network silently drops every byte (a black hole), then the dead
 *   connections are reset, as a NAT or firewall timeout would leave them.
 */
import { existsSync } from 'node:fs';
import type { TestSshd } from '../harness/sshd.ts';
import type { TcpProxy } from '../harness/tcp-proxy.ts';
import type { FerryWatch } from './ferry-proc.ts';
import type { Mounts } from './mounts.ts';
import type { Mutator } from './mutator.ts';
import type { Rng } from './rng.ts';

export const FAULT_KINDS = ['cut', 'cut-mid-transfer', 'sshd-down', 'kill9', 'readonly', 'disk-full', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Something that can make a server's disk full and free it again. */
export interface DiskFiller {
  readonly how: string;
  fill(): void;
  drain(): void;
}

export interface ChaosFolder {
  name: string;
  ferry: FerryWatch;
  mutator: Mutator;
  remoteDir: string;
  /** The proxy this folder's connections go through. */
  proxy: TcpProxy;
  /** Whether `sshd-down` affects this folder (false for the fault SFTP server fallback). */
  viaSshd: boolean;
}

export interface ChaosOptions {
  rng: Rng;
  sshd: TestSshd;
  proxies: TcpProxy[];
  folders: ChaosFolder[];
  /** Absent when read-only mounts are not possible here. */
  mounts?: Mounts;
  /** Absent when no small file system could be made. */
  disk?: DiskFiller;
  /** Pause between faults, and how long each is held, in ms. */
  gapMs: [number, number];
  holdMs: [number, number];
  /** The kinds to inject (default all). */
  kinds?: readonly FaultKind[];
  log(line: string): void;
}

export class Chaos {
  /** Faults injected, by kind. */
  readonly counts = new Map<FaultKind, number>();
  /** Why a kind was not available, when it was not. */
  readonly unavailable = new Map<FaultKind, string>();
  private readonly o: ChaosOptions;
  private bag: FaultKind[] = [];
  private readonly readOnly = new Set<string>();
  private diskFull = false;
  private sshdDown = false;
  private blackholed = false;
  private wake: (() => void) | undefined;
  private stopping = false;

  constructor(o: ChaosOptions) {
    this.o = o;
    if (!o.mounts) this.unavailable.set('readonly', 'read-only mounts are not possible on this machine');
    if (!o.disk) this.unavailable.set('disk-full', 'no small server file system could be made');
    for (const k of FAULT_KINDS)
      if (o.kinds && !o.kinds.includes(k)) this.unavailable.set(k, 'not selected for this run');
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** Injects faults until `stop()`; resolves once the last one is undone. */
  async run(): Promise<void> {
    try {
      while (!this.stopping) {
        await this.sleep(this.between(this.o.gapMs));
        if (this.stopping) break;
        const kind = this.draw();
        await this.inject(kind);
      }
    } finally {
      await this.restore();
    }
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** Undoes whatever fault is still on (idempotent). */
  async restore(): Promise<void> {
    if (this.blackholed) {
      for (const p of this.o.proxies) p.setBlackhole(false);
      for (const p of this.o.proxies) p.cutAll();
      this.blackholed = false;
    }
    if (this.sshdDown) {
      await this.o.sshd.start();
      this.sshdDown = false;
    }
    for (const dir of [...this.readOnly]) {
      this.o.mounts?.release(dir);
      this.readOnly.delete(dir);
    }
    if (this.diskFull) {
      this.o.disk?.drain();
      this.diskFull = false;
    }
    for (const f of this.o.folders) f.ferry.start();
  }

  private draw(): FaultKind {
    if (this.bag.length === 0) this.bag = this.o.rng.shuffle(FAULT_KINDS.filter((k) => !this.unavailable.has(k)));
    return this.bag.pop() as FaultKind;
  }

  private count(kind: FaultKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  private between([min, max]: [number, number]): number {
    return this.o.rng.int(min, max);
  }

  private async inject(kind: FaultKind): Promise<void> {
    const { rng, log } = this.o;
    const hold = this.between(this.o.holdMs);
    switch (kind) {
      case 'cut': {
        for (const p of this.o.proxies) p.cutAll();
        this.count(kind);
        log(`chaos: cut every connection`);
        return;
      }
      case 'cut-mid-transfer': {
        const f = rng.pick(this.o.folders);
        const before = f.proxy.bytesUp;
        const cutsBefore = f.proxy.cuts;
        f.mutator.run('big-file');
        // Wait for the upload to start, then let a random number of bytes more through.
        await this.until(() => f.proxy.bytesUp > before + 64 * 1024, 5000);
        f.proxy.cutAfterBytes(rng.int(1024, 1024 * 1024));
        const cut = await this.until(() => f.proxy.cuts > cutsBefore, 8000);
        if (cut) {
          this.count(kind);
          log(`chaos: cut ${f.name}'s connection mid-transfer`);
        } else {
          // The upload finished before the budget ran out: cut anyway, counted as a plain cut.
          f.proxy.cutAll();
          this.count('cut');
          log(`chaos: ${f.name}'s upload outran the armed cut; cut every connection instead`);
        }
        return;
      }
      case 'sshd-down': {
        log(`chaos: sshd down for ${hold} ms`);
        this.sshdDown = true;
        await this.o.sshd.stop();
        this.count(kind);
        await this.sleep(hold);
        await this.o.sshd.start();
        this.sshdDown = false;
        return;
      }
      case 'kill9': {
        const victims = rng.chance(0.25) ? this.o.folders : [rng.pick(this.o.folders)];
        for (const f of victims) await f.ferry.kill9();
        this.count(kind);
        log(`chaos: kill -9 ${victims.map((f) => f.name).join(', ')}`);
        await this.sleep(rng.int(0, 3000));
        for (const f of victims) f.ferry.start();
        return;
      }
      case 'readonly': {
        const candidates = this.o.folders.filter((f) => existsSync(f.remoteDir));
        if (!candidates.length || !this.o.mounts) return;
        const f = rng.pick(candidates);
        try {
          this.o.mounts.bindReadOnly(f.remoteDir);
        } catch (err) {
          // The kernel refuses now and then ("mount point is busy"): not injected, not counted
          // (a kind never injected fails a CI run at the end), and the run goes on (seed 1203505).
          log(`chaos: could not make ${f.name}'s remote directory read-only: ${(err as Error).message.split('\n')[0]}`);
          return;
        }
        this.readOnly.add(f.remoteDir);
        this.count(kind);
        log(`chaos: ${f.name}'s remote directory read-only for ${hold} ms`);
        await this.sleep(hold);
        this.o.mounts.release(f.remoteDir);
        this.readOnly.delete(f.remoteDir);
        return;
      }
      case 'disk-full': {
        if (!this.o.disk) return;
        this.diskFull = true;
        this.o.disk.fill();
        this.count(kind);
        log(`chaos: server disk full (${this.o.disk.how}) for ${hold} ms`);
        await this.sleep(hold);
        this.o.disk.drain();
        this.diskFull = false;
        return;
      }
      case 'stall': {
        this.blackholed = true;
        for (const p of this.o.proxies) p.setBlackhole(true);
        this.count(kind);
        log(`chaos: network black hole for ${hold} ms`);
        await this.sleep(hold);
        for (const p of this.o.proxies) p.setBlackhole(false);
        for (const p of this.o.proxies) p.cutAll();
        this.blackholed = false;
        return;
      }
    }
  }

  /** Polls `check` until true or `timeoutMs`; resolves with whether it became true. */
  private async until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline || this.stopping) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** Sleeps `ms`, cut short by stop(). */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
