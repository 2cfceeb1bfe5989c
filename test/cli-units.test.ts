import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { defaultUser } from '../src/cli/user.js';
import { parseDuration, parseTime } from '../src/cli/time.js';
import { freshHome, sluice } from './helpers/cli.js';

describe('the default owner (PARK usertag order)', () => {
  it('is SLUICE_USER, else the login name unless it is root, else the host name', () => {
    expect(defaultUser({ SLUICE_USER: 'tag', LOGNAME: 'alice' })).toBe('tag');
    expect(defaultUser({ LOGNAME: 'alice' })).toBe('alice');
    expect(defaultUser({ USER: 'bob' })).toBe('bob');
    expect(defaultUser({ LOGNAME: 'root' })).toBe(os.hostname());
  });
});

describe('times and durations on the command line', () => {
  it('parses durations, with seconds as the bare unit', () => {
    expect(parseDuration('90', '--delay')).toBe(90_000);
    expect(parseDuration('250ms', '--delay')).toBe(250);
    expect(parseDuration('1.5h', '--delay')).toBe(5_400_000);
    expect(() => parseDuration('soon', '--delay')).toThrow(/--delay must be a duration like 30s/);
  });

  it('parses ISO times and HH:MM (today, or tomorrow once passed)', () => {
    const now = new Date(2026, 10, 24, 12, 0, 0);
    expect(parseTime('18:30', '--at', now)).toBe(new Date(2026, 10, 24, 18, 30).getTime());
    expect(parseTime('08:00', '--at', now)).toBe(new Date(2026, 10, 25, 8, 0).getTime());
    expect(parseTime('2026-12-01T10:00:00Z', '--at', now)).toBe(Date.UTC(2026, 11, 1, 10));
    expect(() => parseTime('25:00', '--at', now)).toThrow(/no such time of day/);
    expect(() => parseTime('next week', '--at', now)).toThrow(/--at must be a time/);
  });
});

describe('where the database is', () => {
  it('SLUICE_STORE names another SQLite file; a PostgreSQL URL is refused with a clear line', async () => {
    const { env, home, cleanup } = freshHome();
    try {
      const file = path.join(home, 'elsewhere', 'jobs.db');
      const r = await sluice(['submit', '--job-type', 'ping', '--block'], { ...env, SLUICE_STORE: file });
      expect(r.code).toBe(0);
      expect(existsSync(file)).toBe(true);
      expect(existsSync(path.join(home, 'sluice.db'))).toBe(false);
      const pg = await sluice(['jobs'], { ...env, SLUICE_STORE: 'postgres://localhost/sluice' });
      expect(pg.code).toBe(2);
      expect(pg.stderr).toMatch(/^sluice: SLUICE_STORE names PostgreSQL, which this version does not support yet/);
    } finally {
      cleanup();
    }
  });
});
