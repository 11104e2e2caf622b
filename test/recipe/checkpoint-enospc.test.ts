// Issue #15, finding 4: a checkpoint that cannot be written (a full disk) is a user error, and
// leaves no partial checkpoint behind to keep the disk full.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tf } from '../helpers/tf.js';
import { expectBitNetErrorAsync } from '../helpers/errors.js';
import type * as AtomicWrite from '../../src/util/atomic-write.js';

vi.mock('../../src/util/atomic-write.js', async (importOriginal) => {
  const original = await importOriginal<typeof AtomicWrite>();
  return {
    ...original,
    writeFileSynced: async (path: string, data: Uint8Array | string): Promise<void> => {
      if (path.endsWith('optimizer.safetensors')) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC' });
      await original.writeFileSynced(path, data);
    },
  };
});

const { writeCheckpoint, listCheckpoints } = await import('../../src/recipe/checkpoint.js');

describe('a checkpoint on a full disk', () => {
  it('is INVALID_ARGUMENT (exit 2) and leaves nothing half-written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitnet-enospc-'));
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    const state = { step: 4, epoch: 0, optimizerStep: 4, dataSeed: 1, trainSeed: 1, recipe: 'x', time: 't' };
    const error = await expectBitNetErrorAsync(() => writeCheckpoint(dir, model, {}, state, 2), 'INVALID_ARGUMENT');
    expect(error.message).toContain('ENOSPC');
    expect(error.hint).toContain('free disk space');
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([]);
    expect(await listCheckpoints(dir)).toEqual([]);
    expect(existsSync(join(dir, 'checkpoints', 'step-00000004'))).toBe(false);
    model.dispose();
  });
});
