import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { atlasPaths, insideDir } from '../src/paths';

describe('paths taken from input cannot leave the Atlas home', () => {
  const backups = atlasPaths('/opt/atlas').backupsDir;
  it('accepts a plain file name', () => {
    expect(insideDir(backups, 'atlas_20261128-020000.db', 'backup')).toBe(path.join('/opt/atlas/backups', 'atlas_20261128-020000.db'));
  });
  it.each(['../data/atlas.db', '/etc/passwd', 'sub/dir.db', '..', '.', '', 'a\0b', '..\\x'])('refuses %j, naming the field', (name) => {
    expect(() => insideDir(backups, name, 'backup')).toThrow(/^backup: /);
  });
});
