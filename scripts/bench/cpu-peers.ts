// CPU benchmark peers: the xorshift workload (workloads/xorshift.ts) as a 32-bit multiboot1 kernel,
// run on v86 (npm package, its wasm JIT on, Debian's SeaBIOS) and on QEMU TCG (if installed).
//
// Timing excludes boot: the kernel prints "JNX:S\n" on COM1 right before the loop and
// "JNX:E <eax> <edi>\n" right after it; the host timestamps both markers (performance.now()).
// instructions = iterations * 15 (the loop only); the printed eax/edi are checked against
// reference(iterations) so a peer that ran something else is reported as an error.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

import type { V86 as V86Class } from 'v86';

import {
  EXIT_ISA_DEBUG, EXIT_PARK, INSNS_PER_ITER, buildMultiboot32, reference,
} from './workloads/xorshift.ts';

export const SEABIOS_BIN = '/usr/share/seabios/bios.bin';
export const QEMU_BINARY = 'qemu-system-x86_64';

export interface PeerResult {
  mips: number;
  /** wall time of the loop (between the two serial markers) */
  ms: number;
  /** instructions in the timed loop: iterations * 15 */
  instructions: number;
  /** v86 only: the emulator's own instruction counter across the loop (sanity check) */
  counted?: number;
  /** wall time from creating the peer to the start marker */
  bootMs: number;
}

export interface PeerOptions {
  timeoutMs?: number;
  /** progress / skip reasons (default: stderr) */
  log?: (line: string) => void;
  /** expected (eax, edi); computed with reference() if omitted */
  expected?: { state: number; acc: number };
}

const defaultLog = (line: string): void => {
  process.stderr.write(line + '\n');
};

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** Scans the guest's serial output for the start/end markers and the result line. */
class MarkerScanner {
  private text = '';
  startAt: number | null = null;
  endAt: number | null = null;
  startCounter = 0;
  endCounter = 0;
  result: { state: number; acc: number } | null = null;

  /** Feed output; `now` is when it arrived. Returns true once the result line is complete. */
  feed(chunk: string, now: number, counter = 0): boolean {
    this.text += chunk;
    if (this.startAt === null && this.text.includes('JNX:S\n')) {
      this.startAt = now;
      this.startCounter = counter;
    }
    const e = this.text.indexOf('JNX:E ');
    if (e >= 0 && this.endAt === null) {
      this.endAt = now;
      this.endCounter = counter;
    }
    if (e >= 0) {
      const m = /JNX:E ([0-9a-f]{8}) ([0-9a-f]{8})\n/.exec(this.text.slice(e));
      if (m) {
        this.result = { state: Number.parseInt(m[1], 16), acc: Number.parseInt(m[2], 16) };
        return true;
      }
    }
    if (this.text.length > 1 << 16) this.text = this.text.slice(-64);
    return false;
  }

  tail(): string {
    return JSON.stringify(this.text.slice(-200));
  }
}

function finish(
  name: string, scan: MarkerScanner, iterations: number, t0: number,
  expected: { state: number; acc: number },
): PeerResult {
  if (scan.startAt === null || scan.endAt === null || scan.result === null) {
    throw new Error(`${name}: incomplete output ${scan.tail()}`);
  }
  if (scan.result.state !== expected.state || scan.result.acc !== expected.acc) {
    throw new Error(`${name}: wrong result eax=${hex8(scan.result.state)} edi=${hex8(scan.result.acc)}, ` +
      `expected eax=${hex8(expected.state)} edi=${hex8(expected.acc)}`);
  }
  const ms = scan.endAt - scan.startAt;
  const instructions = iterations * INSNS_PER_ITER;
  return { mips: instructions / ms / 1000, ms, instructions, bootMs: scan.startAt - t0 };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

// --------------------------------------------------------------------------------------------
// v86

async function loadV86(): Promise<{ V86: typeof V86Class; wasmPath: string } | string> {
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve('v86/package.json'));
  } catch {
    return 'npm package v86 is not installed (npm install)';
  }
  const wasmPath = join(pkgDir, 'build', 'v86.wasm');
  if (!existsSync(wasmPath)) return `${wasmPath} is missing`;
  const { V86 } = await import('v86');
  return { V86, wasmPath };
}

/**
 * Run the workload on v86 (JIT enabled, as shipped). Returns null when v86 or SeaBIOS is
 * unavailable; throws if the guest misbehaves or times out.
 */
export async function v86Mips(iterations: number, opts: PeerOptions = {}): Promise<PeerResult | null> {
  const log = opts.log ?? defaultLog;
  if (!existsSync(SEABIOS_BIN)) {
    log(`v86: skipped: ${SEABIOS_BIN} missing (apt-get install seabios)`);
    return null;
  }
  const loaded = await loadV86();
  if (typeof loaded === 'string') {
    log(`v86: skipped: ${loaded}`);
    return null;
  }
  const expected = opts.expected ?? reference(iterations);
  const kernel = buildMultiboot32(iterations, EXIT_PARK);
  const timeoutMs = opts.timeoutMs ?? 120_000;

  // v86 writes its own diagnostics with console.log; keep stdout clean for the JSON line.
  const savedLog = console.log;
  console.log = (...args: unknown[]) => console.error(...args);
  const t0 = performance.now();
  let emulator: V86Class | null = null;
  try {
    const scan = new MarkerScanner();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`v86: timed out after ${timeoutMs} ms, serial ${scan.tail()}`)), timeoutMs);
      emulator = new loaded.V86({
        // The ESM build derives its default wasm path from __dirname, which is undefined in an ES
        // module, and would fall back to ./build/v86.wasm relative to the cwd.
        wasm_path: loaded.wasmPath,
        // No VGA BIOS: SeaBIOS boots the multiboot option ROM without one (and ~0.4 s faster).
        bios: { buffer: toArrayBuffer(readFileSync(SEABIOS_BIN)) },
        multiboot: { buffer: toArrayBuffer(kernel) },
        memory_size: 32 << 20,
        vga_memory_size: 2 << 20,
        autostart: true,
        disable_keyboard: true,
        disable_mouse: true,
        disable_speaker: true,
      });
      const emu: V86Class = emulator;
      emu.add_listener('serial0-output-byte', (byte: number) => {
        if (scan.feed(String.fromCharCode(byte), performance.now(), emu.get_instruction_counter())) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const r = finish('v86', scan, iterations, t0, expected);
    r.counted = (scan.endCounter - scan.startCounter) >>> 0;
    // v86's counter spans the loop plus printing the end marker (~100 instructions).
    if (Math.abs(r.counted - r.instructions) > r.instructions / 100 + 1000) {
      log(`v86: warning: its instruction counter saw ${r.counted} instructions, expected ~${r.instructions}`);
    }
    return r;
  } finally {
    if (emulator !== null) await (emulator as V86Class).destroy();
    console.log = savedLog;
  }
}

// --------------------------------------------------------------------------------------------
// QEMU (TCG)

/**
 * Boot the workload with `qemu-system-x86_64 -accel tcg -kernel`; the kernel exits through
 * isa-debug-exit (port 0xf4). Returns null when QEMU is not installed.
 */
export async function qemuMips(iterations: number, opts: PeerOptions = {}): Promise<PeerResult | null> {
  const log = opts.log ?? defaultLog;
  const expected = opts.expected ?? reference(iterations);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const dir = mkdtempSync(join(tmpdir(), 'jinx-qemu-'));
  try {
    const kernelPath = join(dir, 'xorshift32.elf');
    writeFileSync(kernelPath, buildMultiboot32(iterations, EXIT_ISA_DEBUG));
    const args = [
      '-machine', 'pc', '-accel', 'tcg', '-m', '64', '-nodefaults', '-no-user-config',
      '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-kernel', kernelPath,
    ];
    const scan = new MarkerScanner();
    const t0 = performance.now();
    const outcome = await new Promise<{ code: number | null; signal: string | null; stderr: string } | 'missing'>(
      (resolve, reject) => {
        const child = spawn(QEMU_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`qemu: timed out after ${timeoutMs} ms, serial ${scan.tail()}`));
        }, timeoutMs);
        child.stdout.setEncoding('latin1');
        child.stdout.on('data', (chunk: string) => scan.feed(chunk, performance.now()));
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => { stderr += chunk; });
        child.on('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          if (err.code === 'ENOENT') resolve('missing');
          else reject(err);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, stderr });
        });
      });
    if (outcome === 'missing') {
      log(`qemu: skipped: ${QEMU_BINARY} not found (apt-get install qemu-system-x86)`);
      return null;
    }
    // isa-debug-exit: status = (value << 1) | 1; the kernel writes 0.
    if (outcome.code !== 1) {
      throw new Error(`qemu: exited with ${outcome.code ?? outcome.signal}, serial ${scan.tail()}` +
        (outcome.stderr.trim() ? `, stderr: ${outcome.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''));
    }
    return finish('qemu', scan, iterations, t0, expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
