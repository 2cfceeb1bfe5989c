import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { defaultUser } from '../src/environ/owner.js';
import { parseDuration, parseTime } from '../src/cli/time.js';
import { freshHome, sluice } from './helpers/cli.js';

describe('the default owner (PARK usertag order)', () => {
  it('is SLUICE_USER, else the login name unless it is root, else the host name', () => {
    expect(defaultUser('tag', { LOGNAME: 'alice' })).toBe('tag');
    expect(defaultUser(undefined, { LOGNAME: 'alice' })).toBe('alice');
    expect(defaultUser(undefined, { USER: 'bob' })).toBe('bob');
    expect(defaultUser(undefined, { LOGNAME: 'root' })).toBe(os.hostname());
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
  it('SLUICE_STORE names another SQLite file; an unreachable PostgreSQL server is one clear line', async () => {
    const { env, home, cleanup } = freshHome();
    try {
      mkdirSync(path.join(home, 'elsewhere'));
      const file = path.join(home, 'elsewhere', 'jobs.db');
      const r = await sluice(['submit', '--job-type', 'ping', '--block'], { ...env, SLUICE_STORE: file });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`sluice: created a new database ${file}`);
      expect(existsSync(file)).toBe(true);
      expect(existsSync(path.join(home, 'sluice.db'))).toBe(false);
      const again = await sluice(['jobs', '--json'], { ...env, SLUICE_STORE: `sqlite:${file}` });
      expect(JSON.parse(again.stdout)).toHaveLength(1);
      // A PostgreSQL server that is not there: one line naming it.
      const pg = await sluice(['jobs'], { ...env, SLUICE_STORE: 'postgres://nobody@127.0.0.1:1/sluice' });
      expect(pg).toMatchObject({ code: 70, stderr: 'sluice: cannot reach the PostgreSQL server 127.0.0.1:1/sluice: nothing listens there (ECONNREFUSED)\n' });
    } finally {
      cleanup();
    }
  });

  it('a mistyped SLUICE_STORE is an error naming the accepted forms, and creates nothing', async () => {
    const { env, home, cleanup } = freshHome();
    try {
      const cwd = mkdtempSync(path.join(os.tmpdir(), 'sluice-cwd-'));
      const mysql = await sluice(['jobs'], { ...env, SLUICE_STORE: 'mysql://x' }, undefined, cwd);
      expect(mysql.code).toBe(2);
      expect(mysql.stderr).toBe('sluice: SLUICE_STORE="mysql://x" is not a store Sluice knows; give a SQLite file path, sqlite:PATH, or a postgres:// or postgresql:// URL\n');
      expect(readdirSync(cwd)).toEqual([]);
      // A read command never creates the database it is pointed at.
      const missing = path.join(home, 'typo.db');
      const read = await sluice(['jobs'], { ...env, SLUICE_STORE: missing });
      expect(read).toMatchObject({ code: 2, stderr: `sluice: SLUICE_STORE names ${missing}, which does not exist; check the path (commands that write, such as submit or worker, create it)\n` });
      expect(existsSync(missing)).toBe(false);
      // A write command creates it only inside an existing folder.
      const deep = path.join(home, 'nonexistent', 'dir', 'x.db');
      const write = await sluice(['submit', '--job-type', 'ping'], { ...env, SLUICE_STORE: deep });
      expect(write).toMatchObject({ code: 2, stderr: `sluice: SLUICE_STORE names ${deep}, but its folder ${path.dirname(deep)} does not exist\n` });
      expect(existsSync(path.join(home, 'nonexistent'))).toBe(false);
      rmSync(cwd, { recursive: true });
    } finally {
      cleanup();
    }
  });

  it('a mistyped setting is an error naming the variable, not a silent default', async () => {
    const { env, cleanup } = freshHome();
    try {
      for (const [name, value] of [['SLUICE_LEASE_MS', 'soon'], ['SLUICE_RETENTION', 'forever'], ['SLUICE_MAX_ENVIRON', '-1'], ['SLUICE_CGROUPS', 'of'], ['SLUICE_SANDBOX_UID', '0'], ['SLUICE_SIO2JAIL_EVENT', 'cycles']] as const) {
        const r = await sluice(['jobs'], { ...env, [name]: value });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`^sluice: ${name} must be .*got "${value}"\\n$`));
      }
    } finally {
      cleanup();
    }
  });

  it('the sandbox takes its settings from the command\'s environment (SLUICE_SANDBOX=off: doctor says tier C)', async () => {
    const { env, cleanup } = freshHome();
    try {
      const r = await sluice(['doctor', '--json'], { ...env, SLUICE_SANDBOX: 'off' });
      expect(r.code, r.stderr).toBe(0);
      const caps = JSON.parse(r.stdout) as { tier: string; namespaces: { detail: string } };
      expect(caps.tier).toMatch(/^[CD]$/);
      expect(caps.namespaces.detail).toBe('disabled by SLUICE_SANDBOX=off');
    } finally {
      cleanup();
    }
  }, 60_000);
});
