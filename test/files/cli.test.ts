// `sluice files serve|put|get|ls|rm|stat` and `sluice batch` with a file store, through the built CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, exited, freshHome, sluice } from '../helpers/cli.js';

let home: ReturnType<typeof freshHome>;
let serve: ChildProcess;
let url: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  home = freshHome();
  serve = spawn(process.execPath, [BIN, 'files', 'serve', '--port', '0', '--no-fsync'], { env: home.env, stdio: ['ignore', 'ignore', 'pipe'] });
  url = await new Promise<string>((resolve, reject) => {
    let log = '';
    serve.stderr!.on('data', (d) => {
      log += d;
      const m = /serving (.*) at (http:\/\/\S+)/.exec(log);
      if (m) resolve(m[2]!);
    });
    serve.once('exit', (code) => reject(new Error(`files serve exited ${code}: ${log}`)));
  });
  env = { ...home.env, SLUICE_FILES_URL: url };
});
afterAll(async () => {
  serve.kill('SIGTERM');
  await exited(serve);
  home.cleanup();
});

describe('sluice files', () => {
  it('serve stores under $SLUICE_HOME/files and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'files', 'serve', '--port', '0'], { env: home.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d) => (log += d));
    while (!log.includes('serving')) await new Promise((r) => setTimeout(r, 20));
    expect(log).toContain(path.join(home.home, 'files'));
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('refuses a public address without a token', async () => {
    const r = await sluice(['files', 'serve', '--host', '0.0.0.0', '--port', '0'], home.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs a token/);
  });

  it('put, get, ls, stat, rm with their exit codes', async () => {
    const local = path.join(home.home, 'hello.txt');
    writeFileSync(local, 'hello store\n');
    const put = await sluice(['files', 'put', local, '/cli/hello.txt'], env);
    expect(put.code, put.stderr).toBe(0);
    const name = put.stdout.trim();
    expect(name).toMatch(/^\/cli\/hello\.txt@\d+$/);

    const dest = path.join(home.home, 'back.txt');
    const get = await sluice(['files', 'get', name, dest, '--no-cache'], env);
    expect(get.code, get.stderr).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('hello store\n');
    const cat = await sluice(['files', 'get', '/cli/hello.txt', '-'], env);
    expect(cat.stdout).toBe('hello store\n');

    const ls = await sluice(['files', 'ls', '/cli', '--json'], env);
    expect(JSON.parse(ls.stdout)).toMatchObject([{ relative: 'hello.txt', name, size: 12 }]);
    const stat = await sluice(['files', 'stat', '/cli/hello.txt'], env);
    expect(stat.stdout).toContain(`name    : ${name}`);

    expect((await sluice(['files', 'stat', '/cli/missing'], env)).code).toBe(3);
    const bad = await sluice(['files', 'put', local, 'cli/relative'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^sluice: .*absolute/);

    expect((await sluice(['files', 'rm', '/cli/hello.txt'], env)).stdout).toMatch(/^removed \/cli\/hello\.txt@/);
    expect((await sluice(['files', 'rm', '/cli/hello.txt'], env)).code).toBe(3);
    const down = await sluice(['files', 'ls', '/', '--url', 'http://127.0.0.1:1'], env);
    expect(down.code).toBe(70);
    expect(down.stderr).toMatch(/cannot reach the file store/);
  });
});

describe('sluice batch with a file store', () => {
  it('runs an exec environ whose program and input are in the store and uploads its output', async () => {
    const script = path.join(home.home, 'add.sh');
    writeFileSync(script, '#!/bin/sh\nread a b\necho $((a + b))\n');
    chmodSync(script, 0o755);
    const exe = (await sluice(['files', 'put', script, '/batch/add'], env)).stdout.trim();
    const input = path.join(home.home, 'in.txt');
    writeFileSync(input, '20 22\n');
    await sluice(['files', 'put', input, '/batch/in'], env);
    const environ = { job_type: 'exec', filetracker_url: url, exe_file: exe, in_file: '/batch/in', out_file: '/batch/out', upload_out: true };
    const r = await sluice(['batch'], { ...env, environ: JSON.stringify(environ) });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.split('\n')[1]!);
    expect(out.result, out.traceback).toBe('SUCCESS');
    expect(out.result_code, out.result_string).toBe('OK');
    expect(out.out_file).toMatch(/^\/batch\/out@\d+$/);
    expect((await sluice(['files', 'get', out.out_file, '-'], env)).stdout).toBe('42\n');
  });
});
