import type { Command } from 'commander';
import { UsageError } from '../../environ/index.js';
import { ROLES, type Role, type UserInfo } from '../../store/index.js';
import type { UserPatch } from '../../service/index.js';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { formatDate } from '../format.js';
import { printJson } from '../io.js';

interface UserOptions extends RemoteFlags {
  role?: string;
  email?: string;
  account: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const ROLE_HELP = `${ROLES.join('|')}: admin everything; trusted also js, system, unsafe-exec (unsandboxed); user sandboxed job types; viewer reads`;

/**
 * `sluice users`: the owners with their job counts (moi's users), and the server's users with
 * their tokens: add (the token is printed once, only its hash is kept), ls, rm, set, token. On a
 * server (--url) these are an admin's.
 */
export function register(program: Command): void {
  const users = serverOptions(program.command('users'))
    .description("list owners with their root group id and number of jobs (moi's users); add, ls, rm, set, token manage a server's users")
    .option('--json', 'print JSON')
    // Options after a subcommand's name are the subcommand's (users add NAME --json).
    .enablePositionalOptions()
    .action(async (opts: RemoteFlags & { json?: boolean }) => {
      await withSluice(opts, async (service) => {
        const owners = await service.users();
        if (opts.json) return printJson(owners);
        for (const u of owners) process.stdout.write(`${u.owner} : ${u.group ?? 'None'} (${u.jobs} job${u.jobs === 1 ? '' : 's'})\n`);
      });
    });

  serverOptions(users.command('add'))
    .argument('<name>', 'the user name (letters, digits, . _ @ -)')
    .description('add a user; prints their token once (it is kept only as a hash)')
    .option('--role <role>', ROLE_HELP, 'user')
    .option('--email <address>', 'their e-mail address')
    .option('--account <name>', 'a fair-share account they may submit under (repeatable)', collect, [])
    .option('--json', 'print {"name", "role", "token"}')
    .action(async (name: string, opts: UserOptions) => {
      const patch = userPatch(opts);
      await withSluice(opts, async (service) => {
        const { user, token } = await service.addUser(name, patch);
        if (opts.json) return printJson({ name: user.name, role: user.role, token });
        process.stdout.write(process.stdout.isTTY ? `user ${user.name} (${user.role}) added; their token, shown only now:\n${token}\n` : `${token}\n`);
      }, { write: true });
    });

  serverOptions(users.command('ls'))
    .description("list a server's users: name, role, e-mail, accounts, since when")
    .option('--json', 'print JSON')
    .action(async (opts: RemoteFlags & { json?: boolean }) => {
      await withSluice(opts, async (service) => {
        const list = await service.listUsers();
        if (opts.json) return printJson(list);
        for (const u of list) process.stdout.write(`${userLine(u)}\n`);
      });
    });

  serverOptions(users.command('rm'))
    .argument('<name>', 'the user')
    .description('remove a user (their token stops working; their jobs stay)')
    .action(async (name: string, opts: RemoteFlags) => {
      await withSluice(opts, async (service) => {
        await service.removeUser(name);
        process.stdout.write(`user ${name} removed\n`);
      }, { write: true });
    });

  serverOptions(users.command('set'))
    .argument('<name>', 'the user')
    .description("change a user's role, e-mail or accounts (--account replaces the list; --account '' clears it)")
    .option('--role <role>', ROLE_HELP)
    .option('--email <address>', "their e-mail address ('' clears it)")
    .option('--account <name>', 'a fair-share account they may submit under (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .action(async (name: string, opts: UserOptions) => {
      const patch = userPatch(opts, true);
      if (!Object.keys(patch).length) throw new UsageError('users set needs --role, --email or --account');
      await withSluice(opts, async (service) => {
        const user = await service.setUser(name, patch);
        if (opts.json) return printJson(user);
        process.stdout.write(`${userLine(user)}\n`);
      }, { write: true });
    });

  serverOptions(users.command('token'))
    .argument('<name>', 'the user')
    .description('give a user a new token (printed once); the old one stops working')
    .option('--json', 'print {"name", "token"}')
    .action(async (name: string, opts: RemoteFlags & { json?: boolean }) => {
      await withSluice(opts, async (service) => {
        const token = await service.newToken(name);
        if (opts.json) return printJson({ name, token });
        process.stdout.write(`${token}\n`);
      }, { write: true });
    });
}

function userPatch(opts: UserOptions, clearing = false): UserPatch {
  const patch: UserPatch = {};
  if (opts.role !== undefined) {
    if (!(ROLES as readonly string[]).includes(opts.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${opts.role}"`);
    patch.role = opts.role as Role;
  }
  if (opts.email !== undefined) {
    if (opts.email !== '' && !/^[^\s@]+@[^\s@]+$/.test(opts.email)) throw new UsageError(`--email must be an e-mail address, got "${opts.email}"`);
    patch.email = opts.email === '' && clearing ? null : opts.email;
  }
  if (opts.account.length) patch.accounts = opts.account.filter(Boolean);
  return patch;
}

function userLine(u: UserInfo): string {
  return `${u.name}\trole: ${u.role}\temail: ${u.email ?? 'None'}\taccounts: ${u.accounts.length ? u.accounts.join(',') : 'None'}\tsince: ${formatDate(u.created_at)}`;
}
