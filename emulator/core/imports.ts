// Host callbacks: the only way the core reaches devices. The wrapper (emulator/cpu.ts)
// routes them to the LAPIC it owns or to the bus the embedder plugged in.
@external("env", "mmioRead") export declare function mmioRead(gpa: u64, size: i32): u64;
@external("env", "mmioWrite") export declare function mmioWrite(gpa: u64, size: i32, value: u64): void;
@external("env", "pioRead") export declare function pioRead(port: i32, size: i32): i32;
@external("env", "pioWrite") export declare function pioWrite(port: i32, size: i32, value: i32): void;
// Returns the vector of the highest-priority deliverable interrupt and marks it in service, or -1.
@external("env", "ackIrq") export declare function ackIrq(): i32;
// CR8 is the LAPIC TPR (Intel SDM vol. 3 s10.8.6.1).
@external("env", "tprWrite") export declare function tprWrite(value: i32): void;
@external("env", "tprRead") export declare function tprRead(): i32;
