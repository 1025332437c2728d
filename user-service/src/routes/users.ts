// The users themselves: create (PUT), read (GET), delete (DELETE, as that user).
import { randomUUID } from 'node:crypto';
import { HttpError } from '../errors.js';
import { hashPassword } from '../passwords.js';
import type { UserRow } from '../repository.js';
import { requireObject, requireText, validateUsername } from '../validate.js';
import { bearerCheck } from './bearer.js';
import { publicUser, type Routes } from './kit.js';

export const userRoutes: Routes = (router, kit) => {
  const { deps, data, reply, json, hashing } = kit;
  const { repo, scryptCost } = deps;
  const bearerOf = bearerCheck(kit);

  router.put('/:username', json, async (ctx) => {
    const username = validateUsername(ctx.params.username ?? '');
    const body = requireObject(ctx.request.body);
    const fullname = requireText(body, 'fullname', 1, 2048);
    const password = requireText(body, 'password', 8, 256);
    const taken = () => new HttpError(409, `username "${username}" is taken`);
    // A cheap early answer for a taken name, before the deliberately slow hash; the unique
    // constraint still decides races between simultaneous requests.
    if (await data(() => repo.findByUsername(username))) throw taken();
    const user: UserRow = {
      uuid: randomUUID().replaceAll('-', '').toUpperCase(),
      username,
      fullname,
      password: await hashing.run(() => hashPassword(password, scryptCost)),
    };
    const created = await data(() => repo.insertUser(user));
    if (!created) throw taken();
    ctx.set('location', `/user/${username}`);
    reply(ctx, 201, publicUser(created));
  });

  router.get('/:username', async (ctx) => {
    const username = validateUsername(ctx.params.username ?? '');
    const user = await data(() => repo.findByUsername(username));
    if (!user) throw new HttpError(404, `no user named "${username}"`);
    reply(ctx, 200, publicUser(user));
  });

  router.delete('/:username', async (ctx) => {
    const username = validateUsername(ctx.params.username ?? '');
    const { owner } = await bearerOf(ctx, username);
    if (!(await data(() => repo.deleteUser(username, owner.uuid))))
      throw new HttpError(404, `no user named "${username}"`);
    reply(ctx, 200, { username });
  });
};
