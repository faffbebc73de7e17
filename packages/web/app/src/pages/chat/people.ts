import { useEffect, useState } from 'react';
import { members } from '../../api/auth.ts';
import { useMe } from '../../session-context.tsx';

/**
 * Names for user ids. Owners and admins read the team's member list; others
 * see names only for themselves (the identity service lists members to
 * managers only) and a short id for the rest.
 */
export function usePeople(): ReadonlyMap<string, string> {
  const me = useMe();
  const [people, setPeople] = useState<ReadonlyMap<string, string>>(
    () => new Map([[me.user.id, me.user.name]]),
  );
  const manager = me.roles.includes('owner') || me.roles.includes('admin');
  useEffect(() => {
    if (!manager) return;
    let live = true;
    members(me.tenantId).then(
      (list) => {
        if (live) setPeople(new Map(list.map((m) => [m.userId, m.name])));
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [manager, me.tenantId]);
  return people;
}

export function nameOf(people: ReadonlyMap<string, string>, userId: string): string {
  return people.get(userId) ?? `user ${userId.slice(0, 8)}`;
}
