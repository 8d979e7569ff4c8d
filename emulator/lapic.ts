// Local APIC (Intel SDM vol. 3 ch. 11 "Advanced Programmable Interrupt Controller"):
// xAPIC MMIO registers, IRR/ISR/TMR with priority (TPR/PPR), EOI, self-IPI, and the timer in
// one-shot, periodic and TSC-deadline modes. Time is guest time (ticks of the CPU's vclock),
// so timer interrupts land at the same instruction on every run.

export interface LapicHooks {
  /** Current guest time in ticks. */
  now(): number;
  /** IRR/ISR/TPR changed: the CPU should re-check for a deliverable interrupt. */
  onChange(): void;
  /** EOI of a level-triggered vector (the IOAPIC re-arms its line). */
  onEoi?(vector: number): void;
}

const REG = {
  ID: 0x20, VERSION: 0x30, TPR: 0x80, APR: 0x90, PPR: 0xa0, EOI: 0xb0, RRD: 0xc0, LDR: 0xd0, DFR: 0xe0,
  SVR: 0xf0, ISR: 0x100, TMR: 0x180, IRR: 0x200, ESR: 0x280, CMCI: 0x2f0, ICR_LO: 0x300, ICR_HI: 0x310,
  LVT_TIMER: 0x320, LVT_THERMAL: 0x330, LVT_PERF: 0x340, LVT_LINT0: 0x350, LVT_LINT1: 0x360,
  LVT_ERROR: 0x370, TIMER_INIT: 0x380, TIMER_CUR: 0x390, TIMER_DIV: 0x3e0,
} as const;
const LVT_MASKED = 1 << 16;
const TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2;

export class Lapic {
  /** Guest-physical base of the register page (IA32_APIC_BASE[35:12]). */
  base = 0xfee00000;
  readonly id: number;
  private readonly irr = new Uint32Array(8);
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private tprValue = 0;
  private svr = 0xff;
  private ldr = 0;
  private dfr = 0xffffffff;
  private esr = 0;
  private icrHi = 0;
  private icrLo = 0;
  private readonly lvt = new Map<number, number>();
  private timerInit = 0;
  private timerDiv = 0;
  private timerStart = 0;        // vclock at which the current count-down started
  private timerArmed = false;
  private tscDeadline = 0n;      // absolute TSC value; 0 = disarmed
  private tscOffset = 0n;
  /** Set when a TSC-deadline timer fired, so the CPU clears IA32_TSC_DEADLINE (SDM s11.5.4.1). */
  deadlineFired = false;
  /** Timer interrupts raised so far (guest kernels report these as "timer_irqs"). */
  timerFires = 0;

  constructor(private readonly hooks: LapicHooks, id = 0) {
    this.id = id;
    this.reset();
  }

  reset(): void {
    this.irr.fill(0); this.isr.fill(0); this.tmr.fill(0);
    this.tprValue = 0; this.svr = 0xff; this.ldr = 0; this.dfr = 0xffffffff; this.esr = 0;
    this.icrHi = 0; this.icrLo = 0; this.timerInit = 0; this.timerDiv = 0; this.timerArmed = false;
    for (const r of [REG.LVT_TIMER, REG.LVT_THERMAL, REG.LVT_PERF, REG.LVT_LINT0, REG.LVT_LINT1, REG.LVT_ERROR, REG.CMCI]) {
      this.lvt.set(r, LVT_MASKED);
    }
    this.tscDeadline = 0n;
  }

  setApicBase(msr: number): void { this.base = msr - (msr % 4096); }

  // ---------------------------------------------------------------- priority logic (SDM s11.8.3)
  private static highest(bits: Uint32Array): number {
    for (let i = 7; i >= 0; i--) if (bits[i] !== 0) return i * 32 + 31 - Math.clz32(bits[i]);
    return -1;
  }
  private ppr(): number {
    const isrv = Lapic.highest(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tprValue & 0xf0) >= isrClass ? this.tprValue & 0xff : isrClass;
  }
  private deliverable(): number {
    const v = Lapic.highest(this.irr);
    if (v < 0) return -1;
    return (v & 0xf0) > (this.ppr() & 0xf0) ? v : -1;
  }
  hasPending(): boolean { return this.deliverable() >= 0; }

  /** INTA: move the highest deliverable vector from IRR to ISR. */
  ack(): number {
    const v = this.deliverable();
    if (v < 0) return -1;
    this.irr[v >> 5] &= ~(1 << (v & 31));
    this.isr[v >> 5] |= 1 << (v & 31);
    return v;
  }

  /** Accept a fixed interrupt (from the IOAPIC, an IPI or the local timer). */
  raise(vector: number, level = false): void {
    if (vector < 16) { this.esr |= 1 << 6; return; } // illegal vector (SDM s11.5.3)
    this.irr[vector >> 5] |= 1 << (vector & 31);
    if (level) this.tmr[vector >> 5] |= 1 << (vector & 31);
    else this.tmr[vector >> 5] &= ~(1 << (vector & 31));
    this.hooks.onChange();
  }

  tpr(): number { return this.tprValue; }
  setTpr(v: number): void { this.tprValue = v & 0xff; this.hooks.onChange(); }

  private eoi(): void {
    const v = Lapic.highest(this.isr);
    if (v < 0) return;
    this.isr[v >> 5] &= ~(1 << (v & 31));
    if (this.tmr[v >> 5] & (1 << (v & 31))) this.hooks.onEoi?.(v);
    this.hooks.onChange();
  }

  // ---------------------------------------------------------------- timer (SDM s11.5.4)
  private divisor(): number {
    const v = (this.timerDiv & 3) | ((this.timerDiv >> 1) & 4);
    return v === 7 ? 1 : 2 << v;
  }
  private timerMode(): number { return ((this.lvt.get(REG.LVT_TIMER) ?? 0) >> 17) & 3; }
  private softwareEnabled(): boolean { return (this.svr & 0x100) !== 0; }

  setTscDeadline(deadline: bigint, tscOffset: bigint): void {
    this.tscDeadline = deadline;
    this.tscOffset = tscOffset;
  }

  private currentCount(now: number): number {
    if (!this.timerArmed || this.timerInit === 0) return 0;
    const elapsed = Math.floor((now - this.timerStart) / this.divisor());
    if (this.timerMode() === TIMER_PERIODIC) return this.timerInit - (elapsed % this.timerInit);
    return Math.max(0, this.timerInit - elapsed);
  }

  /** Guest time (vclock) of the next timer interrupt, or null when none is armed. */
  nextEvent(): number | null {
    const mode = this.timerMode();
    if (mode === TIMER_TSC_DEADLINE) {
      if (this.tscDeadline === 0n) return null;
      const t = Number(this.tscDeadline - this.tscOffset);
      return Math.max(t, this.hooks.now());
    }
    if (!this.timerArmed || this.timerInit === 0) return null;
    const period = this.timerInit * this.divisor();
    const now = this.hooks.now();
    if (mode === TIMER_PERIODIC) {
      const k = Math.floor((now - this.timerStart) / period) + 1;
      return this.timerStart + k * period;
    }
    return this.timerStart + period;
  }

  /** Raises the timer interrupt(s) due at the current guest time. */
  advance(): void {
    const now = this.hooks.now();
    const lvt = this.lvt.get(REG.LVT_TIMER) ?? LVT_MASKED;
    const mode = this.timerMode();
    const fire = () => {
      this.timerFires++;
      if ((lvt & LVT_MASKED) === 0 && this.softwareEnabled()) this.raise(lvt & 0xff);
    };
    if (mode === TIMER_TSC_DEADLINE) {
      if (this.tscDeadline !== 0n && BigInt(now) + this.tscOffset >= this.tscDeadline) {
        this.tscDeadline = 0n;
        this.deadlineFired = true;
        fire();
      }
      return;
    }
    if (!this.timerArmed || this.timerInit === 0) return;
    const period = this.timerInit * this.divisor();
    if (now - this.timerStart < period) return;
    if (mode === TIMER_PERIODIC) {
      // Coalesce missed periods into one interrupt, like a real IRR bit does.
      this.timerStart += Math.floor((now - this.timerStart) / period) * period;
    } else this.timerArmed = false;
    fire();
  }

  // ---------------------------------------------------------------- MMIO
  mmioRead(offset: number, size: number): number {
    const reg = offset & 0xff0;
    let v = this.readReg(reg);
    const shift = (offset & 3) * 8;
    v = v >>> shift;
    return size >= 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  private readReg(reg: number): number {
    if (reg >= REG.ISR && reg < REG.ISR + 0x80) return this.isr[(reg - REG.ISR) >> 4];
    if (reg >= REG.TMR && reg < REG.TMR + 0x80) return this.tmr[(reg - REG.TMR) >> 4];
    if (reg >= REG.IRR && reg < REG.IRR + 0x80) return this.irr[(reg - REG.IRR) >> 4];
    switch (reg) {
      case REG.ID: return this.id << 24;
      case REG.VERSION: return 0x00050014; // version 0x14, 6 LVT entries (max LVT index 5)
      case REG.TPR: return this.tprValue;
      case REG.PPR: return this.ppr();
      case REG.APR: return 0;
      case REG.LDR: return this.ldr;
      case REG.DFR: return this.dfr;
      case REG.SVR: return this.svr;
      case REG.ESR: return this.esr;
      case REG.ICR_LO: return this.icrLo & ~(1 << 12); // delivery status: always idle
      case REG.ICR_HI: return this.icrHi;
      case REG.TIMER_INIT: return this.timerInit;
      case REG.TIMER_CUR: return this.timerMode() === TIMER_TSC_DEADLINE ? 0 : this.currentCount(this.hooks.now());
      case REG.TIMER_DIV: return this.timerDiv;
      default: return this.lvt.get(reg) ?? 0;
    }
  }

  mmioWrite(offset: number, _size: number, value: number): void {
    const reg = offset & 0xff0;
    value >>>= 0;
    switch (reg) {
      case REG.TPR: this.setTpr(value); return;
      case REG.EOI: this.eoi(); return;
      case REG.LDR: this.ldr = value & 0xff000000; return;
      case REG.DFR: this.dfr = value | 0x0fffffff; return;
      case REG.SVR: {
        this.svr = value & 0x1ff;
        if (!this.softwareEnabled()) for (const r of this.lvt.keys()) this.lvt.set(r, (this.lvt.get(r) ?? 0) | LVT_MASKED);
        this.hooks.onChange();
        return;
      }
      case REG.ESR: this.esr = 0; return;
      case REG.ICR_HI: this.icrHi = value & 0xff000000; return;
      case REG.ICR_LO: this.icrLo = value; this.sendIpi(); return;
      case REG.TIMER_INIT: {
        const now = this.hooks.now();
        this.timerInit = value;
        this.timerStart = now;
        this.timerArmed = value !== 0 && this.timerMode() !== TIMER_TSC_DEADLINE;
        this.hooks.onChange();
        return;
      }
      case REG.TIMER_DIV: this.timerDiv = value & 0xb; return;
      case REG.LVT_TIMER: {
        const oldMode = this.timerMode();
        let v = value & (0xff | LVT_MASKED | (3 << 17));
        if (!this.softwareEnabled()) v |= LVT_MASKED;
        this.lvt.set(reg, v);
        if (this.timerMode() !== oldMode) { this.timerArmed = false; this.timerInit = 0; if (this.timerMode() !== TIMER_TSC_DEADLINE) this.tscDeadline = 0n; }
        this.hooks.onChange();
        return;
      }
      case REG.LVT_THERMAL: case REG.LVT_PERF: case REG.LVT_LINT0: case REG.LVT_LINT1: case REG.LVT_ERROR: case REG.CMCI: {
        let v = value & 0x1f7ff;
        if (!this.softwareEnabled()) v |= LVT_MASKED;
        this.lvt.set(reg, v);
        return;
      }
      default: return; // read-only or reserved
    }
  }

  // Only a single CPU exists per VM: fixed IPIs to self are delivered, others are dropped.
  private sendIpi(): void {
    const vector = this.icrLo & 0xff;
    const mode = (this.icrLo >> 8) & 7;
    const shorthand = (this.icrLo >> 18) & 3;
    if (mode !== 0) return;
    const toSelf = shorthand === 1 || shorthand === 2 || (shorthand === 0 && (this.icrHi >>> 24) === this.id);
    if (toSelf) this.raise(vector, ((this.icrLo >> 15) & 1) === 1);
  }
}
