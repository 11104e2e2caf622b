import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { extname } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { BitNetError } from '../errors.js';

/** Where a record came from: a JSONL line or a Parquet row (both 1-based, as editors and viewers count lines). */
export interface RecordPlace {
  file: string;
  line?: number;
  row?: number;
}

export interface DataRecord {
  value: Record<string, unknown>;
  place: RecordPlace;
}

export function placeText(place: RecordPlace): string {
  return place.line !== undefined ? `${place.file} line ${place.line}` : `${place.file} row ${place.row ?? '?'}`;
}

/** A record that is not what the data format needs: the file, line or row, and field it is in. */
export function badRecord(place: RecordPlace, field: string, message: string, hint?: string): BitNetError {
  return new BitNetError('INVALID_DATA', `${placeText(place)}: ${field}: ${message}`, {
    field,
    hint: hint ?? 'fix or remove the record: no record is skipped silently',
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSONL line by line (a stream: the file is never held whole); blank lines are allowed, anything else must be a JSON object. */
async function* jsonlRecords(file: string): AsyncGenerator<DataRecord> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new BitNetError('INVALID_DATA', `${file} line ${line}: not valid JSON: ${(cause as Error).message}`, {
        field: 'data.path',
        cause,
        hint: 'JSONL holds one JSON object per line',
      });
    }
    if (!isObject(value)) throw badRecord({ file, line }, '(record)', 'a line must hold a JSON object');
    yield { value, place: { file, line } };
  }
}

/** Parquet one row group at a time through hyparquet (snappy, gzip, zstd, brotli, lz4 pages). */
async function* parquetRecords(file: string): AsyncGenerator<DataRecord> {
  let buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (cause) {
    throw new BitNetError('INVALID_DATA', `${file} is not a Parquet file: ${(cause as Error).message}`, { field: 'data.path', cause });
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = (await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd, compressors })) as Record<string, unknown>[];
    } catch (cause) {
      throw new BitNetError('INVALID_DATA', `${file} rows ${rowStart + 1}-${rowEnd}: cannot be read: ${(cause as Error).message}`, {
        field: 'data.path',
        cause,
      });
    }
    for (const [i, value] of rows.entries()) yield { value, place: { file, row: rowStart + i + 1 } };
    rowStart = rowEnd;
  }
}

export type RecordFormat = 'jsonl' | 'parquet';

/** The records of data files in order (each file streamed). */
export async function* readRecords(files: readonly string[], format: RecordFormat): AsyncGenerator<DataRecord> {
  for (const file of files) {
    if (format === 'parquet' || extname(file) === '.parquet') yield* parquetRecords(file);
    else yield* jsonlRecords(file);
  }
}
