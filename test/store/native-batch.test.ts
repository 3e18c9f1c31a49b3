import { afterEach, describe, expect, it } from 'vitest';
import { Level } from 'level';
import { join } from 'node:path';
import { nativeBatch } from '../../src/store/native-batch.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const dbs: Level<string, Uint8Array>[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.close()));
  removeTempDirs();
});

async function open(): Promise<Level<string, Uint8Array>> {
  // The store's own encodings (LevelStore.open): what nativeBatch relies on passing through.
  const db = new Level<string, Uint8Array>(join(tempDir(), 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  dbs.push(db);
  return db;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('nativeBatch', () => {
  it('is given the private put and del it calls by the installed abstract-level and classic-level', async () => {
    const db = await open();
    const batch = db.batch() as unknown as Record<string, unknown>;
    expect(typeof batch._put).toBe('function');
    expect(typeof batch._del).toBe('function');
    await db.batch().close();
  });

  it('writes what the public batch would: puts and deletes, non-ASCII keys and values, bytes unchanged', async () => {
    const db = await open();
    await db.batch().put('gone', bytes('x')).put('kept', bytes('y')).write();
    const whole = db.batch();
    const batch = nativeBatch(whole);
    batch.put('t!é', bytes('{"a":"ü"}'));
    batch.put('i!\u0001', Uint8Array.of(0, 0x31, 0xff));
    batch.del('gone');
    whole.put('mark', bytes('1'));
    await whole.write();
    expect(await db.get('gone')).toBeUndefined();
    expect(Buffer.from((await db.get('kept'))!).toString()).toBe('y');
    expect(Buffer.from((await db.get('t!é'))!).toString()).toBe('{"a":"ü"}');
    expect([...(await db.get('i!\u0001'))!]).toEqual([0, 0x31, 0xff]);
    expect(await db.keys().all()).toEqual(['i!\u0001', 'kept', 'mark', 't!é']);
  });

  it('writes nothing of a batch that is closed unwritten', async () => {
    const db = await open();
    const whole = db.batch();
    nativeBatch(whole).put('never', bytes('x'));
    whole.put('mark', bytes('1'));
    await whole.close();
    expect(await db.keys().all()).toEqual([]);
  });
});
