// Process memory at a point in the run, after a full garbage collection so that heap figures are live data and
// not whatever the collector had not reached yet. The operator shares this process with the benchmark driver,
// whose own footprint is small (the objects it applied and a few SDK clients) and the same in every sample.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface MemorySample {
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly heapTotalMiB: number;
  readonly externalMiB: number;
}

let gc: (() => void) | undefined;

function collect(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

export function sampleMemory(): MemorySample {
  collect();
  const m = process.memoryUsage();
  return {
    rssMiB: mib(m.rss),
    heapUsedMiB: mib(m.heapUsed),
    heapTotalMiB: mib(m.heapTotal),
    externalMiB: mib(m.external),
  };
}

/** Growth from a baseline, per Service, in KiB. */
export function perService(
  sample: MemorySample,
  baseline: MemorySample,
  services: number,
): { readonly rssKiB: number; readonly heapUsedKiB: number } {
  return {
    rssKiB: Math.round(((sample.rssMiB - baseline.rssMiB) * 1024) / services),
    heapUsedKiB: Math.round(((sample.heapUsedMiB - baseline.heapUsedMiB) * 1024) / services),
  };
}
